import pg from 'pg';
import { createClient } from 'redis';
import { checkInvariants, type CheckReport } from '../../../scripts/invariants.js';
import type { MemberClient } from '../client.js';
import { checkTargets, type System } from '../system.js';
import { clip } from './verdict.js';

// Snapshots of everything stored, and of what members are shown: taken before
// the storm and after it, and compared.

export interface Seeded {
  id: string;
  token: string;
  client: MemberClient;
}
export type Seeds = Record<'alice' | 'bob' | 'carol', Seeded>;
/** alice: R1 (recommended by bob and carol), R2 (not recommended); bob: R3 (recommended by carol). */
export type SeededRecipes = { r1: string; r2: string; r3: string };

/** Each store as [key, value] pairs, sorted by key. */
type Keyed = [string, string][];
interface Stored {
  /** myrecipe's Dapr state (PostgreSQL). */
  myrecipeState: Keyed;
  /** recipe's Dapr state (Redis). */
  catalogueStore: Keyed;
  /** mypage's read model (PostgreSQL, schema mypage). */
  readModel: Keyed;
  /** Display names members set (PUT /members/me): none on the stage. */
  setNames: Keyed;
}

async function storedData(system: System): Promise<Stored> {
  const targets = checkTargets(system);
  const db = new pg.Client({ connectionString: targets.myrecipeDatabaseUrl });
  await db.connect();
  const redis = createClient({ socket: { host: targets.recipeRedis.host, port: targets.recipeRedis.port } });
  await redis.connect();
  try {
    const asText = (v: unknown) => (Buffer.isBuffer(v) ? v.toString('utf8') : typeof v === 'string' ? v : JSON.stringify(v));
    const state = await db.query<{ key: string; value: unknown }>(
      `SELECT key, value FROM myrecipe_state WHERE key LIKE 'myrecipe||%' AND (expires_at IS NULL OR expires_at > now()) ORDER BY key`,
    );
    const readModel = await db.query<{ recipe_id: string }>('SELECT * FROM mypage.recipes ORDER BY recipe_id');
    const setNames = await db.query<{ member_id: string; display_name: string }>(
      'SELECT member_id, display_name FROM mypage.member_profiles WHERE display_name IS NOT NULL ORDER BY member_id',
    );
    const catalogueStore: Keyed = [];
    for await (const keys of redis.scanIterator({ MATCH: 'recipe||*', COUNT: 500 })) {
      for (const key of keys) {
        const type = await redis.type(key);
        if (type === 'hash') {
          const { version: _version, ...fields } = await redis.hGetAll(key);
          catalogueStore.push([key, JSON.stringify(fields)]);
        } else catalogueStore.push([key, `(${type})`]);
      }
    }
    catalogueStore.sort(([a], [b]) => a.localeCompare(b));
    return {
      myrecipeState: state.rows.map((r) => [r.key, asText(r.value)]),
      readModel: readModel.rows.map((r) => [r.recipe_id, JSON.stringify(r)]),
      setNames: setNames.rows.map((r) => [r.member_id, r.display_name]),
      catalogueStore,
    };
  } finally {
    await db.end();
    await redis.quit();
  }
}

export interface Snapshot {
  pages: Record<string, unknown>;
  /** GET /members/me of each seeded member. */
  profiles: Record<string, unknown>;
  own: Record<string, unknown>;
  catalogue: unknown[];
  recipes: Record<string, unknown>;
  report: CheckReport;
  stored: Stored;
}

export async function snapshot(system: System, seeded: Seeds, recipes: SeededRecipes): Promise<Snapshot> {
  const ok = async (reply: Promise<{ status: number; body: unknown; text: string }>, what: string) => {
    const r = await reply;
    if (r.status !== 200) throw new Error(`${what}: ${r.status} ${r.text}`);
    return r.body;
  };
  const { alice, bob, carol } = seeded;
  const catalogue: unknown[] = [];
  for (let cursor = ''; ;) {
    const body = (await ok(carol.client.get(`/recipes?limit=100${cursor && `&cursor=${cursor}`}`), 'catalogue')) as {
      items: unknown[];
      nextCursor: string | null;
    };
    catalogue.push(...body.items);
    if (!body.nextCursor) break;
    cursor = body.nextCursor;
  }
  return {
    pages: {
      alice: await ok(alice.client.get('/mypages/me'), 'alice page'),
      bob: await ok(bob.client.get('/mypages/me'), 'bob page'),
      carol: await ok(carol.client.get('/mypages/me'), 'carol page'),
    },
    profiles: {
      alice: await ok(alice.client.get('/members/me'), 'alice profile'),
      bob: await ok(bob.client.get('/members/me'), 'bob profile'),
      carol: await ok(carol.client.get('/members/me'), 'carol profile'),
    },
    own: {
      r1: await ok(alice.client.get(`/myrecipes/${recipes.r1}`), 'r1'),
      r2: await ok(alice.client.get(`/myrecipes/${recipes.r2}`), 'r2'),
      r3: await ok(bob.client.get(`/myrecipes/${recipes.r3}`), 'r3'),
    },
    catalogue,
    recipes: Object.fromEntries(
      await Promise.all(
        [recipes.r1, recipes.r2, recipes.r3].map(async (id) => [id, await ok(carol.client.get(`/recipes/${id}`), id)] as const),
      ),
    ),
    report: await checkInvariants(checkTargets(system)),
    stored: await storedData(system),
  };
}

function keyedDiff(what: string, before: Keyed, after: Keyed): string[] {
  const was = new Map(before);
  const now = new Map(after);
  const added = after.filter(([k]) => !was.has(k));
  const removed = before.filter(([k]) => !now.has(k));
  const changed = after.filter(([k, v]) => was.has(k) && was.get(k) !== v);
  const sample = (entries: Keyed, show: (e: [string, string]) => string) =>
    entries.slice(0, 3).map(show).join('; ') + (entries.length > 3 ? '; …' : '');
  return [
    ...(added.length ? [`${what}: ${added.length} added, e.g. ${sample(added, ([k, v]) => `${k} = ${clip(v, 200)}`)}`] : []),
    ...(removed.length ? [`${what}: ${removed.length} removed, e.g. ${sample(removed, ([k]) => k)}`] : []),
    ...(changed.length
      ? [`${what}: ${changed.length} changed, e.g. ${sample(changed, ([k, v]) => `${k}: ${clip(was.get(k)!, 120)} → ${clip(v, 120)}`)}`]
      : []),
  ];
}

/** What differs between the snapshot before the storm and the one after it. */
export function changesBetween(before: Snapshot, after: Snapshot): string[] {
  const changes = [
    ...keyedDiff('myrecipe state (PostgreSQL)', before.stored.myrecipeState, after.stored.myrecipeState),
    ...keyedDiff('recipe state (Redis)', before.stored.catalogueStore, after.stored.catalogueStore),
    ...keyedDiff('mypage read model', before.stored.readModel, after.stored.readModel),
    ...keyedDiff('display names set (mypage.member_profiles)', before.stored.setNames, after.stored.setNames),
  ];
  for (const [name, profile] of Object.entries(after.profiles)) {
    if (JSON.stringify(profile) !== JSON.stringify(before.profiles[name]))
      changes.push(
        `${name}'s profile changed: ${clip(JSON.stringify(before.profiles[name]), 150)} → ${clip(JSON.stringify(profile), 150)}`,
      );
  }
  for (const [name, page] of Object.entries(after.pages)) {
    if (JSON.stringify(page) !== JSON.stringify(before.pages[name]))
      changes.push(`${name}'s page changed: ${clip(JSON.stringify(page), 300)}`);
  }
  for (const [name, recipe] of Object.entries(after.own)) {
    if (JSON.stringify(recipe) !== JSON.stringify(before.own[name]))
      changes.push(`seeded recipe ${name} changed: ${clip(JSON.stringify(recipe), 300)}`);
  }
  for (const [id, recipe] of Object.entries(after.recipes)) {
    if (JSON.stringify(recipe) !== JSON.stringify(before.recipes[id]))
      changes.push(`GET /recipes/${id} changed: ${clip(JSON.stringify(recipe), 300)}`);
  }
  if (JSON.stringify(after.catalogue) !== JSON.stringify(before.catalogue)) {
    const ids = new Set(before.catalogue.map((r) => (r as { recipeId: string }).recipeId));
    const added = after.catalogue.filter((r) => !ids.has((r as { recipeId: string }).recipeId));
    changes.push(
      `the catalogue changed: ${before.catalogue.length} → ${after.catalogue.length} items${added.length ? `, e.g. ${clip(JSON.stringify(added[0]), 200)}` : ''}`,
    );
  }
  if (!after.report.ok) changes.push(`invariants: ${after.report.problems.join('; ')}`);
  const { problems: _p, ...counts } = after.report;
  const { problems: _q, ...countsBefore } = before.report;
  if (JSON.stringify(counts) !== JSON.stringify(countsBefore))
    changes.push(`the invariant checker counted ${JSON.stringify(countsBefore)} before, ${JSON.stringify(counts)} after`);
  return changes;
}
