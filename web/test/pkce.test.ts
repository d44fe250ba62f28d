import test from 'ava';
import { authorizeUrl, codeChallenge, jwtExpiry, newCodeVerifier, tokenRequestBody } from '../src/auth/pkce.js';

test('S256 challenge of the RFC 7636 appendix B example', async (t) => {
  t.is(await codeChallenge('dBjftJeZ4CVP-mB92K27uhbUJU1p1r_wW1gFWFOEjXk'), 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM');
});

test('a verifier is 43 base64url characters', (t) => {
  const verifier = newCodeVerifier();
  t.regex(verifier, /^[A-Za-z0-9_-]{43}$/);
  t.not(verifier, newCodeVerifier());
});

test('the authorization request asks for a code with an S256 challenge', (t) => {
  const url = new URL(
    authorizeUrl({
      authorizeUrl: 'https://id.example/authorize?tenant=x',
      clientId: 'web',
      scope: 'openid profile',
      redirectUri: 'https://recipes.example/',
      state: 's1',
      challenge: 'c1',
    }),
  );
  t.is(url.searchParams.get('tenant'), 'x');
  t.is(url.searchParams.get('response_type'), 'code');
  t.is(url.searchParams.get('client_id'), 'web');
  t.is(url.searchParams.get('redirect_uri'), 'https://recipes.example/');
  t.is(url.searchParams.get('code_challenge'), 'c1');
  t.is(url.searchParams.get('code_challenge_method'), 'S256');
  t.is(url.searchParams.get('state'), 's1');
  const body = new URLSearchParams(
    tokenRequestBody({ code: 'k', redirectUri: 'https://recipes.example/', clientId: 'web', verifier: 'v' }),
  );
  t.is(body.get('grant_type'), 'authorization_code');
  t.is(body.get('code_verifier'), 'v');
});

test("a JWT's exp, unverified", (t) => {
  const part = (o: object) => Buffer.from(JSON.stringify(o)).toString('base64url');
  t.is(jwtExpiry(`${part({ alg: 'HS256' })}.${part({ sub: 'alice', exp: 1700000000 })}.sig`), 1700000000000);
  t.is(jwtExpiry(`${part({ alg: 'HS256' })}.${part({ sub: 'alice' })}.sig`), undefined);
  t.is(jwtExpiry('not a token'), undefined);
});
