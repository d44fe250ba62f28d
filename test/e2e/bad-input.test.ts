import { createHmac, randomBytes, randomUUID } from 'node:crypto';
import net from 'node:net';
import test, { type ExecutionContext } from 'ava';
import fc from 'fast-check';
import pg from 'pg';
import { createClient } from 'redis';
import { checkInvariants, type CheckReport } from '../../scripts/invariants.js';
import { memberClient, sampleRecipe, type MemberClient } from '../support/client.js';
import { eventually, sleep } from '../support/processes.js';
import { checkTargets, startSystem, type System } from '../support/system.js';

// A storm of generated malformed requests against the gateway of one real
// system (four apps, their sidecars, Redis, PostgreSQL). Whatever arrives, the
// answer is never a 5xx, never a stack trace or an internal name, always a JSON
// error `{ error: { code, message } }` for a 4xx, and nothing stored changes.
//
// Requests go over raw TCP so that exactly the bytes generated reach the server
// (fetch would normalise `..` and `%2e%2e`, and refuses odd headers). Every
// storm is a fast-check property over batches of IN_FLIGHT requests sent
// concurrently; all failures of a storm are collected and reported together
// with the seed. Reproduce a run with BAD_INPUT_SEED=<seed>; change the seed to
// explore further.

const BASE_SEED = Number(process.env.BAD_INPUT_SEED ?? 20261125);
const IN_FLIGHT = 12;
const BODY_LIMIT = 64 * 1024;

let system: System;
let gateway: { host: string; port: number };

// ---------------------------------------------------------------------------
// Members, tokens and the data registered before the storm

interface Seeded {
  id: string;
  token: string;
  client: MemberClient;
}
const seeded: Record<'alice' | 'bob' | 'carol', Seeded> = {} as never;
/** alice: R1 (recommended by bob and carol), R2 (not recommended); bob: R3 (recommended by carol). */
const recipes = { r1: '', r2: '', r3: '' };
/** Fresh members per storm, whose valid tokens the storm uses: their pages must stay empty. */
const STORMS = ['bodies', 'notjson', 'huge', 'deep', 'ids', 'proto', 'query', 'auth', 'idem', 'methods', 'unicode', 'parser'] as const;
type StormKey = (typeof STORMS)[number];
const stormMembers = {} as Record<StormKey, Seeded[]>;
/** Valid tokens whose `sub` is odd but allowed by the member id rules. */
const ODD_VALID_SUBS = [
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
const oddSubTokens: [string, string][] = [];
/** Tokens that must never authenticate: alg none, wrong alg/key, bad or missing claims. */
let forgedTokens: { what: string; token: string }[] = [];

const b64 = (value: unknown) => Buffer.from(typeof value === 'string' ? value : JSON.stringify(value)).toString('base64url');
const hmac = (hash: 'sha256' | 'sha384' | 'sha512', key: string, input: string) => createHmac(hash, key).update(input).digest('base64url');

function jwt(
  header: Record<string, unknown>,
  payload: Record<string, unknown>,
  sign: { hash: 'sha256' | 'sha384' | 'sha512'; key: string } | 'unsigned',
) {
  const input = `${b64(header)}.${b64(payload)}`;
  return `${input}.${sign === 'unsigned' ? '' : hmac(sign.hash, sign.key, input)}`;
}

function forge(key: string, aliceId: string, aliceToken: string): { what: string; token: string }[] {
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

// ---------------------------------------------------------------------------
// A raw HTTP/1.1 client: one connection per request, sends exactly these bytes

interface RawReply {
  status: number;
  headers: Record<string, string>;
  text: string;
  error?: string;
}

interface Probe {
  /** What is odd about it. */
  label: string;
  /** Failures are grouped by this (default: the label). */
  group?: string;
  method: string;
  /** The request-target, sent as-is (latin1). */
  target: string;
  /** Header lines, sent as-is (latin1); Content-Length is added for a body unless framed here. */
  headers: [string, string][];
  body?: Buffer;
  expect: readonly number[];
  noHost?: boolean;
  /** More to check on the reply; returns what is wrong. */
  check?: (reply: RawReply) => string | undefined;
}

function send(probe: Probe): Promise<RawReply> {
  return new Promise((resolve) => {
    const socket = net.connect(gateway.port, gateway.host);
    const chunks: Buffer[] = [];
    let settled = false;
    const finish = (error?: string) => {
      if (settled) return;
      settled = true;
      socket.destroy();
      const reply = parseReply(Buffer.concat(chunks), probe.method === 'HEAD', false);
      resolve(reply ?? { status: 0, headers: {}, text: '', error: error ?? 'connection closed without an answer' });
    };
    socket.setTimeout(30_000, () => finish('no answer within 30 s'));
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      if (parseReply(Buffer.concat(chunks), probe.method === 'HEAD', true)) finish();
    });
    socket.on('error', (err) => finish(err.message));
    socket.on('close', () => finish());
    socket.on('connect', () => {
      const lines = [
        `${probe.method} ${probe.target} HTTP/1.1`,
        ...(probe.noHost ? [] : [`Host: ${gateway.host}:${gateway.port}`]),
        'Connection: close',
      ];
      const framed = probe.headers.some(([name]) => /^(content-length|transfer-encoding)$/i.test(name));
      if (probe.body && !framed) lines.push(`Content-Length: ${probe.body.length}`);
      for (const [name, value] of probe.headers) lines.push(`${name}: ${value}`);
      const head = Buffer.from(`${lines.join('\r\n')}\r\n\r\n`, 'latin1');
      socket.write(probe.body ? Buffer.concat([head, probe.body]) : head, () => undefined);
    });
  });
}

/** The reply in `buf`; with `complete`, only once all of it has arrived. */
function parseReply(buf: Buffer, head: boolean, complete: boolean): RawReply | undefined {
  const end = buf.indexOf('\r\n\r\n');
  if (end < 0) return undefined;
  const [statusLine = '', ...lines] = buf.subarray(0, end).toString('latin1').split('\r\n');
  const status = Number(/^HTTP\/1\.[01] (\d{3})/.exec(statusLine)?.[1] ?? 0);
  const headers: Record<string, string> = {};
  for (const line of lines) {
    const colon = line.indexOf(':');
    headers[line.slice(0, colon).trim().toLowerCase()] = line.slice(colon + 1).trim();
  }
  let rest = buf.subarray(end + 4);
  const partial = (body: Buffer) => (complete ? undefined : { status, headers, text: body.toString('utf8') });
  if (head || status === 204 || status === 304) return { status, headers, text: '' };
  if (/chunked/i.test(headers['transfer-encoding'] ?? '')) {
    const out: Buffer[] = [];
    for (;;) {
      const nl = rest.indexOf('\r\n');
      if (nl < 0) return partial(Buffer.concat(out));
      const size = parseInt(rest.subarray(0, nl).toString('latin1'), 16);
      if (size === 0) return { status, headers, text: Buffer.concat(out).toString('utf8') };
      if (rest.length < nl + 2 + size + 2) return partial(Buffer.concat(out));
      out.push(rest.subarray(nl + 2, nl + 2 + size));
      rest = rest.subarray(nl + 2 + size + 2);
    }
  }
  if (headers['content-length'] !== undefined) {
    const length = Number(headers['content-length']);
    return rest.length >= length ? { status, headers, text: rest.subarray(0, length).toString('utf8') } : partial(rest);
  }
  return partial(rest); // delimited by the close
}

// ---------------------------------------------------------------------------
// What every reply must satisfy

const LEAKS: [RegExp, string][] = [
  [/\bat [^\n"]*\.(?:ts|js|mjs|cjs):\d+/, 'a stack frame'],
  [/(?:^|[\s"'{:])(?:[A-Z]\w*)?(?:Error|Exception): /, 'an "…Error:" prefix'],
  [/\bERR_[A-Z0-9_]+/, 'an ERR_ code'],
  [/daprd|\/v1\.0\/|dapr-api-token|x-member-id/i, 'a Dapr internal'],
  [/node_modules|file:\/\/|\/work\/|\/src\/|\/dist\//, 'a file path'],
  [/Unexpected token|JSON at position|Maximum call stack|Cannot read prop|is not a function|ECONNREFUSED|ETIMEDOUT/, 'a runtime message'],
  [/postgres|redis|knex|SQLSTATE|relation "|violates/i, 'a store internal'],
];

function problemsWith(probe: Probe, reply: RawReply): string[] {
  if (reply.status === 0) return [`no HTTP answer (${reply.error})`];
  const problems: string[] = [];
  if (reply.status >= 500) problems.push(`answered ${reply.status}`);
  else if (!probe.expect.includes(reply.status)) problems.push(`answered ${reply.status}, expected ${probe.expect.join(' or ')}`);
  if (reply.status >= 400 && probe.method !== 'HEAD') {
    const shape = errorShapeProblem(reply);
    if (shape) problems.push(shape);
  }
  // Error messages may name the path asked for; what the client sent is not a leak.
  const path = probe.target.split('?')[0]!;
  const own = reply.text.split(path).join('').split(JSON.stringify(path).slice(1, -1)).join('');
  for (const [pattern, what] of LEAKS) if (pattern.test(own)) problems.push(`the body shows ${what}`);
  try {
    const extra = probe.check?.(reply);
    if (extra) problems.push(extra);
  } catch (err) {
    problems.push(`an unexpected reply: ${(err as Error).message}`);
  }
  return problems;
}

function errorShapeProblem(reply: RawReply): string | undefined {
  const type = reply.headers['content-type'];
  if (!/^application\/json\b/i.test(type ?? '')) return `a ${reply.status} without a JSON error body (content-type ${type ?? 'none'})`;
  let body: { error?: { code?: unknown; message?: unknown } } | undefined;
  try {
    body = JSON.parse(reply.text);
  } catch {
    return `a ${reply.status} whose body is not JSON`;
  }
  const error = body?.error;
  if (typeof error?.code !== 'string' || !error.code || typeof error.message !== 'string' || !error.message) {
    return `a ${reply.status} without error.code and error.message strings`;
  }
  return undefined;
}

const clip = (text: string, max: number) => (text.length > max ? `${text.slice(0, max)}…(${text.length} chars)` : text);
const show = (text: string, max: number) => clip(JSON.stringify(text).slice(1, -1), max);

function describe(probe: Probe, reply: RawReply): string {
  const headers = probe.headers.map(([k, v]) => `${k}: ${show(v, /authorization/i.test(k) ? 48 : 100)}`).join(' | ');
  const body = probe.body ? `\n      body (${probe.body.length} bytes): ${show(probe.body.toString('utf8'), 240)}` : '';
  const answer = reply.status
    ? `${reply.status} ${reply.headers['content-type'] ?? '(no content-type)'} ${show(reply.text, 240)}`
    : `no answer: ${reply.error}`;
  return `[${probe.label}] ${probe.method} ${show(probe.target, 160)}${probe.noHost ? ' (no Host)' : ''}\n      headers: ${headers || '(none)'}${body}\n      → ${answer}`;
}

// ---------------------------------------------------------------------------
// Running a storm

interface StormReport {
  name: string;
  sent: number;
  ms: number;
  histogram: Map<string, number>;
}
const reports: StormReport[] = [];

const histogramText = (histogram: Map<string, number>) =>
  [...histogram.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status}×${n}`)
    .join('  ');

async function storm(t: ExecutionContext, name: string, seedOffset: number, runs: number, probes: fc.Arbitrary<Probe>) {
  const seed = BASE_SEED + seedOffset;
  const histogram = new Map<string, number>();
  const failures = new Map<string, { count: number; run: number; example: string }>();
  let sent = 0;
  let run = 0;
  const started = performance.now();
  const details = await fc.check(
    fc.asyncProperty(fc.array(probes, { minLength: IN_FLIGHT, maxLength: IN_FLIGHT }), async (batch) => {
      const thisRun = run++;
      const replies = await Promise.all(batch.map(send));
      sent += batch.length;
      batch.forEach((probe, i) => {
        const reply = replies[i]!;
        const status = reply.status ? String(reply.status) : 'no answer';
        histogram.set(status, (histogram.get(status) ?? 0) + 1);
        for (const problem of problemsWith(probe, reply)) {
          const key = `${probe.group ?? probe.label}: ${problem}`;
          const seen = failures.get(key);
          if (seen) seen.count++;
          else failures.set(key, { count: 1, run: thisRun, example: describe(probe, reply) });
        }
      });
      return true;
    }),
    { seed, numRuns: runs, endOnFailure: true },
  );
  const ms = performance.now() - started;
  reports.push({ name, sent, ms, histogram });
  t.log(`${sent} requests in ${(ms / 1000).toFixed(1)} s (seed ${seed}): ${histogramText(histogram)}`);
  if (details.failed) t.fail(`the storm itself failed (seed ${seed}): ${String(details.errorInstance)}`);
  if (failures.size === 0) {
    t.pass();
    return;
  }
  const lines = [...failures.entries()]
    .slice(0, 40)
    .map(([key, f]) => `  ✗ ${key} (${f.count}×; first in run ${f.run})\n      ${f.example}`);
  if (failures.size > 40) lines.push(`  … and ${failures.size - 40} more kinds`);
  t.fail(
    `${failures.size} kinds of bad answers; fast-check seed ${seed} (BAD_INPUT_SEED=${BASE_SEED}, ${runs} runs of ${IN_FLIGHT}):\n${lines.join('\n')}`,
  );
}

// ---------------------------------------------------------------------------
// Generators

const auth = (token: string): [string, string] => ['Authorization', `Bearer ${token}`];
const JSON_TYPE: [string, string] = ['Content-Type', 'application/json'];
const json = (text: string) => Buffer.from(text, 'utf8');

const tokensOf = (storm: StormKey) => fc.constantFrom(...stormMembers[storm].map((m) => m.token));
/** The seeded owners too: ids and paths must not reach their recipes either. */
const anyMemberToken = (storm: StormKey) =>
  fc.constantFrom(seeded.alice.token, seeded.bob.token, ...stormMembers[storm].map((m) => m.token));
const realIds = () => [recipes.r1, recipes.r2, recipes.r3];

/** Harmless but odd Unicode that may decorate any text. */
const ODD_UNICODE = [
  '',
  '\u200f',
  '\u200e',
  '\u202e',
  '\u2066',
  '\u200d',
  '\u200b',
  '\u{1F372}',
  'e\u0301',
  'שלום',
  'مرحبا',
  '김치',
  '\ufdfd',
  '\u{10FFFF}',
  'ᾈ',
];
const CONTROL = [
  ...Array.from({ length: 9 }, (_, i) => String.fromCharCode(i)),
  ...Array.from({ length: 21 }, (_, i) => String.fromCharCode(0x0b + i)),
  '\u007f',
];

const word = fc.string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyz'), minLength: 1, maxLength: 12 });
const text = (maxWords: number) =>
  fc
    .tuple(fc.array(word, { minLength: 1, maxLength: maxWords }), fc.constantFrom(...ODD_UNICODE), fc.constantFrom(...ODD_UNICODE))
    .map(([words, a, b]) => `${a}${words.join(' ')}${b}`);
/** A valid recipe, decorated with odd (but valid) Unicode. */
const validRecipe = fc.record({
  title: text(6),
  ingredients: fc.array(text(3), { minLength: 1, maxLength: 6 }),
  steps: fc.array(text(12), { minLength: 1, maxLength: 5 }),
});
type RecipeBody = { title: string; ingredients: string[]; steps: string[] };

/** Unknown keys that are reflected in error messages: keep them plain. */
const safeKey = fc
  .string({ unit: fc.constantFrom(...'abcdefghijklmnopqrstuvwxyzABCDEFGHIJ0123456789_'), minLength: 1, maxLength: 16 })
  .filter((k) => /^[a-zA-Z]/.test(k) && !['title', 'ingredients', 'steps'].includes(k));
const anyJson = fc.jsonValue({ maxDepth: 3 }).map((v) => JSON.stringify(v) ?? 'null');

/** A JSON object written entry by entry, so `__proto__` and duplicate keys survive. */
type Entry = [key: string, valueJson: string];
const objectText = (entries: Entry[]) => `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${v}`).join(',')}}`;
const entriesOf = (r: RecipeBody): Entry[] => [
  ['title', JSON.stringify(r.title)],
  ['ingredients', JSON.stringify(r.ingredients)],
  ['steps', JSON.stringify(r.steps)],
];

type Field = 'title' | 'ingredients' | 'steps';
const FIELDS: Field[] = ['title', 'ingredients', 'steps'];
const MASS_ASSIGNMENT = ['points', 'memberId', 'recipeId', 'registeredAt', 'requestHash', 'authorId', 'recommenders', 'balance', 'deleted'];
const PROTOTYPE_KEYS = ['__proto__', 'constructor', 'prototype'];
const CANARY = `polluted-${randomUUID().slice(0, 8)}`;

/** A value that is wrong for `field` whatever else the body holds. */
function wrongValue(field: Field): fc.Arbitrary<{ what: string; json: string }> {
  const common = [
    fc.integer().map((n) => ({ what: 'a number', json: JSON.stringify(n) })),
    fc.double({ noNaN: true, noDefaultInfinity: true }).map((n) => ({ what: 'a number', json: JSON.stringify(n) })),
    fc.boolean().map((b) => ({ what: 'a boolean', json: JSON.stringify(b) })),
    fc.constant({ what: 'null', json: 'null' }),
    fc.dictionary(safeKey, fc.jsonValue({ maxDepth: 2 }), { maxKeys: 4 }).map((o) => ({ what: 'an object', json: JSON.stringify(o) })),
    fc.constant({ what: 'an object', json: `{"__proto__":{"${CANARY}":true}}` }),
  ];
  if (field === 'title') {
    return fc.oneof(
      ...common,
      fc.array(fc.jsonValue({ maxDepth: 2 }), { maxLength: 5 }).map((a) => ({ what: 'an array', json: JSON.stringify(a) })),
      fc.constantFrom('', '   ', '\u00a0\u2003\ufeff', '\t', '\n\n').map((s) => ({ what: 'a blank string', json: JSON.stringify(s) })),
      fc.constant({ what: 'an array of strings', json: '["Kimchi stew"]' }),
    );
  }
  const maxLength = field === 'ingredients' ? 200 : 2000;
  const badElement = fc.oneof(
    ...common,
    fc.constantFrom('', '  ', '\u3000').map((s) => ({ what: 'a blank string', json: JSON.stringify(s) })),
    fc
      .integer({ min: maxLength + 1, max: maxLength * 4 })
      .map((n) => ({ what: 'an oversize string', json: JSON.stringify('y'.repeat(n)) })),
    fc.array(fc.string({ maxLength: 5 }), { minLength: 1, maxLength: 3 }).map((a) => ({ what: 'an array', json: JSON.stringify(a) })),
  );
  return fc.oneof(
    ...common,
    fc.string({ minLength: 1, maxLength: 30 }).map((s) => ({ what: 'a string', json: JSON.stringify(`x${s}`) })),
    fc.constant({ what: 'an empty list', json: '[]' }),
    fc
      .integer({ min: 101, max: 400 })
      .map((n) => ({ what: `a list of ${n}`, json: JSON.stringify(Array.from({ length: n }, (_, i) => `item ${i}`)) })),
    fc.tuple(fc.array(text(2), { maxLength: 3 }), badElement, fc.array(text(2), { maxLength: 3 })).map(([before, bad, after]) => ({
      what: `a list holding ${bad.what}`,
      json: `[${[...before.map((s) => JSON.stringify(s)), bad.json, ...after.map((s) => JSON.stringify(s))].join(',')}]`,
    })),
  );
}

/** One change that makes any recipe body invalid. */
type Breaker = { what: string; apply: (entries: Entry[]) => Entry[] };
const replaceField = (field: Field, json: string) => (entries: Entry[]) => {
  const rest = entries.filter(([k]) => k !== field);
  return [...rest, [field, json] as Entry];
};
const breaker: fc.Arbitrary<Breaker> = fc.oneof(
  fc
    .constantFrom(...FIELDS)
    .chain((field) => wrongValue(field).map((v) => ({ what: `${field} is ${v.what}`, apply: replaceField(field, v.json) }))),
  fc
    .constantFrom(...FIELDS)
    .map((field) => ({ what: `${field} is missing`, apply: (entries: Entry[]) => entries.filter(([k]) => k !== field) })),
  fc
    .integer({ min: 201, max: 6000 })
    .map((n) => ({ what: 'title is too long', apply: replaceField('title', JSON.stringify('T'.repeat(n))) })),
  fc
    .integer({ min: 201, max: 3000 })
    .map((n) => ({ what: 'an ingredient is too long', apply: replaceField('ingredients', JSON.stringify(['rice', 'i'.repeat(n)])) })),
  fc
    .integer({ min: 2001, max: 20000 })
    .map((n) => ({ what: 'a step is too long', apply: replaceField('steps', JSON.stringify(['s'.repeat(n)])) })),
  fc
    .tuple(fc.constantFrom(...FIELDS), fc.constantFrom(...CONTROL, '\n', '\t', '\r'))
    .map(([field, c]) => ({
      what: `${field} holds control character U+${c.charCodeAt(0).toString(16).padStart(4, '0')}`,
      apply: replaceField(field, field === 'title' ? JSON.stringify(`Kimchi${c}stew`) : JSON.stringify(['fine', `bad${c}one`])),
    }))
    .filter((b) => !(b.what.startsWith('ingredients') || b.what.startsWith('steps')) || !/U\+000(9|a|d)/.test(b.what)),
  fc.tuple(fc.constantFrom(...MASS_ASSIGNMENT, ...PROTOTYPE_KEYS), anyJson).map(([key, value]) => ({
    what: `an extra ${key} field`,
    apply: (entries: Entry[]) => [...entries, [key, value] as Entry],
  })),
  fc
    .tuple(safeKey, anyJson)
    .map(([key, value]) => ({ what: 'an unknown field', apply: (entries: Entry[]) => [...entries, [key, value] as Entry] })),
  fc
    .constantFrom(...FIELDS)
    .map((field) => ({
      what: `${field} is capitalised`,
      apply: (entries: Entry[]) => entries.map(([k, v]) => [k === field ? k.toUpperCase() : k, v] as Entry),
    })),
  fc
    .constantFrom(...FIELDS)
    .chain((field) =>
      wrongValue(field).map((v) => ({
        what: `${field} repeated, last one ${v.what}`,
        apply: (entries: Entry[]) => [...entries, [field, v.json] as Entry],
      })),
    ),
);

const notAnObject = fc.oneof(
  fc.integer().map(String),
  fc.constantFrom('null', 'true', 'false', '""', '"Kimchi stew"', '[]', '[{}]'),
  validRecipe.map((r) => JSON.stringify([r])),
  validRecipe.map((r) => JSON.stringify(JSON.stringify(r))),
);

const isJson = (buf: Buffer) => {
  try {
    JSON.parse(buf.toString('utf8'));
    return true;
  } catch {
    return false;
  }
};

// ---------------------------------------------------------------------------
// Snapshots of everything stored, and of what members are shown

/** Each store as [key, value] pairs, sorted by key. */
type Keyed = [string, string][];
interface Stored {
  /** myrecipe's Dapr state (PostgreSQL). */
  myrecipeState: Keyed;
  /** recipe's Dapr state (Redis). */
  catalogueStore: Keyed;
  /** mypage's read model (PostgreSQL, schema mypage). */
  readModel: Keyed;
}

async function storedData(): Promise<Stored> {
  const targets = checkTargets(system);
  const db = new pg.Client({ connectionString: targets.myrecipeDatabaseUrl });
  await db.connect();
  const redis = createClient({ socket: { host: targets.recipeRedis.host, port: targets.recipeRedis.port } });
  await redis.connect();
  try {
    const asText = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : JSON.stringify(v));
    const state = await db.query<{ key: string; value: unknown }>(
      `SELECT key, value FROM myrecipe_state WHERE key LIKE 'myrecipe||%' AND (expires_at IS NULL OR expires_at > now()) ORDER BY key`,
    );
    const readModel = await db.query<{ recipe_id: string }>('SELECT * FROM mypage.recipes ORDER BY recipe_id');
    const catalogueStore: Keyed = [];
    for await (const keys of redis.scanIterator({ MATCH: 'recipe||*', COUNT: 500 })) {
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === 'hash') {
          const { version: _version, ...fields } = await redis.hGetAll(key);
          catalogueStore.push([key, JSON.stringify(fields)]);
        } else catalogueStore.push([key, `(${type})`]);
      }
    }
    catalogueStore.sort(([a], [b]) => a.localeCompare(b));
    return {
      myrecipeState: state.rows.map((r) => [r.key, asText(r.value)]),
      readModel: readModel.rows.map((r) => [r.recipe_id, JSON.stringify(r)]),
      catalogueStore,
    };
  } finally {
    await db.end();
    await redis.quit();
  }
}

interface Snapshot {
  pages: Record<string, unknown>;
  own: Record<string, unknown>;
  catalogue: unknown[];
  recipes: Record<string, unknown>;
  report: CheckReport;
  stored: Stored;
}

async function snapshot(): Promise<Snapshot> {
  const ok = async (reply: Promise<{ status: number; body: unknown; text: string }>, what: string) => {
    const r = await reply;
    if (r.status !== 200) throw new Error(`${what}: ${r.status} ${r.text}`);
    return r.body;
  };
  const { alice, bob, carol } = seeded;
  const catalogue: unknown[] = [];
  for (let page = 1; ; page++) {
    const body = (await ok(carol.client.get(`/recipes?page=${page}&size=100`), 'catalogue')) as { items: unknown[]; hasMore: boolean };
    catalogue.push(...body.items);
    if (!body.hasMore) break;
  }
  return {
    pages: {
      alice: await ok(alice.client.get('/mypages/me'), 'alice page'),
      bob: await ok(bob.client.get('/mypages/me'), 'bob page'),
      carol: await ok(carol.client.get('/mypages/me'), 'carol page'),
    },
    own: {
      r1: await ok(alice.client.get(`/myrecipes/${recipes.r1}`), 'r1'),
      r2: await ok(alice.client.get(`/myrecipes/${recipes.r2}`), 'r2'),
      r3: await ok(bob.client.get(`/myrecipes/${recipes.r3}`), 'r3'),
    },
    catalogue,
    recipes: Object.fromEntries(
      await Promise.all(realIds().map(async (id) => [id, await ok(carol.client.get(`/recipes/${id}`), id)] as const)),
    ),
    report: await checkInvariants(checkTargets(system)),
    stored: await storedData(),
  };
}

let before: Snapshot;

async function registerSeed(who: Seeded, title: string): Promise<string> {
  // The key makes the retries (while the system warms up) create one recipe.
  const key = `seed-${randomUUID()}`;
  const created = await eventually(
    async () => {
      const res = await who.client.post('/myrecipes', sampleRecipe(title), { headers: { 'idempotency-key': key } });
      if (res.status === 201) return res.body as { recipeId: string };
      if (res.status >= 500) return undefined;
      throw new Error(`register ${title}: ${res.status} ${res.text}`);
    },
    { what: `registering ${title}`, timeoutMs: 60_000, intervalMs: 500 },
  );
  await eventually(async () => (await who.client.get(`/recipes/${created.recipeId}`)).status === 200, {
    what: `${title} recommendable`,
    timeoutMs: 30_000,
  });
  return created.recipeId;
}

test.before(async () => {
  system = await startSystem();
  const url = new URL(system.gatewayUrl);
  gateway = { host: url.hostname, port: Number(url.port) };
  const suffix = randomUUID().slice(0, 8);
  for (const name of ['alice', 'bob', 'carol'] as const) {
    const id = `${name}-${suffix}`;
    const token = await system.token(id);
    seeded[name] = { id, token, client: memberClient(system.gatewayUrl, token) };
  }
  for (const storm of STORMS) {
    stormMembers[storm] = [];
    for (let i = 0; i < 2; i++) {
      const id = `${storm}${i}-${suffix}`;
      const token = await system.token(id);
      stormMembers[storm].push({ id, token, client: memberClient(system.gatewayUrl, token) });
    }
  }
  for (const sub of ODD_VALID_SUBS) oddSubTokens.push([sub, await system.token(sub)]);
  forgedTokens = forge(system.backing.signingKey, seeded.alice.id, seeded.alice.token);

  const { alice, bob, carol } = seeded;
  recipes.r1 = await registerSeed(alice, 'Kimchi stew');
  recipes.r2 = await registerSeed(alice, 'Bibimbap');
  recipes.r3 = await registerSeed(bob, 'Japchae');
  for (const [who, id] of [
    [bob, recipes.r1],
    [carol, recipes.r1],
    [carol, recipes.r3],
  ] as const) {
    const res = await who.client.post(`/recipes/${id}/recommendations`);
    if (res.status !== 201) throw new Error(`recommend: ${res.status} ${res.text}`);
  }
  // Quiet and consistent, and stable: two snapshots a second apart agree.
  before = await eventually(
    async () => {
      const first = await snapshot();
      if (!first.report.ok) throw new Error(first.report.problems.join('; '));
      if ((first.pages.alice as { balance: number }).balance !== 2 || (first.pages.bob as { balance: number }).balance !== 1)
        return undefined;
      await sleep(1_000);
      const second = await snapshot();
      return JSON.stringify(first) === JSON.stringify(second) ? second : undefined;
    },
    { what: 'a quiet, consistent system before the storm', timeoutMs: 60_000, intervalMs: 500 },
  );
});

test.after.always(async () => {
  await system?.stop();
});

// ---------------------------------------------------------------------------
// The storms

test.serial(
  'when POST /myrecipes bodies have wrong types, missing, oversize or extra fields or control characters, then 400 and nothing is stored',
  async (t) => {
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
  const junk = fc
    .oneof(
      validRecipe.chain((r) => {
        const s = JSON.stringify(r);
        return fc.integer({ min: 1, max: s.length - 1 }).map((n) => json(s.slice(0, n)));
      }),
      fc
        .constantFrom(
          'title=Kimchi&ingredients=kimchi&steps=boil',
          '<recipe><title>Kimchi</title></recipe>',
          'title: Kimchi\ningredients: [kimchi]\nsteps: [boil]',
          "{'title': 'Kimchi'}",
          '{"title":"Kimchi",}',
          '{title:"Kimchi"}',
          'NaN',
          'undefined',
          'Infinity',
          '-',
          '[1,]',
          '{"a":1}{"b":2}',
          '"unterminated',
          '{"title":"a\u0000b"}',
          '{"title":"tab\tinside"}',
          '\u0000',
          '{"title": 01}',
          '{"title": .5}',
          '{"title": +1}',
          '{"title": 0x10}',
          '{"title": "\\x41"}',
          '{"title": "\\u12"}',
          '// comment\n{}',
          '{"__proto__": ',
          '[[[[[[[[[[',
          '}',
        )
        .map(json),
      fc.string({ unit: 'binary', minLength: 1, maxLength: 300 }).map(json),
      fc.uint8Array({ minLength: 1, maxLength: 300 }).map((a) => Buffer.from(a)),
    )
    .filter((b) => b.length > 0 && !isJson(b));
  const valid = validRecipe.map((r) => json(JSON.stringify(r)));
  const NOT_JSON_TYPES = [
    'text/plain',
    'text/plain; charset=utf-8',
    'application/x-www-form-urlencoded',
    'multipart/form-data; boundary=xyz',
    'application/xml',
    'text/json',
    'application/jsonp',
    'application/json-patch+json',
    'application/x-json',
    'application/javascript',
    'application/octet-stream',
    '*/*',
    'json',
    'application/',
    ';',
    'application/json/x',
    'application/json, text/plain',
    'image/png',
  ];
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
      fc
        .constantFrom('application/json', 'text/plain', undefined)
        .map((type): Probe => ({
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

test.serial('when ids in paths hold .., %2F, %2e%2e, ||, %00, unicode or are very long, then 400 or 404 and nothing changes', async (t) => {
  const real = realIds();
  const STATIC_IDS = [
    '..',
    '.',
    '...',
    '%2e',
    '%2e%2e',
    '%2E%2E',
    '.%2e',
    '%2e%2e%2f',
    '..%2F..%2F..%2Fetc%2Fpasswd',
    '%2e%2e%2fmyrecipes',
    '%252e%252e%252f',
    '..%5c..%5c',
    '..;',
    '....%2F%2F',
    '%2F',
    '%2f%2f',
    'a%2Fb',
    '%5C',
    '||',
    'a||b',
    'myrecipe||recipe:x',
    'recipe||recipe:x',
    '||%2F..',
    '%7C%7C',
    ':',
    '*',
    '%2A',
    '~',
    '$',
    '!',
    "'",
    '(',
    ')',
    ',',
    '=',
    '@',
    '+',
    '%00',
    'a%00b',
    '%00%00%00',
    '%0d%0aX-Injected:%20yes',
    '%0a',
    '%09',
    '%20',
    '%7f',
    '%ff',
    '%c0%af',
    '%ed%a0%80',
    '%e2%82',
    '%',
    '%%',
    '%zz',
    '%E0%A4%A',
    '%u002e',
    '%uD800',
    'null',
    'undefined',
    'NaN',
    '0',
    '-1',
    '1e309',
    'true',
    '[]',
    '{}',
    '__proto__',
    'constructor',
    'prototype',
    'hasOwnProperty',
    '00000000-0000-0000-0000-000000000000',
    'ffffffff-ffff-ffff-ffff-ffffffffffff',
    'zzzzzzzz-zzzz-zzzz-zzzz-zzzzzzzzzzzz',
  ];
  const SUFFIXES = [
    '%00',
    '%2F..',
    '%2F',
    '%2f%2e%2e',
    '..',
    '%2e',
    '.',
    '%20',
    '%09',
    '+',
    ';',
    ';x=1',
    '||x',
    '||',
    ':x',
    '.json',
    '~',
    '*',
    '%5C',
    '%23',
    '%3F',
    'x',
    '0',
    '%0d%0a',
  ];
  const PREFIXES = [
    '..%2F',
    '%2e%2e%2F',
    '%2F',
    '%20',
    '+',
    '0',
    'x',
    'recipe:',
    'myrecipe||recipe:',
    'recipe||recipe:',
    '%00',
    '||',
    '.',
    '..',
  ];
  const MANGLE: [string, (id: string) => string][] = [
    ['truncated', (id) => id.slice(0, -1)],
    ['without dashes', (id) => id.replace(/-/g, '')],
    ['in braces', (id) => `%7B${id}%7D`],
    ['as a URN', (id) => `urn:uuid:${id}`],
    ['with a non-hex digit', (id) => `g${id.slice(1)}`],
    ['doubled', (id) => id + id],
  ];
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

test.serial(
  'when bodies carry __proto__, constructor, prototype or mass-assignment fields, then 400 naming them and nothing is stored',
  async (t) => {
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
        fc.constantFrom(...stormMembers.proto),
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

test.serial('when GET /recipes has odd query strings, then 200 or 400, never 5xx', async (t) => {
  const key = fc.constantFrom(
    'page',
    'size',
    'page',
    'size',
    'sort',
    'limit',
    'offset',
    'q',
    '__proto__',
    'constructor',
    'prototype',
    'page[]',
    'size[0]',
    'Page',
    'SIZE',
    '',
    '__proto__[page]',
    'page.x',
    'toString',
    '%70age',
    'pa%00ge',
  );
  const value = fc.oneof(
    fc.constantFrom(
      '-1',
      '0',
      '1',
      '2',
      '100',
      '101',
      '10000',
      '10001',
      '1e309',
      '9'.repeat(40),
      'NaN',
      'Infinity',
      '-Infinity',
      '-0',
      '0x10',
      '0b1',
      '0o7',
      '1e2',
      '1.5',
      '',
      '%20',
      '%00',
      '%zz',
      '%',
      'null',
      'true',
      '[]',
      '{}',
      '1,2',
      '1;2',
      '%2C',
      '+1',
      ' 1'.replace(' ', '%20'),
      '١',
      '%EF%BC%91',
    ),
    fc.integer().map(String),
    fc.double().map(String),
    fc.string({ unit: 'grapheme', maxLength: 12 }).map(encodeURIComponent),
    fc.integer({ min: 100, max: 3000 }).map((n) => '9'.repeat(n)),
  );
  const pair = fc.tuple(key, value, fc.constantFrom('=', '', '==', '=')).map(([k, v, eq]) => (eq === '' ? k : `${k}${eq}${v}`));
  const query = fc.oneof(
    {
      weight: 5,
      arbitrary: fc
        .tuple(fc.array(pair, { minLength: 1, maxLength: 6 }), fc.constantFrom('&', '&', ';', '&&'), fc.constantFrom('', '', '#frag', '&'))
        .map(([pairs, sep, tail]) => ({ what: 'odd parameters', qs: `${pairs.join(sep)}${tail}` })),
    },
    // One long value, up to what the gateway's HTTP server itself accepts (16 KiB of request line and headers).
    {
      weight: 1,
      arbitrary: fc
        .tuple(fc.constantFrom('page', 'size', 'q', 'x'), fc.constantFrom('9', 'a', '%41'), fc.integer({ min: 4000, max: 15500 }))
        .map(([k, unit, n]) => ({ what: 'one long value', qs: `${k}=${unit.repeat(Math.floor(n / unit.length))}` })),
    },
  );
  const probes = fc.tuple(query, anyMemberToken('query')).map(([q, token]): Probe => ({
    label: `GET /recipes? with ${q.what} (${q.qs.length} chars)`,
    group: `GET /recipes? with ${q.what}`,
    method: 'GET',
    target: `/recipes?${q.qs}`,
    headers: [auth(token)],
    expect: [200, 400],
    check: (reply) => {
      if (reply.status !== 200) return undefined;
      const body = JSON.parse(reply.text) as { items?: unknown; page?: unknown; size?: unknown; hasMore?: unknown };
      const ok =
        Array.isArray(body.items) &&
        Number.isInteger(body.page) &&
        Number.isInteger(body.size) &&
        typeof body.hasMore === 'boolean' &&
        (body.size as number) >= 1 &&
        (body.size as number) <= 100 &&
        body.items.length <= (body.size as number);
      return ok ? undefined : `a 200 that is not a catalogue page: ${clip(reply.text, 200)}`;
    },
  }));
  await storm(t, 'query strings', 7, 25, probes);
});

test.serial(
  'when Authorization is missing, malformed, forged (alg none, wrong alg or key, bad claims) or has an invalid sub, then 401 and nothing changes',
  async (t) => {
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
    const twoKeys = fc
      .tuple(validRecipe, fc.uuid(), fc.uuid(), tokensOf('idem'))
      .map(([r, a, b, tk]): Probe => ({
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

test.serial('when odd HTTP methods or internal paths are used, then a JSON 404 or 405', async (t) => {
  const ODD_METHODS = [
    'PUT',
    'PATCH',
    'TRACE',
    'PROPFIND',
    'PROPPATCH',
    'MKCOL',
    'COPY',
    'MOVE',
    'LOCK',
    'UNLOCK',
    'SEARCH',
    'PURGE',
    'REPORT',
    'MKACTIVITY',
    'CHECKOUT',
    'MERGE',
    'M-SEARCH',
    'NOTIFY',
    'SUBSCRIBE',
    'UNSUBSCRIBE',
    'LINK',
    'UNLINK',
    'QUERY',
    'ACL',
    'BIND',
    'REBIND',
    'UNBIND',
    'MKCALENDAR',
    'SOURCE',
  ];
  const KNOWN = (id: string) => [
    '/myrecipes',
    `/myrecipes/${id}`,
    '/recipes',
    `/recipes/${id}`,
    `/recipes/${id}/recommendations`,
    '/mypages/me',
  ];
  const WRONG_METHOD = (id: string): [string, string][] => [
    ['GET', '/myrecipes'],
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
    { weight: 4, arbitrary: tokensOf('methods').map((tk) => ({ tk: tk as string | undefined })) },
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

test.serial('when text is not well-formed Unicode (lone surrogates, invalid UTF-8), then 400 and nothing is stored', async (t) => {
  const BAD: { what: string; bytes: Buffer }[] = [
    { what: 'lone high surrogate \\ud800', bytes: json('\\ud800') },
    { what: 'lone low surrogate \\udfff', bytes: json('\\udfff') },
    { what: 'reversed surrogates', bytes: json('\\udc00\\ud800') },
    { what: 'half an emoji', bytes: json('\\ud83c') },
    { what: 'byte FF', bytes: Buffer.from([0xff]) },
    { what: 'byte 80', bytes: Buffer.from([0x80]) },
    { what: 'overlong "/" (C0 AF)', bytes: Buffer.from([0xc0, 0xaf]) },
    { what: 'UTF-8 encoded surrogate (ED A0 80)', bytes: Buffer.from([0xed, 0xa0, 0x80]) },
    { what: 'truncated sequence (E2 82)', bytes: Buffer.from([0xe2, 0x82]) },
    { what: 'beyond U+10FFFF (F4 90 80 80)', bytes: Buffer.from([0xf4, 0x90, 0x80, 0x80]) },
  ];
  const probes = fc
    .tuple(fc.constantFrom(...BAD), fc.constantFrom<Field>(...FIELDS), fc.constantFrom(...ODD_UNICODE), tokensOf('unicode'))
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
  'when the HTTP parser itself rejects a request (bad method token, raw bytes in the target, control characters in headers, oversize headers, bad framing), then the answer is still a JSON 4xx',
  async (t) => {
    const tk = () => tokensOf('parser');
    const recipe = json(JSON.stringify(sampleRecipe('Framed')));
    const probes = fc.oneof(
      fc
        .tuple(fc.constantFrom('FOO', 'GETT', 'get', 'Post', 'BREW', 'DELET', 'X-CUSTOM'), tk())
        .map(([method, token]): Probe => ({
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
      fc
        .tuple(fc.constantFrom('Bad Header', 'X(): y', 'Idempotency Key', ' Leading'), tk())
        .map(([name, token]): Probe => ({
          label: 'invalid header name',
          method: 'GET',
          target: '/recipes',
          headers: [auth(token), [name, 'v']],
          expect: [400],
        })),
      fc
        .tuple(fc.integer({ min: 17 * 1024, max: 40 * 1024 }), tk())
        .map(([n, token]): Probe => ({
          label: 'headers over 16 KiB',
          method: 'GET',
          target: '/recipes',
          headers: [auth(token), ['X-Padding', 'p'.repeat(n)]],
          expect: [400, 431],
        })),
      fc
        .tuple(fc.integer({ min: 17 * 1024, max: 40 * 1024 }), tk())
        .map(([n, token]): Probe => ({
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
      fc
        .tuple(fc.constantFrom('abc', '-1', '1, 2', '0x10', '1e3'), tk())
        .map(([length, token]): Probe => ({
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

// ---------------------------------------------------------------------------
// After the storm

function keyedDiff(what: string, before: Keyed, after: Keyed): string[] {
  const was = new Map(before);
  const now = new Map(after);
  const added = after.filter(([k]) => !was.has(k));
  const removed = before.filter(([k]) => !now.has(k));
  const changed = after.filter(([k, v]) => was.has(k) && was.get(k) !== v);
  const sample = (entries: Keyed, show: (e: [string, string]) => string) =>
    entries.slice(0, 3).map(show).join('; ') + (entries.length > 3 ? '; …' : '');
  return [
    ...(added.length ? [`${what}: ${added.length} added, e.g. ${sample(added, ([k, v]) => `${k} = ${clip(v, 200)}`)}`] : []),
    ...(removed.length ? [`${what}: ${removed.length} removed, e.g. ${sample(removed, ([k]) => k)}`] : []),
    ...(changed.length
      ? [`${what}: ${changed.length} changed, e.g. ${sample(changed, ([k, v]) => `${k}: ${clip(was.get(k)!, 120)} → ${clip(v, 120)}`)}`]
      : []),
  ];
}

test.serial(
  'when the storm is over, then every stored datum, every page and the catalogue are unchanged and the invariants hold',
  async (t) => {
    const sent = reports.reduce((n, r) => n + r.sent, 0);
    const ms = reports.reduce((n, r) => n + r.ms, 0);
    const total = new Map<string, number>();
    for (const r of reports) for (const [status, n] of r.histogram) total.set(status, (total.get(status) ?? 0) + n);
    t.log(`${sent} requests in ${(ms / 1000).toFixed(1)} s over ${reports.length} storms; statuses: ${histogramText(total)}`);
    for (const r of reports) t.log(`  ${r.name}: ${r.sent} in ${(r.ms / 1000).toFixed(1)} s: ${histogramText(r.histogram)}`);

    await sleep(2_000); // let anything the storm might have queued (events) arrive
    const after = await snapshot();
    const changes = [
      ...keyedDiff('myrecipe state (PostgreSQL)', before.stored.myrecipeState, after.stored.myrecipeState),
      ...keyedDiff('recipe state (Redis)', before.stored.catalogueStore, after.stored.catalogueStore),
      ...keyedDiff('mypage read model', before.stored.readModel, after.stored.readModel),
    ];
    for (const [name, page] of Object.entries(after.pages)) {
      if (JSON.stringify(page) !== JSON.stringify(before.pages[name]))
        changes.push(`${name}'s page changed: ${clip(JSON.stringify(page), 300)}`);
    }
    for (const [name, recipe] of Object.entries(after.own)) {
      if (JSON.stringify(recipe) !== JSON.stringify(before.own[name]))
        changes.push(`seeded recipe ${name} changed: ${clip(JSON.stringify(recipe), 300)}`);
    }
    for (const [id, recipe] of Object.entries(after.recipes)) {
      if (JSON.stringify(recipe) !== JSON.stringify(before.recipes[id]))
        changes.push(`GET /recipes/${id} changed: ${clip(JSON.stringify(recipe), 300)}`);
    }
    if (JSON.stringify(after.catalogue) !== JSON.stringify(before.catalogue)) {
      const ids = new Set(before.catalogue.map((r) => (r as { recipeId: string }).recipeId));
      const added = after.catalogue.filter((r) => !ids.has((r as { recipeId: string }).recipeId));
      changes.push(
        `the catalogue changed: ${before.catalogue.length} → ${after.catalogue.length} items${added.length ? `, e.g. ${clip(JSON.stringify(added[0]), 200)}` : ''}`,
      );
    }
    if (!after.report.ok) changes.push(`invariants: ${after.report.problems.join('; ')}`);
    const { problems: _p, ...counts } = after.report;
    const { problems: _q, ...countsBefore } = before.report;
    if (JSON.stringify(counts) !== JSON.stringify(countsBefore))
      changes.push(`the invariant checker counted ${JSON.stringify(countsBefore)} before, ${JSON.stringify(counts)} after`);
    for (const storm of STORMS) {
      for (const member of stormMembers[storm]) {
        const page = await member.client.get('/mypages/me');
        if (page.status !== 200 || JSON.stringify(page.body) !== JSON.stringify({ memberId: member.id, balance: 0, recipes: [] })) {
          const titles = (page.body?.recipes ?? []).map((r: { title: string }) => r.title);
          changes.push(
            `${member.id} (used by the ${storm} storm) no longer has an empty page: ${page.status}, ${titles.length} recipes, e.g. ${clip(JSON.stringify(titles.slice(0, 3)), 200)}`,
          );
        }
      }
    }
    if (JSON.stringify(after).includes(CANARY)) changes.push('a polluted value is shown somewhere');
    t.deepEqual(changes, [], 'nothing the storm sent changed anything');
  },
);
