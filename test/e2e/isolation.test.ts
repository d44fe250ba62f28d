import { randomUUID } from 'node:crypto';
import test from 'ava';
import { memberClient, sampleRecipe, type MemberClient } from '../support/client.js';
import { eventually } from '../support/processes.js';
import { useSystem } from '../support/use-system.js';

// Nothing one member sends may make the system refuse other members: their
// 409s, 404s and 400s are answers, not failures of a service, and must never
// count towards a circuit breaker that everyone shares.
const system = useSystem(test, { replicas: 2 });

const member = async (name: string): Promise<MemberClient> =>
  memberClient(system().gatewayUrl, await system().token(`${name}-${randomUUID().slice(0, 8)}`));

test.serial('a member reusing an Idempotency-Key (409 after 409) does not stop anyone else from registering', async (t) => {
  const [mallory, alice] = await Promise.all([member('mallory'), member('alice')]);
  const key = `reused-${randomUUID()}`;
  t.is((await mallory.post('/myrecipes', sampleRecipe('First'), { headers: { 'idempotency-key': key } })).status, 201);
  for (let i = 0; i < 8; i++) {
    const reused = await mallory.post('/myrecipes', sampleRecipe(`Other ${i}`), { headers: { 'idempotency-key': key } });
    t.is(reused.status, 409, reused.text);
  }
  const res = await alice.post('/myrecipes', sampleRecipe('Alice registers'));
  t.is(res.status, 201, res.text);
});

test.serial("members asking for someone else's recipe (404 after 404) do not lock its owner out of it", async (t) => {
  const [owner, ...others] = await Promise.all([member('owner'), ...Array.from({ length: 4 }, () => member('curious'))]);
  const created = await owner.post('/myrecipes', sampleRecipe('Mine'));
  t.is(created.status, 201);
  const id = created.body.recipeId as string;
  for (let round = 0; round < 3; round++) {
    for (const other of others) {
      t.is((await other.get(`/myrecipes/${id}`)).status, 404);
      t.is((await other.delete(`/myrecipes/${id}`)).status, 404);
    }
  }
  const own = await owner.get(`/myrecipes/${id}`);
  t.is(own.status, 200, own.text);
  await eventually(async () => (await owner.get(`/recipes/${id}`)).status === 200, { what: 'in the catalogue' });
  const removed = await owner.delete(`/myrecipes/${id}`);
  t.is(removed.status, 200, removed.text);
});

test.serial(
  'a flood of refused recommendations (own recipe, unknown recipe, repeats) does not stop anyone else from recommending',
  async (t) => {
    const [author, fan, other] = await Promise.all([member('author'), member('fan'), member('other')]);
    const ids: string[] = [];
    for (const title of ['One', 'Two']) {
      const res = await author.post('/myrecipes', sampleRecipe(title));
      ids.push(res.body.recipeId);
    }
    await eventually(async () => (await Promise.all(ids.map((id) => author.get(`/recipes/${id}`)))).every((r) => r.status === 200), {
      what: 'in the catalogue',
    });
    t.is((await fan.post(`/recipes/${ids[0]}/recommendations`)).status, 201);
    for (let i = 0; i < 8; i++) {
      t.is((await author.post(`/recipes/${ids[0]}/recommendations`)).status, 403);
      t.is((await fan.post(`/recipes/${randomUUID()}/recommendations`)).status, 404);
      t.is((await fan.post(`/recipes/${ids[0]}/recommendations`)).status, 200);
    }
    const res = await other.post(`/recipes/${ids[0]}/recommendations`);
    t.is(res.status, 201, res.text);
  },
);
