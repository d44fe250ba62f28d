import test from 'ava';
import { applyRecommendation, balanceOf, recipeIdFor, withoutRecipe } from '../src/domain.js';

test('the same member and Idempotency-Key always give the same UUID; another member gets another', (t) => {
  const id = recipeIdFor('alice', 'key-1');
  t.is(recipeIdFor('alice', 'key-1'), id);
  t.not(recipeIdFor('bob', 'key-1'), id);
  t.not(recipeIdFor('alice', 'key-2'), id);
  t.regex(id, /^[0-9a-f]{8}-[0-9a-f]{4}-5[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/);
  t.not(recipeIdFor('alice', undefined), recipeIdFor('alice', undefined));
});

test('a recommendation raises a recipe to its new total; duplicates and late older events change nothing', (t) => {
  let ledger = { memberId: 'alice', points: {} as Record<string, number> };
  ledger = applyRecommendation(ledger, 'r1', 2)!;
  t.deepEqual(ledger.points, { r1: 2 });
  t.is(applyRecommendation(ledger, 'r1', 2), undefined, 'duplicate');
  t.is(applyRecommendation(ledger, 'r1', 1), undefined, 'older event arriving late');
  ledger = applyRecommendation(ledger, 'r2', 3)!;
  t.is(balanceOf(ledger), 5);
  t.is(balanceOf(withoutRecipe(ledger, 'r1')), 3);
});
