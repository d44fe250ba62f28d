import test from 'ava';
import fc from 'fast-check';
import { sampleRecipe } from '../../support/client.js';
import { JSON_TYPE, auth, json } from '../../support/bad-input/generators.js';
import { MANGLE, ODD_METHODS, PREFIXES, STATIC_IDS, SUFFIXES } from '../../support/bad-input/odd-values.js';
import type { Probe } from '../../support/bad-input/raw-http.js';
import { myRecipesPageProblem, myRecipesQueries } from '../../support/bad-input/members.js';
import { oddQueryStrings, pageOf, spoiltCursors } from '../../support/bad-input/query-strings.js';
import { testNothingChanged, useStage } from '../../support/bad-input/stage.js';
import { clip } from '../../support/bad-input/verdict.js';

// A storm of generated malformed requests against the gateway of one real
// system (four apps, their sidecars, Redis, PostgreSQL). Whatever arrives, the
// answer is never a 5xx, never a stack trace or an internal name, always a JSON
// error `{ error: { code, message } }` for a 4xx, and nothing stored changes.
// Requests go over raw TCP, so that exactly the bytes generated reach the server
// (test/support/bad-input/). Reproduce a run with BAD_INPUT_SEED=<seed>.
//
// This file: where requests go (odd ids in paths, odd query strings, odd methods
// and internal paths).

const stage = useStage(test, ['ids', 'query', 'myrecipes', 'methods']);

test.serial('when ids in paths hold .., %2F, %2e%2e, ||, %00, unicode or are very long, then 400 or 404 and nothing changes', async (t) => {
  const { storm, anyMemberToken, realIds } = stage();
  const real = realIds();
  const id = fc.oneof(
    { weight: 3, arbitrary: fc.constantFrom(...STATIC_IDS).map((v) => ({ what: v.length > 14 ? clip(v, 14) : v, id: v })) },
    {
      weight: 3,
      arbitrary: fc
        .tuple(fc.constantFrom(...real), fc.constantFrom(...SUFFIXES))
        .map(([r, s]) => ({ what: `a real id + ${s}`, id: r + s })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...PREFIXES), fc.constantFrom(...real))
        .map(([p, r]) => ({ what: `${p} + a real id`, id: p + r })),
    },
    {
      weight: 2,
      arbitrary: fc
        .tuple(fc.constantFrom(...MANGLE), fc.constantFrom(...real))
        .map(([[what, f], r]) => ({ what: `a real id ${what}`, id: f(r) })),
    },
    { weight: 1, arbitrary: fc.integer({ min: 37, max: 15000 }).map((n) => ({ what: 'a very long id', id: 'a'.repeat(n) })) },
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.integer({ min: 2, max: 200 }), fc.constantFrom(...real))
        .map(([n, r]) => ({ what: 'a real id repeated', id: r.repeat(n) })),
    },
    {
      weight: 2,
      arbitrary: fc
        .string({ unit: 'grapheme', minLength: 1, maxLength: 24 })
        .map((s) => ({ what: 'unicode, percent-encoded', id: encodeURIComponent(s) })),
    },
    {
      weight: 1,
      arbitrary: fc
        .string({ unit: fc.constantFrom(...".%/|:;*~!$&'()+,=@aZ09-_"), minLength: 1, maxLength: 40 })
        .filter((s) => !s.startsWith('/'))
        .map((s) => ({ what: 'punctuation', id: s })),
    },
    { weight: 1, arbitrary: fc.uuid().map((u) => ({ what: 'an unknown uuid', id: u })) },
    { weight: 1, arbitrary: fc.uuid().map((u) => ({ what: 'an unknown upper-case uuid', id: u.toUpperCase() })) },
  );
  // Mostly the four routes that take an id; sometimes paths around them.
  const route = fc.oneof(
    {
      weight: 8,
      arbitrary: fc.constantFrom(
        { method: 'GET', path: (i: string) => `/myrecipes/${i}` },
        { method: 'DELETE', path: (i: string) => `/myrecipes/${i}` },
        { method: 'GET', path: (i: string) => `/recipes/${i}` },
        { method: 'POST', path: (i: string) => `/recipes/${i}/recommendations` },
      ),
    },
    {
      weight: 2,
      arbitrary: fc.constantFrom(
        { method: 'GET', path: (i: string) => `/myrecipes/${i}/x` },
        { method: 'POST', path: (i: string) => `/recipes/${i}/recommendations/x` },
        { method: 'POST', path: (i: string) => `/recipes/${i}/recommendations/..` },
        { method: 'POST', path: (i: string) => `/recipes/${i}/withdrawal` },
        { method: 'DELETE', path: (i: string) => `/recipes/${i}/withdrawal` },
        { method: 'GET', path: (i: string) => `/mypages/${i}` },
      ),
    },
  );
  const probes = fc.tuple(route, id, anyMemberToken('ids')).map(([r, i, token]): Probe => ({
    label: `${r.method} ${r.path('{id}')} with ${i.what}`,
    group: `${r.method} ${r.path('{id}')}`,
    method: r.method,
    target: r.path(i.id),
    headers: [auth(token)],
    expect: [400, 404, 405],
  }));
  // The withdrawal and other members' pages are never reachable, even with real ids.
  const internal = fc
    .tuple(fc.constantFrom(...real), fc.constantFrom('POST', 'DELETE', 'GET'), anyMemberToken('ids'))
    .map(([r, method, token]): Probe => ({
      label: `${method} the withdrawal of a real recipe`,
      method,
      target: `/recipes/${r}/withdrawal`,
      headers: [auth(token)],
      expect: [404, 405],
    }));
  await storm(t, 'ids in paths', 5, 45, fc.oneof({ weight: 9, arbitrary: probes }, { weight: 1, arbitrary: internal }));
});

test.serial('when GET /recipes and GET /mypages/me have odd query strings, then 200 or 400, never 5xx', async (t) => {
  const { storm, anyMemberToken, seeded } = stage();
  // Real cursors (of the catalogue, and of alice's page), and ways to spoil them.
  const cursorOf = async (reply: Promise<{ body: { nextCursor?: unknown } }>) => {
    const cursor = (await reply).body.nextCursor;
    if (typeof cursor !== 'string') throw new Error('no cursor to start from: the stage seeds several recipes');
    return cursor;
  };
  const realCursors = [
    await cursorOf(seeded.carol.client.get('/recipes?limit=1')),
    await cursorOf(seeded.alice.client.get('/mypages/me?limit=1')),
  ];
  const query = oddQueryStrings(spoiltCursors(realCursors));
  const catalogue = fc.tuple(query, anyMemberToken('query')).map(([q, token]): Probe => ({
    label: `GET /recipes? with ${q.what} (${q.qs.length} chars)`,
    group: `GET /recipes? with ${q.what}`,
    method: 'GET',
    target: `/recipes?${q.qs}`,
    headers: [auth(token)],
    expect: [200, 400],
    check: (reply) => {
      if (reply.status !== 200) return undefined;
      const body = JSON.parse(reply.text) as { items?: unknown; page?: unknown; size?: unknown; hasMore?: unknown };
      const offsetForm =
        Array.isArray(body.items) &&
        Number.isInteger(body.page) &&
        Number.isInteger(body.size) &&
        typeof body.hasMore === 'boolean' &&
        (body.size as number) >= 1 &&
        (body.size as number) <= 100 &&
        body.items.length <= (body.size as number);
      return offsetForm || pageOf(body, body.items) ? undefined : `a 200 that is not a catalogue page: ${clip(reply.text, 200)}`;
    },
  }));
  const myPage = fc.tuple(query, anyMemberToken('query')).map(([q, token]): Probe => ({
    label: `GET /mypages/me? with ${q.what} (${q.qs.length} chars)`,
    group: `GET /mypages/me? with ${q.what}`,
    method: 'GET',
    target: `/mypages/me?${q.qs}`,
    headers: [auth(token)],
    expect: [200, 400],
    check: (reply) => {
      if (reply.status !== 200) return undefined;
      const body = JSON.parse(reply.text) as { memberId?: unknown; balance?: unknown; recipes?: unknown; limit?: unknown };
      return typeof body.memberId === 'string' && Number.isInteger(body.balance) && pageOf(body, body.recipes)
        ? undefined
        : `a 200 that is not a page of one's own: ${clip(reply.text, 200)}`;
    },
  }));
  const probes = fc.oneof({ weight: 3, arbitrary: catalogue }, { weight: 2, arbitrary: myPage });
  await storm(t, 'query strings', 7, 25, probes);
});

test.serial('when GET /myrecipes has odd limits or altered, foreign or forged cursors, then 400 naming them; real ones 200', async (t) => {
  const { storm, seeded, recipes, membersOf } = stage();
  const cursorOf = async (reply: Promise<{ body: { nextCursor?: unknown } }>) => {
    const cursor = (await reply).body.nextCursor;
    if (typeof cursor !== 'string') throw new Error('no cursor to start from: alice has two recipes');
    return cursor;
  };
  const own = await cursorOf(seeded.alice.client.get('/myrecipes?limit=1'));
  const foreign = [
    await cursorOf(seeded.carol.client.get('/recipes?limit=1')),
    await cursorOf(seeded.alice.client.get('/mypages/me?limit=1')),
  ];
  const others = [
    { token: seeded.bob.token, owns: [recipes.r3] },
    ...membersOf('myrecipes').map((m) => ({ token: m.token, owns: [] as string[] })),
  ];
  const probes = fc.tuple(myRecipesQueries(own, foreign), fc.constantFrom(...others)).map(([c, other]): Probe => {
    const who = c.asOwner ? { token: seeded.alice.token, owns: [recipes.r1, recipes.r2] } : other;
    return {
      label: `GET /myrecipes? with ${c.what} (${c.qs.length} chars)`,
      group: `GET /myrecipes? with ${c.what}`,
      method: 'GET',
      target: `/myrecipes?${c.qs}`,
      headers: [auth(who.token)],
      expect: [c.expect],
      check: (reply) => {
        if (reply.status === 200) return myRecipesPageProblem(reply, c.limit, who.owns);
        if (reply.status === 400 && !c.names.some((n) => reply.text.includes(n))) return `the 400 names none of ${c.names.join(', ')}`;
        return undefined;
      },
    };
  });
  await storm(t, 'GET /myrecipes query strings', 13, 25, probes);
});

test.serial('when odd HTTP methods or internal paths are used, then a JSON 404 or 405', async (t) => {
  const { storm, tokensOf, seeded, recipes } = stage();
  const KNOWN = (id: string) => [
    '/myrecipes',
    `/myrecipes/${id}`,
    '/recipes',
    `/recipes/${id}`,
    `/recipes/${id}/recommendations`,
    '/mypages/me',
  ];
  const WRONG_METHOD = (id: string): [string, string][] => [
    ['DELETE', '/myrecipes'],
    ['POST', `/myrecipes/${id}`],
    ['GET', `/recipes/${id}/recommendations`],
    ['DELETE', `/recipes/${id}/recommendations`],
    ['POST', '/recipes'],
    ['DELETE', '/recipes'],
    ['DELETE', `/recipes/${id}`],
    ['POST', '/mypages/me'],
    ['DELETE', '/mypages/me'],
  ];
  const INTERNAL = (member: string): string[] => [
    '/withdrawals',
    '/withdrawal-cancellations',
    `/members/${member}/balance`,
    '/audit/recipes',
    '/catalogue',
    `/mypages/${member}`,
    '/events/recommended',
    '/events/registered',
    '/events/deleted',
    '/events/outbox',
    '/events/outbox-late',
    '/dapr/subscribe',
    '/dapr/config',
    '/v1.0/invoke/myrecipe/method/myrecipes',
    '/v1.0/state/myrecipe-store',
    '/v1.0/publish/pubsub/Recommended',
    '/',
    '/MYRECIPES/..',
    '//myrecipes',
    '/mypages/me/..',
    '/mypages/%2e%2e',
  ];
  const recommended = json(
    JSON.stringify({
      specversion: '1.0',
      id: `Recommended:${recipes.r2}:x`,
      type: 'Recommended',
      source: 'recipe',
      data: {
        recipeId: recipes.r2,
        authorId: seeded.alice.id,
        recommenderId: 'x',
        points: 1000,
        recipePoints: 1000,
        recommendedAt: new Date().toISOString(),
      },
    }),
  );
  const withToken = fc.oneof(
    { weight: 4, arbitrary: tokensOf('methods').map((tk) => ({ tk })) },
    { weight: 1, arbitrary: fc.constant({ tk: undefined as string | undefined }) },
  );
  const probes = fc.oneof(
    fc
      .tuple(
        fc.constantFrom(...ODD_METHODS),
        fc.uuid().chain((id) => fc.constantFrom(...KNOWN(id))),
        withToken,
        fc.boolean(),
      )
      .map(([method, path, { tk }, withBody]): Probe => ({
        label: `${method} on a known path${tk ? '' : ' without a token'}`,
        group: 'an odd method on a known path',
        method,
        target: path,
        headers: [...(tk ? [auth(tk)] : []), ...(withBody ? [JSON_TYPE] : [])],
        ...(withBody ? { body: json(JSON.stringify(sampleRecipe('Sneaky'))) } : {}),
        expect: tk ? [404, 405] : [401, 404, 405],
      })),
    fc
      .tuple(
        fc.uuid().chain((id) => fc.constantFrom(...WRONG_METHOD(id))),
        withToken,
      )
      .map(([[method, path], { tk }]): Probe => ({
        label: `${method} ${path.replace(/[0-9a-f-]{36}/, '{id}')}${tk ? '' : ' without a token'}`,
        group: 'a wrong method on a known path',
        method,
        target: path,
        headers: tk ? [auth(tk)] : [],
        expect: tk ? [404, 405] : [401, 404, 405],
      })),
    fc
      .tuple(fc.constantFrom('GET', 'POST', 'DELETE', 'PUT'), fc.constantFrom(...INTERNAL(seeded.alice.id)), tokensOf('methods'))
      .map(([method, path, tk]): Probe => ({
        label: `${method} internal ${path.replace(seeded.alice.id, '{member}').replace(recipes.r1, '{id}')}`,
        group: 'an internal path',
        method,
        target: path,
        headers: [auth(tk), ...(method === 'POST' ? [['Content-Type', 'application/cloudevents+json'] as [string, string]] : [])],
        ...(method === 'POST' ? { body: recommended } : {}),
        expect: [404, 405],
      })),
    fc
      .tuple(
        fc.uuid().chain((id) => fc.constantFrom(...KNOWN(id))),
        tokensOf('methods'),
      )
      .map(([path, tk]): Probe => ({
        label: 'OPTIONS on a known path',
        method: 'OPTIONS',
        target: path,
        headers: [auth(tk)],
        expect: [200, 204, 404, 405],
      })),
  );
  await storm(t, 'methods and internal paths', 10, 15, probes);
});

testNothingChanged(test, stage);
