import test from 'ava';
import { href, parseRoute } from '../src/router.js';

test('hash routes', (t) => {
  t.deepEqual(parseRoute(''), { page: 'catalogue', q: '' });
  t.deepEqual(parseRoute('#/'), { page: 'catalogue', q: '' });
  t.deepEqual(parseRoute('#/?q=kimchi%20stew'), { page: 'catalogue', q: 'kimchi stew' });
  t.deepEqual(parseRoute('#/recipes/3f1c2a4e-8d7b-4c1e-9f0a-1b2c3d4e5f60'), {
    page: 'recipe',
    recipeId: '3f1c2a4e-8d7b-4c1e-9f0a-1b2c3d4e5f60',
  });
  t.deepEqual(parseRoute('#/new'), { page: 'new' });
  t.deepEqual(parseRoute('#/me'), { page: 'me' });
  t.deepEqual(parseRoute('#/sign-in'), { page: 'sign-in' });
  t.deepEqual(parseRoute('#/nope'), { page: 'not-found' });
  t.deepEqual(parseRoute('#/recipes/a/b'), { page: 'not-found' });
});

test('links parse back to their routes', (t) => {
  t.deepEqual(parseRoute(href.catalogue('김치 & tofu')), { page: 'catalogue', q: '김치 & tofu' });
  t.deepEqual(parseRoute(href.recipe('r/1')), { page: 'recipe', recipeId: 'r/1' });
});
