import test from 'ava';
import {
  BUCKETS,
  bucketOf,
  confirmDeletion,
  copiedTotals,
  isLive,
  withCopy,
  placeholder,
  recommend,
  recommendedEvent,
  register,
  releaseHold,
  stamp,
  totals,
  withdraw,
  type Bucket,
  type RecipeHead,
} from '../src/domain.js';

const rules = { pointValue: 2 };
const now = new Date('2026-01-01T00:00:00Z');
const live: RecipeHead = { ...placeholder('r1', 'alice'), title: 'Japchae', registeredAt: now.toISOString() };
const held = (head: RecipeHead, attempt: string) => {
  const outcome = withdraw(head, attempt, now);
  if (!outcome.held || !outcome.head) throw new Error('not held');
  return outcome.head;
};
const recommended = (head: RecipeHead, bucket: Bucket | undefined, member: string, pointValue = 2) => {
  const outcome = recommend(head, bucket, member, now, { pointValue });
  if (outcome.kind !== 'recommended') throw new Error(outcome.kind);
  return outcome.bucket;
};

test('members spread over the buckets, always to the same one', (t) => {
  const used = new Set(Array.from({ length: 1_000 }, (_, i) => bucketOf(`member-${i}`)));
  t.is(used.size, BUCKETS);
  t.is(bucketOf('alice'), bucketOf('alice'));
});

test('a recommendation adds the point value to its bucket once per member', (t) => {
  const first = recommended(live, undefined, 'bob');
  t.like(first, { points: 2, epoch: live.epoch });
  t.is(recommend(live, first, 'bob', now, rules).kind, 'duplicate');
  const second = recommended(live, first, 'carol');
  t.is(second.points, 4);
  t.deepEqual(totals(live, [second, undefined]), { points: 4, recommendations: 2 });
});

test('the Recommended event carries the points it earned and a total read after it', (t) => {
  const bucket = recommended(live, recommended(live, undefined, 'bob'), 'carol', 3);
  t.like(recommendedEvent(live, bucket, 'carol', 5), {
    recipeId: 'r1',
    authorId: 'alice',
    recommenderId: 'carol',
    points: 3,
    recipePoints: 5,
  });
  t.is(recommendedEvent(live, bucket, 'erin', 5), undefined, 'no event for a recommendation that never happened');
});

test('nobody recommends their own recipe', (t) => {
  t.is(recommend(live, undefined, 'alice', now, rules).kind, 'own-recipe');
});

test('unknown, unregistered, held and deleted recipes are not found', (t) => {
  t.is(recommend(undefined, undefined, 'bob', now, rules).kind, 'not-found');
  t.is(recommend(placeholder('r1', 'alice'), undefined, 'bob', now, rules).kind, 'not-found');
  t.is(recommend(held(live, 'a1'), undefined, 'bob', now, rules).kind, 'not-found');
  t.is(recommend(confirmDeletion(live, now.toISOString()), undefined, 'bob', now, rules).kind, 'not-found');
});

test('a hold raises the epoch; a bucket stamped with it refuses a recommendation that read the head before the hold', (t) => {
  const one = held(live, 'a1');
  t.is(one.epoch, live.epoch + 1);
  const stamped = stamp(recommended(live, undefined, 'bob'), one.epoch)!;
  t.is(stamped.epoch, one.epoch);
  t.is(recommend(live, stamped, 'carol', now, rules).kind, 'stale', 'the head it read is older than the bucket: read again');
  t.is(stamp(stamped, one.epoch), undefined, 'stamping twice changes nothing');
  const released = releaseHold(one, 'a1')!;
  t.is(recommended(released, stamped, 'carol').points, 4, 'after the release it goes on');
});

test('a hold lasts until it is released or the deletion is confirmed: never by time alone', (t) => {
  const one = held(live, 'a1');
  t.false(isLive(one));
  const two = held(one, 'a2');
  t.false(isLive(releaseHold(two, 'a1')!), 'another attempt still holds it');
  t.true(isLive(releaseHold(releaseHold(two, 'a1')!, 'a2')!), 'released by every attempt: recommendable again');
  const deleted = confirmDeletion(two, now.toISOString())!;
  t.false(isLive(deleted));
  t.is(releaseHold(deleted, 'a1'), undefined, 'a confirmed deletion is final');
  t.is(confirmDeletion(deleted, now.toISOString()), undefined);
});

test('a withdrawal is idempotent per attempt, and refused for an attempt whose hold was released', (t) => {
  const one = held(live, 'a1');
  t.deepEqual(withdraw(one, 'a1', now), { held: true }, 'the same attempt again: no change');
  const released = releaseHold(one, 'a1')!;
  t.deepEqual(withdraw(released, 'a1', now), { held: false }, 'a late withdrawal of a released attempt is refused');
  t.true(isLive(released));
  t.deepEqual(withdraw(confirmDeletion(live, now.toISOString())!, 'a9', now), { held: true }, 'a deleted recipe stays withdrawn');
});

test('Registered fills in a placeholder created by an earlier deletion and keeps it', (t) => {
  const early = confirmDeletion(placeholder('r1', 'alice'), now.toISOString())!;
  const registered = register(early, { title: 'Japchae', registeredAt: now.toISOString() })!;
  t.is(registered.title, 'Japchae');
  t.false(isLive(registered));
  t.is(register(live, { title: 'Other', registeredAt: now.toISOString() }), undefined, 'a duplicate changes nothing');
});

test("the head's copies of its buckets' totals only grow, and a fresh bucket counts in place of its copy", (t) => {
  const b1 = recommended(live, undefined, 'bob');
  const b2 = recommended(live, b1, 'carol');
  const k = bucketOf('bob');
  const once = withCopy(live, k, b2)!;
  t.deepEqual(copiedTotals(once), { points: 4, recommendations: 2 });
  t.is(withCopy(once, k, b1), undefined, 'an older copy changes nothing');
  t.is(withCopy(once, k, b2), undefined, 'the same copy changes nothing');
  const b3 = recommended(live, b2, 'dave');
  t.deepEqual(copiedTotals(once, new Map([[k, b3]])), { points: 6, recommendations: 3 }, 'a bucket just read counts as it is');
});
