import test from 'ava';
import { idempotencyKeySchema, newRecipeSchema } from '../src/index.js';

const valid = { title: 'Bibimbap', ingredients: ['rice', 'egg'], steps: ['Mix everything.'] };

test('a well-formed recipe is accepted, trimmed', (t) => {
  t.deepEqual(newRecipeSchema.parse({ ...valid, title: '  Bibimbap ' }), valid);
});

test('unknown fields are rejected, so nothing like points or memberId is ever stored from a body', (t) => {
  for (const extra of [{ points: 99 }, { memberId: 'mallory' }, { recipeId: 'x' }]) {
    t.false(newRecipeSchema.safeParse({ ...valid, ...extra }).success, JSON.stringify(extra));
  }
});

test('sizes are bounded and every list needs an entry', (t) => {
  const cases = [
    { ...valid, title: '' },
    { ...valid, title: 'x'.repeat(201) },
    { ...valid, ingredients: [] },
    { ...valid, steps: Array(101).fill('step') },
    { ...valid, steps: ['x'.repeat(2001)] },
    { ...valid, title: 'two\nlines' },
    { ...valid, ingredients: ['nul\u0000byte'] },
    { ...valid, title: 42 },
  ];
  for (const input of cases) t.false(newRecipeSchema.safeParse(input).success, JSON.stringify(input).slice(0, 80));
});

test('an Idempotency-Key is 1-128 visible ASCII characters', (t) => {
  t.true(idempotencyKeySchema.safeParse('order-42_retry').success);
  for (const key of ['', 'x'.repeat(129), 'with space', 'tab\t', 'ünïcode']) t.false(idempotencyKeySchema.safeParse(key).success, key);
});
