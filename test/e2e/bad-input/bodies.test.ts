import test from 'ava';
import fc from 'fast-check';
import {
  CANARY,
  FIELDS,
  JSON_TYPE,
  MASS_ASSIGNMENT,
  ODD_UNICODE,
  PROTOTYPE_KEYS,
  anyJson,
  auth,
  breaker,
  entriesOf,
  isJson,
  json,
  notAnObject,
  objectText,
  validRecipe,
  type Entry,
  type Field,
} from '../../support/bad-input/generators.js';
import { profileBodies, profileReplyProblem } from '../../support/bad-input/members.js';
import { ILL_FORMED, NOT_JSON_TEXTS, NOT_JSON_TYPES } from '../../support/bad-input/odd-values.js';
import type { Probe } from '../../support/bad-input/raw-http.js';
import { testNothingChanged, useStage } from '../../support/bad-input/stage.js';
import { clip } from '../../support/bad-input/verdict.js';

// A storm of generated malformed requests against the gateway of one real
// system (four apps, their sidecars, Redis, PostgreSQL). Whatever arrives, the
// answer is never a 5xx, never a stack trace or an internal name, always a JSON
// error `{ error: { code, message } }` for a 4xx, and nothing stored changes.
// Requests go over raw TCP, so that exactly the bytes generated reach the server
// (test/support/bad-input/). Reproduce a run with BAD_INPUT_SEED=<seed>.
//
// This file: request bodies (wrong fields, not JSON, too big, too deep, ill-formed
// Unicode, prototype pollution and mass assignment).

const BODY_LIMIT = 64 * 1024;
const stage = useStage(test, ['bodies', 'notjson', 'huge', 'deep', 'unicode', 'proto', 'profile']);

test.serial(
  'when POST /myrecipes bodies have wrong types, missing, oversize or extra fields or control characters, then 400 and nothing is stored',
  async (t) => {
    const { storm, tokensOf } = stage();
    const body = fc.oneof(
      {
        weight: 6,
        arbitrary: fc
          .tuple(validRecipe, fc.array(breaker, { minLength: 1, maxLength: 3 }))
          .map(([r, bs]) => ({ what: bs.map((b) => b.what).join(' + '), text: objectText(bs.reduce((e, b) => b.apply(e), entriesOf(r))) })),
      },
      { weight: 1, arbitrary: notAnObject.map((text) => ({ what: 'the body is not an object', text })) },
      { weight: 1, arbitrary: fc.constant({ what: 'an empty object', text: '{}' }) },
    );
    const contentType = fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/cloudevents+json');
    const key = fc.option(fc.uuid(), { nil: undefined });
    const probes = fc.tuple(body, contentType, tokensOf('bodies'), key).map(([b, type, token, k]): Probe => ({
      label: b.what.replace(/\d+/g, 'N'),
      method: 'POST',
      target: '/myrecipes',
      headers: [auth(token), ['Content-Type', type], ...(k ? [['Idempotency-Key', k] as [string, string]] : [])],
      body: json(b.text),
      expect: [400],
      check: (r) => (r.text.includes(CANARY) ? 'the reply echoes a polluted prototype' : undefined),
    }));
    await storm(t, 'bodies', 1, 70, probes);
  },
);

test.serial('when bodies are not JSON, or not sent as JSON, then 400 or 415', async (t) => {
  const { storm, tokensOf } = stage();
  const junk = fc
    .oneof(
      validRecipe.chain((r) => {
        const s = JSON.stringify(r);
        return fc.integer({ min: 1, max: s.length - 1 }).map((n) => json(s.slice(0, n)));
      }),
      fc.constantFrom(...NOT_JSON_TEXTS).map(json),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }).map(json),
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)),
    )
    .filter((b) => b.length > 0 && !isJson(b));
  const valid = validRecipe.map((r) => json(JSON.stringify(r)));
  const target = fc.oneof(
    { weight: 4, arbitrary: fc.constant({ method: 'POST', target: '/myrecipes', primary: true }) },
    { weight: 1, arbitrary: fc.uuid().map((id) => ({ method: 'POST', target: `/recipes/${id}/recommendations`, primary: false })) },
    { weight: 1, arbitrary: fc.uuid().map((id) => ({ method: 'DELETE', target: `/myrecipes/${id}`, primary: false })) },
  );
  const probes = fc.tuple(target, tokensOf('notjson')).chain(([where, token]) => {
    const base = { method: where.method, target: where.target };
    const head = (type: string | undefined): [string, string][] => [
      auth(token),
      ...(type === undefined ? [] : [['Content-Type', type] as [string, string]]),
    ];
    const expect = (primary: number[]) => (where.primary ? primary : [...new Set([...primary, 400, 404, 415])].sort());
    return fc.oneof(
      fc
        .tuple(junk, fc.constantFrom('application/json', 'application/json; charset=utf-8', 'application/cloudevents+json'))
        .map(([body, type]): Probe => ({ ...base, label: 'not JSON, sent as JSON', headers: head(type), body, expect: expect([400]) })),
      fc
        .tuple(fc.oneof(junk, valid), fc.constantFrom(...NOT_JSON_TYPES))
        .map(([body, type]): Probe => ({ ...base, label: `sent as ${type}`, headers: head(type), body, expect: expect([415]) })),
      fc
        .oneof(junk, valid)
        .map((body): Probe => ({ ...base, label: 'no content type', headers: head(undefined), body, expect: expect([415]) })),
      fc
        .tuple(
          junk,
          fc.constantFrom(
            'Application/JSON',
            'APPLICATION/JSON',
            'application/json ; charset=utf-8',
            'application/json; charset=utf-16',
            'application/json; charset=latin1',
          ),
        )
        .map(([body, type]): Probe => ({
          ...base,
          label: `not JSON, sent as ${type}`,
          headers: head(type),
          body,
          expect: expect([400, 415]),
        })),
      fc.constantFrom('application/json', 'text/plain', undefined).map((type): Probe => ({
        ...base,
        label: 'an empty body',
        headers: [...head(type), ['Content-Length', '0']],
        body: Buffer.alloc(0),
        expect: where.primary ? [400] : [400, 404],
      })),
    );
  });
  await storm(t, 'not JSON', 2, 22, probes);
});

test.serial('when bodies exceed 64 KiB, by length or chunked, then 413; up to the limit, then 400', async (t) => {
  const { storm, tokensOf, anyMemberToken } = stage();
  const paddedRecipe = (size: number) => {
    const head = '{"title":"Kimchi stew","ingredients":["kimchi"],"steps":["';
    const tail = '"]}';
    return json(head + 's'.repeat(size - head.length - tail.length) + tail);
  };
  const chunked = (body: Buffer, chunkSize: number) => {
    const parts: Buffer[] = [];
    for (let i = 0; i < body.length; i += chunkSize) {
      const piece = body.subarray(i, i + chunkSize);
      parts.push(Buffer.from(`${piece.length.toString(16)}\r\n`), piece, Buffer.from('\r\n'));
    }
    parts.push(Buffer.from('0\r\n\r\n'));
    return Buffer.concat(parts);
  };
  const target = fc.oneof(
    { weight: 4, arbitrary: fc.constant(['POST', '/myrecipes'] as const) },
    { weight: 1, arbitrary: fc.uuid().map((id) => ['POST', `/recipes/${id}/recommendations`] as const) },
    { weight: 1, arbitrary: fc.uuid().map((id) => ['DELETE', `/myrecipes/${id}`] as const) },
  );
  const size = fc.oneof(
    fc.integer({ min: BODY_LIMIT + 1, max: 4 * BODY_LIMIT }),
    fc.constantFrom(BODY_LIMIT + 1, BODY_LIMIT + 1024, 1024 * 1024),
  );
  const content = fc.constantFrom('recipe', 'junk', 'zeros');
  const type = fc.constantFrom<string | undefined>('application/json', 'text/plain', undefined);
  const framing = fc.constantFrom('length', 'chunked', 'declared only');
  const probes = fc.oneof(
    {
      weight: 8,
      arbitrary: fc
        .tuple(target, size, content, type, framing, fc.integer({ min: 512, max: 16384 }), anyMemberToken('huge'))
        .map(([[method, path], n, what, ct, frame, chunkSize, token]): Probe => {
          const body = what === 'recipe' ? paddedRecipe(n) : what === 'junk' ? Buffer.alloc(n, 'a{"[') : Buffer.alloc(n);
          const headers: [string, string][] = [auth(token), ...(ct ? [['Content-Type', ct] as [string, string]] : [])];
          if (frame === 'chunked')
            return {
              label: `${n > 1e6 ? '1 MiB' : 'over 64 KiB'}, chunked`,
              method,
              target: path,
              headers: [...headers, ['Transfer-Encoding', 'chunked']],
              body: chunked(body, chunkSize),
              expect: [413],
            };
          if (frame === 'declared only')
            return {
              label: 'Content-Length over 64 KiB, 1 KiB sent',
              method,
              target: path,
              headers: [...headers, ['Content-Length', String(n)]],
              body: body.subarray(0, 1024),
              expect: [413],
            };
          return { label: 'over 64 KiB', method, target: path, headers, body, expect: [413] };
        }),
    },
    // Exactly at the limit the body is read, and the recipe in it is invalid (a step over 2000 characters).
    {
      weight: 1,
      arbitrary: fc.tuple(fc.constantFrom('length', 'chunked'), tokensOf('huge')).map(([frame, token]): Probe => ({
        label: `exactly 64 KiB (${frame})`,
        method: 'POST',
        target: '/myrecipes',
        headers: [auth(token), JSON_TYPE, ...(frame === 'chunked' ? [['Transfer-Encoding', 'chunked'] as [string, string]] : [])],
        body: frame === 'chunked' ? chunked(paddedRecipe(BODY_LIMIT), 4096) : paddedRecipe(BODY_LIMIT),
        expect: [400],
      })),
    },
  );
  await storm(t, 'huge bodies', 3, 6, probes);
});

test.serial('when JSON is nested thousands deep, then 400', async (t) => {
  const { storm, tokensOf } = stage();
  const nest = (shape: 'array' | 'object' | 'mixed', depth: number) => {
    if (shape === 'array') return '['.repeat(depth) + ']'.repeat(depth);
    if (shape === 'object') return '{"a":'.repeat(depth) + '1' + '}'.repeat(depth);
    return '[{"a":'.repeat(depth) + '1' + '}]'.repeat(depth);
  };
  const probes = fc
    .tuple(
      fc.constantFrom('array', 'object', 'mixed'),
      fc.integer({ min: 64, max: 30000 }),
      fc.constantFrom('whole body', 'title', 'ingredients', 'an ingredient', 'steps', 'an unknown field', '__proto__'),
      tokensOf('deep'),
    )
    .map(([shape, wanted, where, token]): Probe => {
      const perLevel = shape === 'array' ? 2 : shape === 'object' ? 6 : 8;
      const depth = Math.min(wanted, Math.floor((BODY_LIMIT - 200) / perLevel));
      const deep = nest(shape, depth);
      const recipe = (field: string, value: string) =>
        objectText(
          entriesOf({ title: 'Deep', ingredients: ['rice'], steps: ['cook'] }).map(([k, v]) => [k, k === field ? value : v] as Entry),
        );
      const text =
        where === 'whole body'
          ? deep
          : where === 'an ingredient'
            ? recipe('ingredients', `["rice",${deep}]`)
            : where === 'an unknown field' || where === '__proto__'
              ? objectText([
                  ...entriesOf({ title: 'Deep', ingredients: ['rice'], steps: ['cook'] }),
                  [where === '__proto__' ? '__proto__' : 'extra', deep],
                ])
              : recipe(where, deep);
      return {
        label: `${shape}s nested in ${where}`,
        method: 'POST',
        target: '/myrecipes',
        headers: [auth(token), JSON_TYPE],
        body: json(text),
        expect: [400],
      };
    });
  await storm(t, 'deep JSON', 4, 6, probes);
});

test.serial('when text is not well-formed Unicode (lone surrogates, invalid UTF-8), then 400 and nothing is stored', async (t) => {
  const { storm, tokensOf } = stage();
  const probes = fc
    .tuple(fc.constantFrom(...ILL_FORMED), fc.constantFrom<Field>(...FIELDS), fc.constantFrom(...ODD_UNICODE), tokensOf('unicode'))
    .map(([bad, field, odd, token]): Probe => {
      const around = (s: string) => json(s);
      const parts: Buffer[] =
        field === 'title'
          ? [around(`{"title":"Good ${odd}`), bad.bytes, around(' soup","ingredients":["rice"],"steps":["cook"]}')]
          : field === 'ingredients'
            ? [around(`{"title":"Soup","ingredients":["rice","a${odd}`), bad.bytes, around('b"],"steps":["cook"]}')]
            : [around(`{"title":"Soup","ingredients":["rice"],"steps":["cook","a${odd}`), bad.bytes, around('b"]}')];
      return {
        label: `${field} holding ${bad.what}`,
        group: bad.what,
        method: 'POST',
        target: '/myrecipes',
        headers: [auth(token), JSON_TYPE],
        body: Buffer.concat(parts),
        expect: [400],
      };
    });
  await storm(t, 'ill-formed Unicode', 11, 5, probes);
});

test.serial(
  'when bodies carry __proto__, constructor, prototype or mass-assignment fields, then 400 naming them and nothing is stored',
  async (t) => {
    const { storm, tokensOf, realIds, seeded, membersOf } = stage();
    const value = fc.oneof(
      fc.constantFrom('1000', '-5', '"someone-else"', '"admin"', 'null', 'true', '[]', '{}', `["${CANARY}"]`, '"2000-01-01T00:00:00.000Z"'),
      fc.constantFrom(
        `{"${CANARY}":true}`,
        `{"points":1000,"isAdmin":true,"${CANARY}":1}`,
        `{"prototype":{"${CANARY}":"yes"}}`,
        `{"__proto__":{"${CANARY}":"yes"}}`,
        `{"constructor":{"prototype":{"${CANARY}":"yes"}}}`,
      ),
      fc.constantFrom(...realIds()).map((id) => JSON.stringify(id)),
      anyJson,
    );
    const forbidden = fc.tuple(fc.constantFrom(...MASS_ASSIGNMENT, ...PROTOTYPE_KEYS), value);
    const bodyProbes = fc
      .tuple(validRecipe, fc.array(forbidden, { minLength: 1, maxLength: 3 }), fc.nat(), tokensOf('proto'))
      .map(([r, extra, at, token]): Probe => {
        const entries = entriesOf(r);
        for (const [i, e] of extra.entries()) entries.splice((at + i) % (entries.length + 1), 0, e);
        const keys = extra.map(([k]) => k);
        return {
          label: `extra ${[...new Set(keys)].sort().join(', ')}`,
          method: 'POST',
          target: '/myrecipes',
          headers: [auth(token), JSON_TYPE],
          body: json(objectText(entries)),
          expect: [400],
          check: (reply) => {
            if (reply.text.includes(CANARY)) return 'the reply echoes a polluted prototype';
            if (reply.status === 400 && !keys.some((k) => reply.text.includes(JSON.stringify(k).slice(1, -1))))
              return `the 400 does not name the field (${keys.join(', ')})`;
            return undefined;
          },
        };
      });
    // Identity cannot be assigned by headers either: the gateway takes it from the token only.
    const identityHeaders = fc
      .tuple(
        fc.constantFrom(
          'X-Member-Id',
          'x-member-id',
          'Dapr-App-Id',
          'Dapr-Api-Token',
          'Dapr-Caller-App-Id',
          'X-Forwarded-User',
          'X-Original-URL',
          'X-Rewrite-URL',
          'X-HTTP-Method-Override',
        ),
        fc.constantFrom('bob', '..', '__proto__', 'mypage', 'myrecipe', '/myrecipes', 'DELETE', '/mypages/admin'),
        fc.constantFrom(...membersOf('proto')),
      )
      .map(([name, v, member]): Probe => ({
        label: `GET /mypages/me with ${name}`,
        method: 'GET',
        target: '/mypages/me',
        headers: [auth(member.token), [name, v === 'bob' ? seeded.bob.id : v]],
        expect: [200],
        check: (reply) => {
          const page = JSON.parse(reply.text || 'null') as { memberId?: string; recipes?: unknown[] } | null;
          return page?.memberId === member.id && page.recipes?.length === 0
            ? undefined
            : `the page is not the token's member's (empty) page: ${clip(reply.text, 200)}`;
        },
      }));
    await storm(
      t,
      'prototype pollution and mass assignment',
      6,
      22,
      fc.oneof({ weight: 4, arbitrary: bodyProbes }, { weight: 1, arbitrary: identityHeaders }),
    );
  },
);

test.serial('when PUT /members/me bodies are wrong, then 400 naming displayName or the extra field, and no profile changes', async (t) => {
  const { storm, anyMemberToken } = stage();
  const probes = fc.tuple(profileBodies, anyMemberToken('profile')).map(([c, token]): Probe => ({
    label: c.what,
    method: 'PUT',
    target: '/members/me',
    headers: [auth(token), JSON_TYPE],
    body: c.body,
    expect: [c.expect],
    check: (reply) => profileReplyProblem(c, reply),
  }));
  await storm(t, 'PUT /members/me bodies', 14, 20, probes);
});

testNothingChanged(test, stage);
