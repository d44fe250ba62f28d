import test from 'ava';
import { createLogger, type Registered } from '@recipe/shared';
import type { Knex } from 'knex';
import { createDatabase, type Database } from '../support/backing.js';
import { createProfiles } from '../../services/mypage/src/profiles.js';
import { connect, migrate } from '../../services/mypage/src/store.js';

// mypage's member profiles on a real PostgreSQL (no sidecar needed): two
// replicas' pools, events in every order.
let db: Database;
let pools: Knex[] = [];

test.before(async () => {
  db = await createDatabase('profiles');
  pools = [connect(db.url, 'mypage', 4), connect(db.url, 'mypage', 4)];
  await migrate(pools[0]!, 'mypage', createLogger('test', 'silent'));
});
test.after.always(async () => {
  await Promise.all(pools.map((p) => p.destroy()));
  await db?.drop();
});

const registered = (memberId: string, authorName: string | undefined, at: string): Registered => ({
  recipeId: '3f1c2a4e-8d7b-4c1e-9f0a-1b2c3d4e5f60',
  memberId,
  title: 'Soup',
  registeredAt: at,
  ...(authorName ? { authorName } : {}),
});

test("when Registered events carry the author's token name in any order, twice, on two replicas, then the latest name wins", async (t) => {
  const [one, two] = pools.map(createProfiles) as [ReturnType<typeof createProfiles>, ReturnType<typeof createProfiles>];
  const events = [
    registered('ann', 'Ann (old)', '2026-01-01T00:00:00Z'),
    registered('ann', 'Ann Lee', '2026-01-03T00:00:00Z'),
    registered('ann', undefined, '2026-01-04T00:00:00Z'),
    registered('ann', 'Ann (middle)', '2026-01-02T00:00:00Z'),
  ];
  // Newest first, oldest first, and all at once on both replicas.
  for (const order of [[...events].reverse(), events]) for (const e of order) await one.onRegistered(e);
  await Promise.all(events.flatMap((e) => [one.onRegistered(e), two.onRegistered(e)]));
  t.deepEqual(await two.mine('ann', undefined, new Date('2026-01-01T00:00:00Z')), { displayName: 'Ann Lee', source: 'token' });
  t.deepEqual(await one.namesOf(['ann']), { ann: 'Ann Lee' });
});

test('when a member sets a display name, then it wins over any token name, later ones included', async (t) => {
  const profiles = createProfiles(pools[0]!);
  await profiles.onRegistered(registered('bea', 'Bea from the token', '2026-01-01T00:00:00Z'));
  t.deepEqual(await profiles.setDisplayName('bea', 'Chef Bea', undefined, new Date()), { displayName: 'Chef Bea', source: 'member' });
  await profiles.onRegistered(registered('bea', 'Bea renamed', '2030-01-01T00:00:00Z'));
  t.deepEqual(await profiles.namesOf(['bea']), { bea: 'Chef Bea' });
  t.deepEqual(await profiles.mine('bea', 'Bea token now', new Date()), { displayName: 'Chef Bea', source: 'member' });
});

test('when a member has no name anywhere, then both replicas show the same generated name, which is not their subject', async (t) => {
  const [one, two] = pools.map(createProfiles) as [ReturnType<typeof createProfiles>, ReturnType<typeof createProfiles>];
  const [a, b] = await Promise.all([one.namesOf(['cid-12345', 'dee']), two.namesOf(['cid-12345', 'dee'])]);
  t.deepEqual(a, b);
  for (const [member, name] of Object.entries(a)) {
    t.regex(name, /^Cook [A-Z2-9]{6}$/);
    t.false(name.toLowerCase().includes(member.toLowerCase()));
  }
  t.deepEqual(await one.mine('dee', undefined, new Date()), { displayName: a.dee, source: 'generated' });
  t.deepEqual(await one.mine('dee', '디 Dee', new Date()), { displayName: '디 Dee', source: 'token' }, "then the token's name, once seen");
});
