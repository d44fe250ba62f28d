import test from 'ava';
import { memberClient, sampleRecipe } from '../support/client.js';
import { eventually } from '../support/processes.js';
import { useSystem } from '../support/use-system.js';

const system = useSystem(test);

test('when a member registers a recipe through the gateway, then the catalogue, their page and the recipe page show it within a second', async (t) => {
  const alice = memberClient(system().gatewayUrl, await system().token('alice'));
  const created = await alice.post('/myrecipes', sampleRecipe('Skeleton stew'));
  t.is(created.status, 201, created.text);
  const { recipeId } = created.body;

  const started = Date.now();
  const listed = await eventually(
    async () => {
      // Three readers, each fed by its own subscription to Registered (mypage's
      // read model for the first two, the recipe service for the third): one
      // having it says nothing about the others.
      const [catalogue, page, recipe] = await Promise.all([
        alice.get('/recipes'),
        alice.get('/mypages/me'),
        alice.get(`/recipes/${recipeId}`),
      ]);
      const inCatalogue = catalogue.body.items.some((r: { recipeId: string }) => r.recipeId === recipeId);
      const onPage = page.body.recipes.some((r: { recipeId: string }) => r.recipeId === recipeId);
      return inCatalogue && onPage && recipe.status === 200
        ? { catalogue: catalogue.body, page: page.body, recipe: recipe.body }
        : undefined;
    },
    { what: 'recipe in catalogue, my page and the recipe page', timeoutMs: 10_000, intervalMs: 20 },
  );
  t.true(Date.now() - started < 1_000, `took ${Date.now() - started} ms`);
  t.is(listed.page.memberId, 'alice');
  t.is(listed.page.balance, 0);
  t.like(
    listed.catalogue.items.find((r: { recipeId: string }) => r.recipeId === recipeId),
    { title: 'Skeleton stew', points: 0 },
  );

  t.like(listed.recipe, { recipeId, title: 'Skeleton stew', points: 0 });
  // Authors are shown by their display name, never by their login subject.
  t.truthy(listed.recipe.author?.displayName);
  t.false(JSON.stringify([listed.recipe, listed.catalogue]).includes('"alice"'));
});

test('every service answers /healthz and /readyz, and its sidecar is healthy', async (t) => {
  for (const service of Object.values(system().services)) {
    for (const path of ['/healthz', '/readyz']) {
      const res = await fetch(`${service.appUrl}${path}`);
      t.is(res.status, 200, `${service.appId}${path}`);
    }
    const sidecar = await fetch(`${service.daprUrl}/v1.0/healthz`);
    t.is(sidecar.status, 204, `${service.appId} sidecar`);
  }
});
