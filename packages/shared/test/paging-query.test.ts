import test from 'ava';
import { catalogueQuerySchema, myPageQuerySchema, parseInput } from '../src/index.js';

const problems = (query: Record<string, unknown>) => {
  const result = catalogueQuerySchema.safeParse(query);
  return result.success ? [] : result.error.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
};

test('the catalogue query: keyset paging, search and the capped OFFSET form; each mistake named', (t) => {
  t.deepEqual(catalogueQuerySchema.parse({}), {});
  t.deepEqual(catalogueQuerySchema.parse({ limit: '5', q: '  김치 stew ', ingredient: 'Tofu' }), {
    limit: 5,
    q: '김치 stew',
    ingredient: 'Tofu',
  });
  t.deepEqual(catalogueQuerySchema.parse({ page: '50', size: '20' }), { page: 50, size: 20 });
  t.deepEqual(problems({ page: '51', size: '20' }), ['page: page * size must be at most 1000: page further with limit and cursor']);
  t.deepEqual(problems({ page: '2', q: 'x' }), ['page: page and size (deprecated) cannot be combined with limit, cursor, q or ingredient']);
  t.true(problems({ limit: '0' })[0]?.startsWith('limit:'));
  t.true(problems({ limit: '101' })[0]?.startsWith('limit:'));
  t.true(problems({ q: '' })[0]?.startsWith('q:'));
  t.true(problems({ q: 'a\u0000b' })[0]?.startsWith('q:'));
  t.true(problems({ ingredient: 'x'.repeat(201) })[0]?.startsWith('ingredient:'));
  t.true(problems({ cursor: 'not a cursor' })[0]?.startsWith('cursor:'));
  t.true(problems({ q: ['a', 'b'] })[0]?.startsWith('q:'), 'a repeated parameter');
  t.true(problems({ sort: 'points' })[0]?.includes('sort'));
});

test('my page query: limit 20 unless given; a bad one is a 400 naming it', (t) => {
  t.deepEqual(myPageQuerySchema.parse({}), { limit: 20 });
  const err = t.throws(() => parseInput(myPageQuerySchema, { limit: 'all' }, 'query'));
  t.like(err, { status: 400, code: 'REQUEST.INVALID' });
  t.regex(err?.message ?? '', /limit/);
});
