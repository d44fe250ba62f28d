import test from 'ava';
import fc from 'fast-check';
import { sampleRecipe } from '../../support/client.js';
import { CONTROL, JSON_TYPE, auth, json, validRecipe } from '../../support/bad-input/generators.js';
import type { Probe } from '../../support/bad-input/raw-http.js';
import { testNothingChanged, useStage } from '../../support/bad-input/stage.js';
import { b64 } from '../../support/bad-input/tokens.js';
import { clip } from '../../support/bad-input/verdict.js';

// A storm of generated malformed requests against the gateway of one real
// system (four apps, their sidecars, Redis, PostgreSQL). Whatever arrives, the
// answer is never a 5xx, never a stack trace or an internal name, always a JSON
// error `{ error: { code, message } }` for a 4xx, and nothing stored changes.
// Requests go over raw TCP, so that exactly the bytes generated reach the server
// (test/support/bad-input/). Reproduce a run with BAD_INPUT_SEED=<seed>.
//
// This file: the request line and headers (Authorization, Idempotency-Key, and
// what the HTTP parser itself rejects).

const stage = useStage(test, ['auth', 'idem', 'parser']);

test.serial(
  'when Authorization is missing, malformed, forged (alg none, wrong alg or key, bad claims) or has an invalid sub, then 401 and nothing changes',
  async (t) => {
    const { storm, seeded, recipes, forgedTokens, oddSubTokens } = stage();
    const { alice } = seeded;
    const validBody = validRecipe.map((r) => json(JSON.stringify(r)));
    // Each of these would change something if it got through.
    const route = fc.oneof(
      fc.constant({ method: 'GET', target: '/mypages/me' }),
      fc.constant({ method: 'GET', target: '/recipes' }),
      fc.constant({ method: 'GET', target: `/myrecipes/${recipes.r1}` }),
      fc.constant({ method: 'DELETE', target: `/myrecipes/${recipes.r1}` }),
      fc.constant({ method: 'POST', target: `/recipes/${recipes.r2}/recommendations` }),
      validBody.map((body) => ({ method: 'POST', target: '/myrecipes', body })),
    );
    const header = fc.oneof(
      {
        weight: 4,
        arbitrary: fc
          .constantFrom(...forgedTokens)
          .map((f) => ({ what: `forged token: ${f.what}`, value: `Bearer ${f.token}` as string | undefined })),
      },
      {
        weight: 2,
        arbitrary: fc.constantFrom(
          { what: 'no Authorization', value: undefined },
          { what: 'empty Authorization', value: '' },
          { what: 'scheme only', value: 'Bearer' },
          { what: 'Basic', value: `Basic ${b64(`${alice.id}:secret`)}` },
          { what: 'Token scheme', value: `Token ${alice.token}` },
          { what: 'Digest scheme', value: `Digest username="${alice.id}"` },
          { what: 'no scheme', value: alice.token },
          { what: 'two tokens', value: `Bearer ${alice.token} ${alice.token}` },
          { what: 'two tokens, comma', value: `Bearer ${alice.token},Bearer ${alice.token}` },
          { what: 'quoted token', value: `Bearer "${alice.token}"` },
          { what: 'tab separator', value: `Bearer\t${alice.token}` },
          { what: 'x.y.z', value: 'Bearer x.y.z' },
          { what: 'dots', value: 'Bearer ....' },
          { what: 'huge token', value: `Bearer ${'a'.repeat(6000)}.${'b'.repeat(1000)}.c` },
        ),
      },
      {
        weight: 1,
        arbitrary: fc
          .string({ unit: fc.integer({ min: 0x20, max: 0x7e }).map((c) => String.fromCharCode(c)), minLength: 1, maxLength: 200 })
          .map((s) => ({ what: 'printable garbage', value: s.trim() || 'x' })),
      },
      {
        weight: 1,
        arbitrary: fc
          .string({ unit: fc.constantFrom(...'ABCxyz0189-_.~+/='), minLength: 1, maxLength: 300 })
          .map((s) => ({ what: 'Bearer token-ish garbage', value: `Bearer ${s}` })),
      },
      {
        weight: 1,
        arbitrary: fc.constantFrom('bearer', 'BEARER', 'Bearer:').map((s) => ({ what: `scheme ${s} with garbage`, value: `${s} x.y.z` })),
      },
    );
    const rejected = fc.tuple(route, header).map(([r, h]): Probe => ({
      label: `${h.what} on ${r.method} ${r.target.replace(/[0-9a-f-]{36}/, '{id}')}`,
      method: r.method,
      target: r.target,
      headers: [...(h.value === undefined ? [] : [['Authorization', h.value] as [string, string]]), ...('body' in r ? [JSON_TYPE] : [])],
      ...('body' in r ? { body: r.body } : {}),
      expect: [401],
    }));
    // Odd subs the member id rules allow: their (empty) page, or 401; never a 5xx or someone else's page.
    const oddSub = fc.constantFrom(...oddSubTokens).map(([sub, token]): Probe => ({
      label: `valid token with sub ${JSON.stringify(sub)} on GET /mypages/me`,
      method: 'GET',
      target: '/mypages/me',
      headers: [auth(token)],
      expect: [200, 401],
      check: (reply) => {
        if (reply.status !== 200) return undefined;
        const page = JSON.parse(reply.text) as { memberId?: string; balance?: number; recipes?: unknown[] };
        return page.memberId === sub && page.balance === 0 && page.recipes?.length === 0
          ? undefined
          : `not the empty page of ${JSON.stringify(sub)}: ${clip(reply.text, 200)}`;
      },
    }));
    await storm(t, 'authorization', 8, 25, fc.oneof({ weight: 5, arbitrary: rejected }, { weight: 1, arbitrary: oddSub }));
  },
);

test.serial(
  'when Idempotency-Key is too long or holds spaces, tabs or non-ASCII, then 400 (401 without a valid token) and nothing is stored',
  async (t) => {
    const { storm, tokensOf, forgedTokens } = stage();
    const visible = fc.integer({ min: 0x21, max: 0x7e }).map((c) => String.fromCharCode(c));
    const part = fc.string({ unit: visible, minLength: 1, maxLength: 40 });
    const badKey = fc.oneof(
      fc
        .tuple(fc.integer({ min: 129, max: 4000 }), fc.constantFrom('k', 'K9-', 'ab~'))
        .map(([n, unit]) => ({ what: 'too long', value: unit.repeat(Math.ceil(n / unit.length)).slice(0, n) })),
      fc
        .tuple(part, fc.constantFrom(' ', '\t', ' \t ', '\u0080', '\u00a0', '\u00e9', '\u00ff', '\u00c3\u00a9'), part)
        .map(([a, bad, b]) => ({ what: `holding ${JSON.stringify(bad)}`, value: `${a}${bad}${b}` })),
    );
    const probes = fc
      .tuple(
        validRecipe,
        badKey,
        fc.oneof(
          { weight: 5, arbitrary: tokensOf('idem').map((tk) => ({ tk, valid: true })) },
          { weight: 1, arbitrary: fc.constantFrom(...forgedTokens).map((f) => ({ tk: f.token, valid: false })) },
        ),
      )
      .map(([r, key, { tk, valid }]): Probe => ({
        label: `Idempotency-Key ${key.what}${valid ? '' : ', forged token'}`,
        method: 'POST',
        target: '/myrecipes',
        headers: [auth(tk), JSON_TYPE, ['Idempotency-Key', key.value]],
        body: json(JSON.stringify(r)),
        expect: valid ? [400] : [401],
      }));
    // Two Idempotency-Key headers arrive joined ("a, b"): not one valid key.
    const twoKeys = fc.tuple(validRecipe, fc.uuid(), fc.uuid(), tokensOf('idem')).map(([r, a, b, tk]): Probe => ({
      label: 'two Idempotency-Key headers',
      method: 'POST',
      target: '/myrecipes',
      headers: [auth(tk), JSON_TYPE, ['Idempotency-Key', a], ['Idempotency-Key', b]],
      body: json(JSON.stringify(r)),
      expect: [400],
    }));
    await storm(t, 'idempotency keys', 9, 12, fc.oneof({ weight: 6, arbitrary: probes }, { weight: 1, arbitrary: twoKeys }));
  },
);

test.serial(
  'when the HTTP parser itself rejects a request (bad method token, raw bytes in the target, control characters in headers, oversize headers, bad framing), then the answer is still a JSON 4xx',
  async (t) => {
    const { storm, tokensOf } = stage();
    const tk = () => tokensOf('parser');
    const recipe = json(JSON.stringify(sampleRecipe('Framed')));
    const probes = fc.oneof(
      fc.tuple(fc.constantFrom('FOO', 'GETT', 'get', 'Post', 'BREW', 'DELET', 'X-CUSTOM'), tk()).map(([method, token]): Probe => ({
        label: `method ${method}`,
        method,
        target: '/recipes',
        headers: [auth(token)],
        expect: [400, 405],
      })),
      fc
        .tuple(
          fc.constantFrom('/myrecipes/\u00c3\u00a9', '/recipes/\u00ff', '/myrecipes/a\u0001b', '/recipes/a\u007fb', '/mypages/me\u0000'),
          tk(),
        )
        .map(([target, token]): Probe => ({
          label: 'raw bytes in the target',
          method: 'GET',
          target,
          headers: [auth(token)],
          expect: [400, 404],
        })),
      fc
        .tuple(
          fc.constantFrom(...CONTROL.filter((c) => c !== '\t' && c !== '\n' && c !== '\r')),
          fc.constantFrom('Idempotency-Key', 'Authorization', 'X-Anything'),
          tk(),
        )
        .map(([c, name, token]): Probe => ({
          label: `control character in ${name}`,
          method: 'POST',
          target: '/myrecipes',
          headers:
            name === 'Authorization'
              ? [['Authorization', `Bearer ${token}${c}`], JSON_TYPE]
              : [auth(token), JSON_TYPE, [name, `key${c}value`]],
          body: recipe,
          expect: name === 'Authorization' ? [400, 401] : [400],
        })),
      fc.tuple(fc.constantFrom('Bad Header', 'X(): y', 'Idempotency Key', ' Leading'), tk()).map(([name, token]): Probe => ({
        label: 'invalid header name',
        method: 'GET',
        target: '/recipes',
        headers: [auth(token), [name, 'v']],
        expect: [400],
      })),
      fc.tuple(fc.integer({ min: 17 * 1024, max: 40 * 1024 }), tk()).map(([n, token]): Probe => ({
        label: 'headers over 16 KiB',
        method: 'GET',
        target: '/recipes',
        headers: [auth(token), ['X-Padding', 'p'.repeat(n)]],
        expect: [400, 431],
      })),
      fc.tuple(fc.integer({ min: 17 * 1024, max: 40 * 1024 }), tk()).map(([n, token]): Probe => ({
        label: 'a request line over 16 KiB',
        method: 'GET',
        target: `/myrecipes/${'a'.repeat(n)}`,
        headers: [auth(token)],
        expect: [400, 414, 431],
      })),
      fc
        .tuple(fc.constantFrom('zz\r\nabc\r\n0\r\n\r\n', '-1\r\n\r\n', 'g\r\n', '10000000000000000\r\nx\r\n'), tk())
        .map(([body, token]): Probe => ({
          label: 'broken chunked encoding',
          method: 'POST',
          target: '/myrecipes',
          headers: [auth(token), JSON_TYPE, ['Transfer-Encoding', 'chunked']],
          body: Buffer.from(body, 'latin1'),
          expect: [400, 413],
        })),
      fc.tuple(fc.constantFrom('abc', '-1', '1, 2', '0x10', '1e3'), tk()).map(([length, token]): Probe => ({
        label: 'invalid Content-Length',
        method: 'POST',
        target: '/myrecipes',
        headers: [auth(token), JSON_TYPE, ['Content-Length', length]],
        body: recipe,
        expect: [400],
      })),
      tk().map((token): Probe => ({
        label: 'Content-Length and Transfer-Encoding',
        method: 'POST',
        target: '/myrecipes',
        headers: [auth(token), JSON_TYPE, ['Content-Length', String(recipe.length)], ['Transfer-Encoding', 'chunked']],
        body: recipe,
        expect: [400],
      })),
      tk().map((token): Probe => ({
        label: 'no Host header',
        method: 'GET',
        target: '/recipes',
        headers: [auth(token)],
        noHost: true,
        expect: [400],
      })),
    );
    await storm(t, 'HTTP parser', 12, 5, probes);
  },
);

testNothingChanged(test, stage);
