import fc from 'fast-check';
import { CANARY, CONTROL, PROTOTYPE_KEYS, anyJson, objectText, type Entry } from './generators.js';
import { ILL_FORMED } from './odd-values.js';
import { spoiltCursors } from './query-strings.js';
import type { RawReply } from './raw-http.js';
import { clip } from './verdict.js';

// Odd requests to the member's own endpoints: GET /myrecipes?limit=&cursor=
// (limit 1–50, cursor sealed for one member's listing) and PUT /members/me
// bodies, each with the status it must get.

/** What `z.coerce.number().int().min(1).max(50)` takes: Number() of the decoded value. */
const validLimit = (raw: string) => Number.isInteger(Number(raw)) && Number(raw) >= 1 && Number(raw) <= 50;

const RAW_LIMITS = ['0', '-1', '51', '1e3', 'abc', '', ' ', '1.5', 'NaN', 'Infinity', '-0', '1,2', '[]', 'null', '50.0000001'];
/** Limits as raw (decoded) values; `expectOk` follows the schema's coercion, so '1e1', ' 7 ', '0x10' are fine. */
const limitValue = fc.oneof(
  fc.constantFrom(...RAW_LIMITS, '1', '50', '1e1', ' 7 ', '0x10', '0b1', '5.0', '٣', '５'),
  fc.integer({ min: -100, max: 200 }).map(String),
  fc.double().map(String),
  fc.integer({ min: 100, max: 8000 }).map((n) => '9'.repeat(n)),
  fc.string({ unit: 'grapheme', maxLength: 10 }),
);

export interface MyRecipesCase {
  what: string;
  qs: string;
  /** Whose token to send: alice (the owner of `own`) or anyone else. */
  asOwner: boolean;
  expect: number;
  /** The page size a 200 must have. */
  limit: number;
  /** A 400 must name one of these. */
  names: string[];
}

/**
 * Query strings for GET /myrecipes. `own` is a real cursor of the owner's
 * listing; `foreign` are cursors of other listings (GET /recipes, /mypages/me).
 */
export function myRecipesQueries(own: string, foreign: string[]): fc.Arbitrary<MyRecipesCase> {
  const [body, tag] = own.split('.') as [string, string];
  const flip = (v: string, i: number) => v.slice(0, i) + (v[i] === 'A' ? 'B' : 'A') + v.slice(i + 1);
  // The tag's last base64url character carries two unused bits: flipping only those would decode to the same MAC.
  const altered = fc
    .oneof(
      fc.nat(body.length - 1).map((i) => ({ what: 'its body flipped', cursor: `${flip(body, i)}.${tag}` })),
      fc.nat(tag.length - 2).map((i) => ({ what: 'its tag flipped', cursor: `${body}.${flip(tag, i)}` })),
      fc.integer({ min: 1, max: own.length - 1 }).map((n) => ({ what: 'truncated', cursor: own.slice(0, n) })),
      fc.constantFrom(...spoiltCursors([own]).slice(1)).map((cursor) => ({ what: 'spoilt', cursor })),
      fc.constantFrom(...foreign).map((cursor) => ({ what: 'another listing’s', cursor })),
      fc
        .tuple(fc.integer({ min: -5, max: 1e6 }), fc.string({ unit: fc.constantFrom(...'ABCxyz019-_'), minLength: 43, maxLength: 43 }))
        .map(([below, t]) => ({ what: 'forged', cursor: `${Buffer.from(JSON.stringify({ below })).toString('base64url')}.${t}` })),
      fc.constantFrom('', '.', 'a.b', own.toUpperCase(), `${own} `, `${own}\u0000`, 'x'.repeat(12000), `${'A'.repeat(201)}.${tag}`),
      fc.string({ unit: 'grapheme', minLength: 1, maxLength: 30 }).map((cursor) => ({ what: 'unicode', cursor })),
    )
    .map((c) => (typeof c === 'string' ? { what: 'odd', cursor: c } : c));
  const param = (k: string, v: string) => `${k}=${encodeURIComponent(v)}`;
  const limitOnly = limitValue.map((v): MyRecipesCase => ({
    what: validLimit(v) ? 'a fine limit' : 'an odd limit',
    qs: param('limit', v),
    asOwner: false,
    expect: validLimit(v) ? 200 : 400,
    limit: validLimit(v) ? Number(v) : 20,
    names: ['limit'],
  }));
  const realCursor = fc
    .tuple(fc.option(fc.integer({ min: 1, max: 50 }).map(String), { nil: undefined }), fc.boolean())
    .map(([limit, asOwner]): MyRecipesCase => ({
      what: `the real cursor, ${asOwner ? 'by its member' : 'by another member'}`,
      qs: [param('cursor', own), ...(limit ? [param('limit', limit)] : [])].join('&'),
      asOwner,
      expect: asOwner ? 200 : 400,
      limit: limit ? Number(limit) : 20,
      names: ['cursor'],
    }));
  const spoilt = fc.tuple(altered, fc.boolean(), fc.option(limitValue, { nil: undefined })).map(([c, asOwner, limit]): MyRecipesCase => ({
    what: `a cursor ${c.what}${limit === undefined ? '' : ' and a limit'}`,
    qs: [param('cursor', c.cursor), ...(limit === undefined ? [] : [param('limit', limit)])].join('&'),
    asOwner,
    expect: c.cursor === own && asOwner && (limit === undefined || validLimit(limit)) ? 200 : 400,
    limit: limit === undefined || !validLimit(limit) ? 20 : Number(limit),
    names: limit === undefined || validLimit(limit) ? ['cursor'] : ['cursor', 'limit'],
  }));
  const repeated = fc
    .tuple(fc.constantFrom('limit', 'cursor'), fc.array(fc.constantFrom('1', '20', own), { minLength: 2, maxLength: 4 }), fc.boolean())
    .map(([k, vs, asOwner]): MyRecipesCase => ({
      what: `${k} repeated`,
      qs: vs.map((v) => param(k, v)).join('&'),
      asOwner,
      expect: 400,
      limit: 20,
      names: [k],
    }));
  const unknown = fc
    .tuple(
      fc.constantFrom('page', 'size', 'offset', 'q', '__proto__', 'constructor', 'limit[]', 'Limit', 'memberId', 'toString', 'cursor[a]'),
      fc.constantFrom('1', own, 'x'),
      fc.option(fc.constant('limit=5'), { nil: undefined }),
    )
    .map(([k, v, extra]): MyRecipesCase => ({
      what: `an unknown ${k}`,
      qs: [`${encodeURIComponent(k)}=${encodeURIComponent(v)}`, ...(extra ? [extra] : [])].join('&'),
      asOwner: false,
      expect: 400,
      limit: 20,
      names: [k],
    }));
  return fc.oneof(
    { weight: 3, arbitrary: limitOnly },
    { weight: 1, arbitrary: realCursor },
    { weight: 4, arbitrary: spoilt },
    { weight: 1, arbitrary: repeated },
    { weight: 1, arbitrary: unknown },
  );
}

/** A 200 of GET /myrecipes: a page of at most `limit` of the caller's own recipes. */
export function myRecipesPageProblem(reply: RawReply, limit: number, ownIds: string[]): string | undefined {
  const page = JSON.parse(reply.text) as { items?: { recipeId?: unknown }[]; limit?: unknown; hasMore?: unknown; nextCursor?: unknown };
  if (!Array.isArray(page.items) || page.limit !== limit || page.items.length > limit || typeof page.hasMore !== 'boolean')
    return `a 200 that is not a page of at most ${limit}: ${clip(reply.text, 200)}`;
  if (page.hasMore !== (typeof page.nextCursor === 'string')) return `hasMore and nextCursor disagree: ${clip(reply.text, 200)}`;
  const strangers = page.items.filter((i) => !ownIds.includes(i.recipeId as string));
  return strangers.length ? `lists recipes that are not the caller's: ${clip(JSON.stringify(strangers), 200)}` : undefined;
}

export interface ProfileCase {
  what: string;
  body: Buffer;
  expect: number;
  /** A 400 must name one of these (none: a body that is not JSON, or not well-formed). */
  names: string[];
}

const text = (entries: Entry[]) => Buffer.from(objectText(entries), 'utf8');
const name = (v: string): Entry => ['displayName', JSON.stringify(v)];
const hex = (c: string) => `U+${c.codePointAt(0)!.toString(16).padStart(4, '0')}`;

/** PUT /members/me bodies that are all invalid: none may be stored. */
export const profileBodies: fc.Arbitrary<ProfileCase> = fc.oneof(
  fc
    .oneof(
      fc.integer().map((n) => ['a number', String(n)]),
      fc.constantFrom(['null', 'null'], ['a boolean', 'true'], ['an array', '["Kim"]'], ['an object', `{"${CANARY}":1}`], ['[]', '[]']),
      anyJson.filter((j) => !j.startsWith('"')).map((j) => ['JSON', j]),
    )
    .map(([what, json]) => ({ what: `displayName is ${what}`, body: text([['displayName', json]]), expect: 400, names: ['displayName'] })),
  fc
    .constantFrom('', ' ', '   ', '\t', '\n', '\r\n', '\u00a0', '\u3000', '\u2003', '\ufeff', ' \u00a0\n ')
    .map((s) => ({ what: 'displayName is blank', body: text([name(s)]), expect: 400, names: ['displayName'] })),
  fc.tuple(fc.integer({ min: 51, max: 400 }), fc.constantFrom('a', '김', '\u{1F372}', 'e\u0301', 'ab ')).map(([n, unit]) => ({
    what: 'displayName is over 50 characters',
    body: text([name(` ${unit.repeat(Math.ceil(n / [...unit].length))}x`)]),
    expect: 400,
    names: ['displayName'],
  })),
  fc
    .integer({ min: 1000, max: 60_000 })
    .map((n) => ({ what: 'displayName is huge', body: text([name('n'.repeat(n))]), expect: 400, names: ['displayName'] })),
  fc
    .integer({ min: 64 * 1024 + 1, max: 200_000 })
    .map((n) => ({ what: 'the body is over 64 KiB', body: text([name('n'.repeat(n))]), expect: 413, names: [] })),
  fc
    .constantFrom(...CONTROL, '\n', '\t', '\r', '\r\n', '\u0085', '\u009f', '\u0080', '\u2028', '\u2029')
    .map((c) => ({ what: `displayName holds ${hex(c)}`, body: text([name(`Kim${c}chi`)]), expect: 400, names: ['displayName'] })),
  fc.constantFrom(...ILL_FORMED).map((bad) => ({
    what: `displayName holds ${bad.what}`,
    body: Buffer.concat([Buffer.from('{"displayName":"Kim'), bad.bytes, Buffer.from('chi"}')]),
    expect: 400,
    names: [],
  })),
  fc
    .constantFrom(
      '{}',
      '[]',
      'null',
      '"Kimchi"',
      '[{"displayName":"Kim"}]',
      '{"displayname":"Kim"}',
      '{"name":"Kim"}',
      '{"DisplayName":"Kim"}',
    )
    .map((t) => ({ what: 'no displayName field', body: Buffer.from(t), expect: 400, names: ['displayName', 'body'] })),
  fc
    .tuple(
      fc.constantFrom(...PROTOTYPE_KEYS, 'source', 'memberId', 'generatedName', 'tokenName', 'display_name', 'updatedAt', 'isAdmin'),
      fc.constantFrom('"x"', '1', 'null', `{"${CANARY}":true}`, `{"displayName":"${CANARY}"}`, `{"prototype":{"${CANARY}":1}}`),
      fc.boolean(),
    )
    .map(([key, value, first]) => ({
      what: `an extra ${key} field`,
      body: text(first ? [[key, value], name('Fine Name')] : [name('Fine Name'), [key, value]]),
      expect: 400,
      names: [key],
    })),
  fc.constantFrom('5', 'null', '""', '" "', JSON.stringify('x'.repeat(51))).map((last) => ({
    what: 'displayName repeated, the last one invalid',
    body: Buffer.from(`{"displayName":"Fine Name","displayName":${last}}`),
    expect: 400,
    names: ['displayName'],
  })),
);

/** The 400 names the field at fault, and nothing polluted is echoed. */
export function profileReplyProblem(c: ProfileCase, reply: RawReply): string | undefined {
  if (reply.text.includes(CANARY)) return 'the reply echoes a polluted prototype';
  if (reply.status === 400 && c.names.length && !c.names.some((n) => reply.text.includes(n)))
    return `the 400 does not name the field (${c.names.join(' or ')})`;
  return undefined;
}
