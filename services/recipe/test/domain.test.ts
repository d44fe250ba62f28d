import test from 'ava';
import { cancelWithdrawal, confirmWithdrawal, isLive, placeholder, recommend, register, withdraw, type CatalogueRecipe } from '../src/domain.js';

const rules = { pointValue: 2, holdMs: 30_000 };
const now = new Date('2026-01-01T00:00:00Z');
const later = (ms: number) => new Date(now.getTime() + ms);
const live: CatalogueRecipe = { ...placeholder('r1', 'alice'), title: 'Japchae', registeredAt: now.toISOString() };

test('a recommendation adds the point value once per member and reports the new total', (t) => {
  const first = recommend(live, 'bob', now, rules);
  t.is(first.kind, 'recommended');
  if (first.kind !== 'recommended') return;
  t.is(first.recipe.points, 2);
  t.like(first.event, { recipeId: 'r1', authorId: 'alice', recommenderId: 'bob', points: 2, recipePoints: 2 });
  t.is(recommend(first.recipe, 'bob', now, rules).kind, 'duplicate');
  const second = recommend(first.recipe, 'carol', now, rules);
  t.is(second.kind === 'recommended' && second.recipe.points, 4);
});

test('nobody recommends their own recipe', (t) => {
  t.is(recommend(live, 'alice', now, rules).kind, 'own-recipe');
});

test('unknown, unregistered and withdrawn recipes are not found', (t) => {
  t.is(recommend(undefined, 'bob', now, rules).kind, 'not-found');
  t.is(recommend(placeholder('r1', 'alice'), 'bob', now, rules).kind, 'not-found');
  t.is(recommend(withdraw(live, now), 'bob', now, rules).kind, 'not-found');
});

test('a withdrawal holds the recipe until confirmed, and lapses by itself after the hold time', (t) => {
  const held = withdraw(live, now)!;
  t.false(isLive(held, later(29_000), rules));
  t.true(isLive(held, later(30_001), rules), 'an unconfirmed hold lapses');
  const confirmed = confirmWithdrawal(held, later(1_000).toISOString())!;
  t.false(isLive(confirmed, later(3_600_000), rules), 'a confirmed withdrawal is final');
  t.is(withdraw(confirmed, now), undefined, 'withdrawing again changes nothing');
  t.is(cancelWithdrawal(confirmed), undefined, 'a confirmed withdrawal cannot be cancelled');
  t.true(isLive(cancelWithdrawal(held)!, now, rules), 'cancelling releases the hold');
});

test('Registered fills in a placeholder created by an earlier withdrawal and keeps the withdrawal', (t) => {
  const early = confirmWithdrawal(placeholder('r1', 'alice'), now.toISOString())!;
  const registered = register(early, { title: 'Japchae', registeredAt: now.toISOString() })!;
  t.is(registered.title, 'Japchae');
  t.false(isLive(registered, now, rules));
  t.is(register(live, { title: 'Other', registeredAt: now.toISOString() }), undefined, 'a duplicate changes nothing');
});
