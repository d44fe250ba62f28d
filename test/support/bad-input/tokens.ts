import { createHmac, randomBytes } from 'node:crypto';

// Tokens for the authorization storm: valid ones with odd subjects, and forged
// ones (alg none, wrong alg or key, bad or missing claims) that must never authenticate.

/** Valid tokens whose `sub` is odd but allowed by the member id rules. */
export const ODD_VALID_SUBS = [
  '..',
  '.',
  '...',
  '__proto__',
  'constructor',
  'prototype',
  'toString',
  'hasOwnProperty',
  '-',
  ':',
  '@',
  '_',
  'a..b',
  '.hidden',
  'x:y@z',
];

export const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const hmac = (hash: 'sha256' | 'sha384' | 'sha512', key: string, input: string) => createHmac(hash, key).update(input).digest('base64url');

function jwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  sign: { hash: 'sha256' | 'sha384' | 'sha512'; key: string } | 'unsigned',
) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign === 'unsigned' ? '' : hmac(sign.hash, sign.key, input)}`;
}

/** Tokens that must never authenticate, built with the real signing key and a real token of alice. */
export function forge(key: string, aliceId: string, aliceToken: string): { what: string; token: string }[] {
  const now = Math.floor(Date.now() / 1000);
  const claims = { sub: aliceId, iat: now, exp: now + 3600 };
  const hs256 = { hash: 'sha256' as const, key };
  const [h, p, s] = aliceToken.split('.') as [string, string, string];
  const withSub = (sub: unknown) => jwt({ alg: 'HS256', typ: 'JWT' }, { ...claims, sub }, hs256);
  return [
    { what: 'alg none', token: jwt({ alg: 'none', typ: 'JWT' }, claims, 'unsigned') },
    { what: 'alg None', token: jwt({ alg: 'None' }, claims, 'unsigned') },
    { what: 'alg NONE', token: jwt({ alg: 'NONE' }, claims, 'unsigned') },
    { what: 'alg none with a signature', token: `${b64({ alg: 'none' })}.${p}.${s}` },
    { what: 'alg HS384', token: jwt({ alg: 'HS384' }, claims, { hash: 'sha384', key }) },
    { what: 'alg HS512', token: jwt({ alg: 'HS512' }, claims, { hash: 'sha512', key }) },
    { what: 'alg RS256 signed with the HMAC key', token: jwt({ alg: 'RS256' }, claims, hs256) },
    { what: 'alg ES256 signed with the HMAC key', token: jwt({ alg: 'ES256' }, claims, hs256) },
    { what: 'another key', token: jwt({ alg: 'HS256' }, claims, { hash: 'sha256', key: randomBytes(32).toString('hex') }) },
    {
      what: 'embedded jwk',
      token: jwt({ alg: 'HS256', jwk: { kty: 'oct', k: b64('attacker') } }, claims, { hash: 'sha256', key: 'attacker' }),
    },
    { what: 'unknown crit header', token: jwt({ alg: 'HS256', crit: ['x-bad'], 'x-bad': 1 }, claims, hs256) },
    { what: 'expired', token: jwt({ alg: 'HS256' }, { ...claims, exp: now - 60 }, hs256) },
    { what: 'not yet valid', token: jwt({ alg: 'HS256' }, { ...claims, nbf: now + 3600 }, hs256) },
    { what: 'no exp', token: jwt({ alg: 'HS256' }, { sub: aliceId, iat: now }, hs256) },
    { what: 'exp as a string', token: jwt({ alg: 'HS256' }, { ...claims, exp: String(now + 3600) }, hs256) },
    { what: 'no sub', token: jwt({ alg: 'HS256' }, { iat: now, exp: now + 3600 }, hs256) },
    { what: 'tampered payload', token: `${h}.${b64({ ...claims, sub: 'admin' })}.${s}` },
    { what: 'truncated signature', token: `${h}.${p}.${s.slice(0, -2)}` },
    { what: 'no signature', token: `${h}.${p}.` },
    { what: 'two parts', token: `${h}.${p}` },
    { what: 'four parts', token: `${h}.${p}.${s}.${s}` },
    { what: 'header not JSON', token: `${b64('not json')}.${p}.${s}` },
    { what: 'payload not JSON', token: jwt({ alg: 'HS256' }, {}, hs256).replace(/\.[^.]*\./, `.${b64('[1,2')}.`) },
    ...[
      '',
      ' ',
      'a/b',
      'a||b',
      '../alice',
      'alice%2F',
      'x'.repeat(129),
      'x'.repeat(3000),
      'ä',
      '🍲',
      'a\u0000b',
      'alice\n',
      ' alice',
      'a b',
      'myrecipe||ledger:alice',
    ].map((sub) => ({ what: `sub ${JSON.stringify(sub.length > 20 ? `${sub.slice(0, 8)}…(${sub.length})` : sub)}`, token: withSub(sub) })),
    ...[5, 0, true, null, ['alice'], { id: 'alice' }].map((sub) => ({ what: `sub ${JSON.stringify(sub)}`, token: withSub(sub) })),
  ];
}
