import { spawn } from 'node:child_process';
import { once } from 'node:events';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import test from 'ava';
import { ConfigError, serveMetrics } from '@recipe/shared';
import { SignJWT, exportJWK, generateKeyPair } from 'jose';
import { fakeSidecar } from '../../../packages/shared/test/fake-sidecar.js';
import { createAuthenticator, signingKeyProblems } from '../src/auth.js';
import { readConfig } from '../src/config.js';
import { buildGateway } from '../src/service.js';
import { gateway, log, recipeId, sign } from './support.js';

const tokens = { DAPR_API_TOKEN: 'to-the-sidecar-'.padEnd(48, 'x') };

/** The gateway as main.ts builds it, on a fake sidecar whose secret store holds `key`. */
function builtWith(key: string, env: NodeJS.ProcessEnv = tokens) {
  const fake = fakeSidecar();
  fake.sidecar.getSecret = async () => key;
  return buildGateway(readConfig(env), { sidecar: fake.sidecar, log });
}

test('when the signing key is the example placeholder or shorter than 32 bytes, then the gateway refuses to start', async (t) => {
  for (const key of ['CHANGE-ME-at-least-32-random-bytes', 'x'.repeat(31), 'change-me-please-0123456789abcdef0123456789']) {
    const built = builtWith(key);
    const err = await t.throwsAsync(() => built.started!(), { instanceOf: ConfigError }, key);
    t.regex(err.message, /JWT signing key/);
  }
  await t.notThrowsAsync(() => builtWith('f'.repeat(64)).started!(), 'a random 32-byte key in hex');
  t.deepEqual(signingKeyProblems('0123456789abcdef0123456789abcdef'), [], 'exactly 32 bytes');
});

test('when the key is refused, then no token is ever verified with it and the gateway is not ready', async (t) => {
  const auth = createAuthenticator({ key: { secret: async () => 'CHANGE-ME-at-least-32-random-bytes' }, log });
  const { call } = await gateway(t, { auth });
  const forged = await sign('mallory', { key: 'CHANGE-ME-at-least-32-random-bytes' });
  const res = await call('GET', '/mypages/me', { token: forged });
  t.is(res.status, 503);
  t.is(res.body.error.code, 'AUTH.NOT_READY');
  t.is((await call('GET', '/readyz')).status, 503);
});

test('in INSECURE_DEV_MODE a weak key is accepted (with a warning), and no token is required', async (t) => {
  const built = builtWith('dev-key', { INSECURE_DEV_MODE: 'true' });
  await t.notThrowsAsync(() => built.started!());
});

test('when the Dapr API token is missing, then the gateway process exits at once, naming it', async (t) => {
  const main = path.join(path.dirname(fileURLToPath(import.meta.url)), '../src/main.ts');
  const env = { PATH: process.env.PATH, PORT: '18080', DAPR_HTTP_PORT: '1' };
  const child = spawn(process.execPath, ['--import', 'tsx', main], { env, stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const [code] = (await once(child, 'exit')) as [number];
  t.is(code, 1);
  t.regex(output, /refusing to start/);
  t.regex(output, /DAPR_API_TOKEN: required/);
});

test('/metrics is not served on the public port; the metrics listener serves it and nothing else', async (t) => {
  const { call, fake, base, app } = await gateway(t);
  fake.handle('recipe GET recipes/:id', () => ({ recipeId }));
  fake.handle('myrecipe GET recipes/:id/content', () => ({ ingredients: ['tofu'], steps: ['Simmer.'] }));
  await call('GET', `/recipes/${recipeId}`, { token: await sign('alice') });
  await call('GET', '/mypages/me');
  const open = await fetch(`${base}/metrics`);
  t.is(open.status, 404, 'nothing for the public');
  t.is(((await open.json()) as { error: { code: string } }).error.code, 'ROUTE.NOT_FOUND');

  const metrics = await serveMetrics(app.metrics, 0, '127.0.0.1', log);
  t.teardown(() => metrics.close());
  const url = `http://127.0.0.1:${(metrics.address() as AddressInfo).port}`;
  const res = await fetch(`${url}/metrics`);
  t.is(res.status, 200);
  const text = await res.text();
  t.regex(text, /http_requests_total\{[^}]*route="\/recipes\/:recipeId",status="200"[^}]*\} 1/);
  t.regex(text, /http_requests_total\{[^}]*route="\/mypages\/me",status="401"[^}]*\} 1/);
  t.regex(text, /http_request_duration_seconds_bucket/);
  t.notRegex(text, new RegExp(recipeId), 'ids never become labels');
  t.is((await fetch(`${url}/mypages/me`)).status, 404);
});

/** An identity provider's JWKS endpoint on a real local port, that can be stopped and started again. */
async function identityProvider(t: { teardown: (fn: () => void) => void }) {
  const { publicKey, privateKey } = await generateKeyPair('RS256');
  const jwk = { ...(await exportJWK(publicKey)), kid: 'k1', alg: 'RS256', use: 'sig' };
  let server: http.Server | undefined;
  let port = 0;
  const start = async () => {
    server = http.createServer((_req, res) =>
      res.writeHead(200, { 'content-type': 'application/json' }).end(JSON.stringify({ keys: [jwk] })),
    );
    await new Promise<void>((resolve) => server!.listen(port, '127.0.0.1', resolve));
    port = (server.address() as AddressInfo).port;
  };
  const stop = async () => {
    server?.closeAllConnections();
    await new Promise((resolve) => server?.close(resolve));
  };
  await start();
  t.teardown(() => void stop());
  const token = (sub: string, audience = 'recipes') =>
    new SignJWT({})
      .setProtectedHeader({ alg: 'RS256', kid: 'k1' })
      .setSubject(sub)
      .setIssuer('https://idp.example')
      .setAudience(audience)
      .setExpirationTime('5m')
      .sign(privateKey);
  return { url: () => `http://127.0.0.1:${port}/jwks`, start, stop, token };
}

test('with a JWKS URL, tokens of the identity provider (RS256) are accepted, others refused', async (t) => {
  const idp = await identityProvider(t);
  const auth = createAuthenticator({ key: { jwksUrl: idp.url() }, issuer: 'https://idp.example', audience: 'recipes', log });
  const { call, fake } = await gateway(t, { auth });
  fake.handle('mypage GET mypages/erin', () => ({ memberId: 'erin', balance: 0, recipes: [] }));
  t.is((await call('GET', '/mypages/me', { token: await idp.token('erin') })).status, 200);
  const wrongAudience = await call('GET', '/mypages/me', { token: await idp.token('erin', 'other') });
  t.is(wrongAudience.status, 401);
  t.is(wrongAudience.body.error.message, 'the token is not valid');
  const hs256 = await call('GET', '/mypages/me', { token: await sign('erin') });
  t.is(hs256.status, 401, 'an HS256 token is not accepted in JWKS mode');
});

test('when the JWKS endpoint is unreachable, then 503 with Retry-After (tokens cannot be checked), not 401; it recovers', async (t) => {
  const idp = await identityProvider(t);
  // The key set is read again for every token: the outage shows at once.
  const auth = createAuthenticator({
    key: { jwksUrl: idp.url(), cacheMaxAgeMs: 0 },
    issuer: 'https://idp.example',
    audience: 'recipes',
    retryAfterSeconds: 7,
    log,
  });
  const { call, fake } = await gateway(t, { auth });
  for (const member of ['erin', 'frank'])
    fake.handle(`mypage GET mypages/${member}`, () => ({ memberId: member, balance: 0, recipes: [] }));
  t.is((await call('GET', '/mypages/me', { token: await idp.token('erin') })).status, 200);

  await idp.stop();
  const down = await call('GET', '/mypages/me', { token: await idp.token('frank') });
  t.is(down.status, 503);
  t.is(down.headers.get('retry-after'), '7');
  t.deepEqual(down.body, { error: { code: 'AUTH.UNAVAILABLE', message: 'tokens cannot be checked right now, please retry' } });
  t.is((await call('GET', '/mypages/me', { token: 'not-a-jwt' })).status, 401, 'a token that is no JWT needs no key set');

  await idp.start();
  t.is((await call('GET', '/mypages/me', { token: await idp.token('frank') })).status, 200, 'back once the identity provider is');
});
