import test from 'ava';
import { confirmDeletion, isLive, placeholder, recommend, recommendedEvent, register, releaseHold, withdraw, type CatalogueRecipe } from '../src/domain.js';

const rules = { pointValue: 2 };
const now = new Date('2026-01-01T00:00:00Z');
const live: CatalogueRecipe = { ...placeholder('r1', 'alice'), title: 'Japchae', registeredAt: now.toISOString() };
const held = (recipe: CatalogueRecipe, attempt: string) => {
  const outcome = withdraw(recipe, attempt, now);
  if (!outcome.held || !outcome.recipe) throw new Error('not held');
  return outcome.recipe;
};

test('a recommendation adds the point value once per member', (t) => {
  const first = recommend(live, 'bob', now, rules);
  t.is(first.kind, 'recommended');
  if (first.kind !== 'recommended') return;
  t.is(first.recipe.points, 2);
  t.is(recommend(first.recipe, 'bob', now, rules).kind, 'duplicate');
  const second = recommend(first.recipe, 'carol', now, rules);
  t.is(second.kind === 'recommended' && second.recipe.points, 4);
});

test('the Recommended event is built from the record: the points it earned and the total right after it, for every copy alike', (t) => {
  let recipe = live;
  for (const [member, pointValue] of [['bob', 2], ['carol', 3], ['dave', 2]] as const) {
    const outcome = recommend(recipe, member, now, { pointValue });
    if (outcome.kind === 'recommended') recipe = outcome.recipe;
  }
  t.like(recommendedEvent(recipe, 'carol'), { recipeId: 'r1', authorId: 'alice', recommenderId: 'carol', points: 3, recipePoints: 5 });
  t.like(recommendedEvent(recipe, 'dave'), { points: 2, recipePoints: 7 });
  t.is(recommendedEvent(recipe, 'erin'), undefined, 'no event for a recommendation that never happened');
});

test('nobody recommends their own recipe', (t) => {
  t.is(recommend(live, 'alice', now, rules).kind, 'own-recipe');
});

test('unknown, unregistered, held and deleted recipes are not found', (t) => {
  t.is(recommend(undefined, 'bob', now, rules).kind, 'not-found');
  t.is(recommend(placeholder('r1', 'alice'), 'bob', now, rules).kind, 'not-found');
  t.is(recommend(held(live, 'a1'), 'bob', now, rules).kind, 'not-found');
  t.is(recommend(confirmDeletion(live, now.toISOString()), 'bob', now, rules).kind, 'not-found');
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
  t.deepEqual(withdraw(one, 'a1', now), { held: true, pointsRevoked: 0 }, 'the same attempt again: no change');
  const released = releaseHold(one, 'a1')!;
  t.deepEqual(withdraw(released, 'a1', now), { held: false }, 'a late withdrawal of a released attempt is refused');
  t.true(isLive(released));
  t.deepEqual(withdraw(confirmDeletion(live, now.toISOString())!, 'a9', now), { held: true, pointsRevoked: 0 }, 'a deleted recipe stays withdrawn');
});

test('Registered fills in a placeholder created by an earlier deletion and keeps it', (t) => {
  const early = confirmDeletion(placeholder('r1', 'alice'), now.toISOString())!;
  const registered = register(early, { title: 'Japchae', registeredAt: now.toISOString() })!;
  t.is(registered.title, 'Japchae');
  t.false(isLive(registered));
  t.is(register(live, { title: 'Other', registeredAt: now.toISOString() }), undefined, 'a duplicate changes nothing');
});
