import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import test from 'ava';
import { decodeJwt } from 'jose';
import { createAuthenticator } from '../src/auth.js';
import { readConfig } from '../src/config.js';
import { devMemberId } from '../src/web.js';
import { gateway, log, secret } from './support.js';

function build() {
  const root = mkdtempSync(join(tmpdir(), 'web-dist-'));
  mkdirSync(join(root, 'assets'));
  writeFileSync(join(root, 'index.html'), '<!doctype html><title>Recommend Recipe</title>');
  writeFileSync(join(root, 'assets', 'index-abc123.js'), 'console.log(1)');
  writeFileSync(join(root, 'assets', 'notes.md'), 'not a web file');
  writeFileSync(join(root, 'favicon.svg'), '<svg/>');
  return root;
}

const auth = () => createAuthenticator({ key: { secret: async () => secret }, log });

test('when the app is built, then / and its assets are served with a strict policy, and nothing else of the folder', async (t) => {
  const { base } = await gateway(t, { web: { root: build(), signIn: { kind: 'token' } } });
  const page = await fetch(`${base}/`);
  t.is(page.status, 200);
  t.regex(page.headers.get('content-type')!, /^text\/html/);
  t.is(page.headers.get('cache-control'), 'no-cache');
  t.regex(page.headers.get('content-security-policy')!, /script-src 'self'; style-src 'self'/);
  t.regex(page.headers.get('content-security-policy')!, /connect-src 'self';/);
  t.is(await page.text(), '<!doctype html><title>Recommend Recipe</title>');
  const script = await fetch(`${base}/assets/index-abc123.js`);
  t.is(script.status, 200);
  t.regex(script.headers.get('content-type')!, /^application\/javascript/);
  t.regex(script.headers.get('cache-control')!, /immutable/);
  t.is((await fetch(`${base}/favicon.svg`)).headers.get('content-type'), 'image/svg+xml');
  for (const path of [
    '/assets/notes.md',
    '/assets/..%2findex.html',
    '/assets/%2e%2e%2f%2e%2e%2fpackage.json',
    '/index.html',
    '/assets/constructor',
  ]) {
    const res = await fetch(base + path);
    t.is(res.status, 404, path);
    t.is(((await res.json()) as { error: { code: string } }).error.code, 'ROUTE.NOT_FOUND', path);
  }
});

test('when the app is not built, then / is a 404 saying how to build it, and the API still answers', async (t) => {
  const { base } = await gateway(t, { web: { root: join(tmpdir(), 'no-such-build'), signIn: { kind: 'token' } } });
  const res = await fetch(`${base}/`);
  t.is(res.status, 404);
  t.regex(((await res.json()) as { error: { message: string } }).error.message, /npm run build -w web/);
  t.is((await fetch(`${base}/openapi.json`)).status, 200);
});

test('when the gateway has no development sign-in, then /dev/sign-in does not exist and the page is told to take a token', async (t) => {
  const { call } = await gateway(t, { web: { root: build(), signIn: { kind: 'token' } } });
  const res = await call('POST', '/dev/sign-in', { body: '{"name":"alice"}', headers: { 'content-type': 'application/json' } });
  t.is(res.status, 404);
  t.deepEqual((await call('GET', '/web-config.json')).body, { signIn: { kind: 'token' } });
});

test('when a name signs in for development, then its token is accepted by the gateway, for that member and name, until it expires', async (t) => {
  const authenticator = auth();
  const { call, fake } = await gateway(t, {
    auth: authenticator,
    web: { root: build(), signIn: { kind: 'development' }, devSignIn: authenticator.issue },
  });
  t.deepEqual((await call('GET', '/web-config.json')).body, { signIn: { kind: 'development' } });
  const signIn = (body: unknown) =>
    call('POST', '/dev/sign-in', { body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
  const { status, body } = await signIn({ name: 'Alice', expiresInSeconds: 120 });
  t.is(status, 200);
  t.like(body, { memberId: 'dev.alice', displayName: 'Alice' });
  const claims = decodeJwt(body.token as string);
  t.is(claims.sub, 'dev.alice');
  t.is(claims.name, 'Alice');
  t.is(claims.exp! - claims.iat!, 120);
  t.is(new Date(body.expiresAt as string).getTime(), claims.exp! * 1000);

  const chef = await signIn({ name: 'Chef Alice' });
  const memberId = devMemberId('Chef Alice');
  t.like(chef.body, { memberId, displayName: 'Chef Alice' });
  fake.handle(`mypage GET profiles/${memberId}`, () => ({ displayName: 'Chef Alice', source: 'token' }));
  t.is((await call('GET', '/members/me', { token: chef.body.token as string })).status, 200);
  t.like(fake.invoked.at(-1)?.options.headers, { 'x-member-id': memberId, 'x-member-name': 'Chef%20Alice' });

  for (const bad of [
    {},
    { name: '' },
    { name: 'a'.repeat(51) },
    { name: 'bo\nb' },
    { name: 'bob', expiresInSeconds: 5 },
    { name: 'bob', admin: true },
  ]) {
    const res = await signIn(bad);
    t.is(res.status, 400, JSON.stringify(bad));
    t.is((res.body as { error: { code: string } }).error.code, 'REQUEST.INVALID');
  }
});

test('when names sign in, then the same name in any case is one member, and names that are not member ids get a stable digest', (t) => {
  t.is(devMemberId('alice'), 'dev.alice');
  t.is(devMemberId(' ALICE '), 'dev.alice');
  t.regex(devMemberId('김치 요리사'), /^dev-[0-9a-f]{20}$/);
  t.is(devMemberId('김치 요리사'), devMemberId('김치 요리사'));
  t.not(devMemberId('김치 요리사'), devMemberId('김치요리사'));
  t.regex(devMemberId('...'), /^dev-/);
});

test('when the gateway checks tokens against an identity provider, then it refuses a development sign-in, and half an OIDC setting', (t) => {
  const env = { INSECURE_DEV_MODE: 'true' };
  t.throws(() => readConfig({ ...env, DEV_SIGN_IN: 'true', JWT_JWKS_URL: 'https://idp.example/jwks' }), { message: /DEV_SIGN_IN/ });
  t.throws(() => readConfig({ ...env, OIDC_CLIENT_ID: 'web' }), { message: /OIDC_AUTHORIZE_URL, OIDC_TOKEN_URL, OIDC_CLIENT_ID/ });
  t.false(readConfig(env).DEV_SIGN_IN);
  t.true(readConfig({ ...env, DEV_SIGN_IN: 'true' }).DEV_SIGN_IN);
  t.regex(readConfig(env).WEB_ROOT, /web\/dist$/);
});

test('when the page signs in with an identity provider, then its token endpoint is the only other origin it may talk to', async (t) => {
  const signIn = {
    kind: 'oidc' as const,
    authorizeUrl: 'https://idp.example/authorize',
    tokenUrl: 'https://idp.example:8443/token',
    clientId: 'recipe-web',
    scope: 'openid profile',
  };
  const { base, call } = await gateway(t, { web: { root: build(), signIn } });
  t.deepEqual((await call('GET', '/web-config.json')).body, { signIn });
  t.regex((await fetch(`${base}/`)).headers.get('content-security-policy')!, /connect-src 'self' https:\/\/idp\.example:8443;/);
});
