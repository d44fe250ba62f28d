import test from 'ava';
import { memberClient, sampleRecipe } from '../support/client.js';
import { eventually } from '../support/processes.js';
import { useSystem } from '../support/use-system.js';

// The synchronous point deduction when the recommendation service is down.
const system = useSystem(test);

test('when the recommendation service is down, a delete is 503 with Retry-After and nothing changes; after it is back, the delete works', async (t) => {
  const alice = memberClient(system().gatewayUrl, await system().token('alice'));
  const bob = memberClient(system().gatewayUrl, await system().token('bob'));
  const { body: created } = await alice.post('/myrecipes', sampleRecipe('Survivor'));
  await eventually(async () => (await bob.post(`/recipes/${created.recipeId}/recommendations`)).status === 201, { what: 'recommended' });
  await eventually(async () => (await alice.get('/mypages/me')).body.balance === 1, { what: 'balance 1' });

  await system().all('recipe', (r) => r.stopApp('SIGKILL'));
  const refused = await alice.delete(`/myrecipes/${created.recipeId}`);
  t.is(refused.status, 503);
  t.truthy(Number(refused.headers.get('retry-after')) > 0);
  t.regex(refused.body.error.message, /nothing was changed/);
  t.is((await alice.get(`/myrecipes/${created.recipeId}`)).body.points, 1);
  t.is((await alice.get('/mypages/me')).body.balance, 1);

  // Registration does not depend on the recommendation service.
  t.is((await alice.post('/myrecipes', sampleRecipe('Registered while recipe is down'))).status, 201);

  await system().all('recipe', (r) => r.startApp());
  const deleted = await eventually(
    async () => {
      const res = await alice.delete(`/myrecipes/${created.recipeId}`);
      return res.status === 200 ? res : undefined;
    },
    { what: 'delete after recovery', timeoutMs: 30_000, intervalMs: 500 },
  );
  t.deepEqual(deleted.body, { recipeId: created.recipeId, pointsRevoked: 1 });
  await eventually(async () => (await alice.get('/mypages/me')).body.balance === 0, { what: 'balance 0' });
  const page = await eventually(
    async () => {
      const p = (await alice.get('/mypages/me')).body;
      return p.recipes.length === 1 ? p : undefined;
    },
    { what: 'the recipe registered during the outage is listed' },
  );
  t.is(page.recipes[0].title, 'Registered while recipe is down');
});
