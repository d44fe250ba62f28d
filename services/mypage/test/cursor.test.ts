import test from 'ava';
import { AppError } from '@recipe/shared';
import { z } from 'zod';
import { createCursors } from '../src/cursor.js';

const position = z.object({ after: z.tuple([z.string(), z.uuid()]) });
const sample = { after: ['2026-01-01 00:00:00.123456+00', '3f1c2a4e-8d7b-4c1e-9f0a-1b2c3d4e5f60'] as [string, string] };

const refusal = (t: import('ava').ExecutionContext, fn: () => unknown, message: RegExp) => {
  const err = t.throws(fn, { instanceOf: AppError });
  t.is(err?.status, 400);
  t.regex(err?.message ?? '', message);
  t.deepEqual((err?.details as { field: string }[])[0]?.field, 'cursor');
};

test('a cursor opens to the position it sealed, on any replica sharing the token', (t) => {
  const cursor = createCursors('token-of-mypage').seal('mypage\nalice', sample);
  t.regex(cursor, /^[A-Za-z0-9_-]+\.[A-Za-z0-9_-]+$/);
  t.deepEqual(createCursors('token-of-mypage').open('mypage\nalice', cursor, position), sample);
});

test('when a cursor is changed anywhere, sealed with another key, or taken to another listing, then it is a 400', (t) => {
  const cursors = createCursors('token-of-mypage');
  const cursor = cursors.seal('mypage\nalice', sample);
  const [body, tag] = cursor.split('.') as [string, string];
  const forged = Buffer.from(JSON.stringify({ at: Math.floor(Date.now() / 1000), position: { after: ['2030-01-01', sample.after[1]] } }));
  const flip = (s: string, i: number) => s.slice(0, i) + (s[i] === 'A' ? 'B' : 'A') + s.slice(i + 1);
  for (const bad of [
    `${flip(body, 3)}.${tag}`,
    `${body}.${flip(tag, 0)}`,
    `${forged.toString('base64url')}.${tag}`,
    `${body}.${tag}.x`,
    body,
    createCursors('another-token').seal('mypage\nalice', sample),
  ])
    refusal(t, () => cursors.open('mypage\nalice', bad, position), /not a cursor this listing returned/);
  refusal(t, () => cursors.open('mypage\nbob', cursor, position), /not a cursor this listing returned/);
  refusal(t, () => cursors.open('mypage\nalice', cursors.seal('mypage\nalice', { after: 'x' }), position), /not a cursor/);
});

test('without a token the key is random per process: a cursor opens only where it was made', (t) => {
  const cursor = createCursors(undefined).seal('s', sample);
  t.throws(() => createCursors(undefined).open('s', cursor, position), { instanceOf: AppError });
});

test('when a cursor is older than its listing allows, then it is a 400 saying to start again', (t) => {
  let now = 1_000_000_000_000;
  const cursors = createCursors('k', () => now);
  const cursor = cursors.seal('s', sample);
  now += 3_599_000;
  t.deepEqual(cursors.open('s', cursor, position, 3600), sample);
  now += 2_000;
  refusal(t, () => cursors.open('s', cursor, position, 3600), /expired: start again/);
});
