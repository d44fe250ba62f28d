import test from 'ava';
import { en } from '../src/messages/en.js';
import { ko } from '../src/messages/ko.js';

// ko.ts is typed by en.ts's keys (tsc fails on a missing one); this catches what types cannot: empty texts, and
// functions that lost their argument.
test('Korean has every English message, none empty, functions taking the same arguments', (t) => {
  t.deepEqual(Object.keys(ko).sort(), Object.keys(en).sort());
  for (const [key, value] of Object.entries(en)) {
    const translated = (ko as Record<string, unknown>)[key];
    t.is(typeof translated, typeof value, key);
    if (typeof value === 'string') t.true(value.length > 0 && (translated as string).length > 0, key);
    if (typeof value === 'function') t.is((translated as (...a: unknown[]) => string).length, value.length, key);
  }
});

test('messages with numbers and names put them in', (t) => {
  t.is(en.updatedAgo(3), 'Updated 3 s ago');
  t.is(ko.updatedAgo(3), '3초 전 갱신');
  t.is(en.pointsCount(1), '1 point');
  t.is(en.pointsCount(2), '2 points');
  t.regex(ko.retryOutcomeUnknown(5), /5초/);
});
