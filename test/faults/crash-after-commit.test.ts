import test from 'ava';
import { memberClient, sampleRecipe } from '../support/client.js';
import { eventually } from '../support/processes.js';
import type { RunningService } from '../support/dapr.js';
import { useSystem } from '../support/use-system.js';

// myrecipe dies right after its write committed, before the outbox relay
// published the event: a faulty link between the app and its sidecar lets
// the write through and kills the app before the answer comes back.
const system = useSystem(test, { apps: { myrecipe: { linkSidecar: true } } });

test('when myrecipe is killed between saving a recipe and publishing its event, then the event still goes out (outbox) and a retry finds exactly one recipe', async (t) => {
  const alice = memberClient(system().gatewayUrl, await system().token('alice'));
  // Whichever replica takes the registration dies.
  let killed: RunningService | undefined;
  for (const myrecipe of system().replicas.myrecipe) {
    myrecipe.sidecarLink!.setRule(async (req) => {
      if (req.method === 'POST' && req.url.startsWith('/v1.0/state/myrecipe-store') && !killed) {
        killed = myrecipe;
        return { kind: 'lose-reply', after: () => myrecipe.stopApp('SIGKILL') };
      }
      return { kind: 'pass' };
    });
  }

  const key = 'crash-after-commit-1';
  const first = await alice.post('/myrecipes', sampleRecipe('Survives a crash'), { headers: { 'idempotency-key': key } });
  t.truthy(killed, 'the app died right after its commit');
  t.true(first.status >= 500, `the member got no success: ${first.status} ${first.text}`);
  t.is(
    killed!.sidecarLink!.seen.filter((r) => r.includes('/publish/pubsub/Registered')).length,
    0,
    'the app died before any event was published',
  );

  for (const myrecipe of system().replicas.myrecipe) myrecipe.sidecarLink!.setRule(undefined);
  await killed!.startApp();
  const retried = await eventually(
    async () => {
      const res = await alice.post('/myrecipes', sampleRecipe('Survives a crash'), { headers: { 'idempotency-key': key } });
      return res.status === 201 ? res : undefined;
    },
    { what: 'the retried registration', timeoutMs: 30_000, intervalMs: 500 },
  );
  const { recipeId } = retried.body;

  // The outbox relay published Registered: the catalogue and my page know the recipe.
  await eventually(async () => (await alice.get(`/recipes/${recipeId}`)).status === 200, {
    what: 'recipe in the catalogue',
    timeoutMs: 30_000,
  });
  const page = await eventually(
    async () => {
      const p = (await alice.get('/mypages/me')).body;
      return p.recipes.length > 0 ? p : undefined;
    },
    { what: 'recipe on my page', timeoutMs: 30_000 },
  );
  t.deepEqual(
    page.recipes.map((r: { recipeId: string }) => r.recipeId),
    [recipeId],
    'exactly one recipe',
  );
  const again = await alice.post('/myrecipes', sampleRecipe('Survives a crash'), { headers: { 'idempotency-key': key } });
  t.is(again.body.recipeId, recipeId);
});
