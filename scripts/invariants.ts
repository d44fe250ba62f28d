// The invariants of docs/DESIGN.md, checked against a running system. Used by the
// end-to-end and fault tests, and by `npm run check` for operators.
import pg from 'pg';
import { createClient } from 'redis';

export interface CheckTargets {
  /** Sidecar HTTP URLs, used to read what members are shown (their page, their balance). */
  myrecipeSidecar: string;
  mypageSidecar: string;
  /** Each sidecar's own app's API token: one app's token opens no other sidecar. */
  myrecipeApiToken?: string;
  mypageApiToken?: string;
  /** The stores themselves, read-only, to enumerate every recipe (Dapr keys: `<app-id>||<key>`). */
  myrecipeDatabaseUrl: string;
  myrecipeTablePrefix?: string;
  recipeRedis: { host: string; port: number };
  /** Points per recommendation (recipe's POINT). */
  point: number;
}

export interface CheckReport {
  ok: boolean;
  problems: string[];
  members: number;
  liveRecipes: number;
  deletedRecipes: number;
}

export interface CatalogueRecipe {
  recipeId: string;
  authorId: string;
  title?: string;
  points: number;
  /** What the head's copies of its buckets' totals add up to (what GET /recipes/{id} shows). */
  copiedPoints: number;
  recommendations: { by: string; points: number }[];
  holds?: Record<string, string>;
  deletedAt?: string;
}

export async function checkInvariants(targets: CheckTargets): Promise<CheckReport> {
  const problems: string[] = [];
  const [written, catalogue, readModel] = await Promise.all([
    readWriteModel(targets),
    readCatalogue(targets.recipeRedis),
    readReadModel(targets),
  ]);

  const ids = new Set([...written.recipes.keys(), ...catalogue.keys(), ...readModel.keys()]);
  const members = new Set<string>([...written.ledgers.keys()]);
  let live = 0;
  let deleted = 0;
  for (const id of ids) {
    const mine = written.recipes.get(id);
    const cat = catalogue.get(id);
    const row = readModel.get(id);
    const catLive = cat !== undefined && cat.title !== undefined && cat.deletedAt === undefined;
    if (cat && Object.keys(cat.holds ?? {}).length > 0)
      problems.push(`recipe ${id}: withdrawal holds left behind (${Object.keys(cat.holds!).join(', ')})`);
    const rowLive = row !== undefined && row.title !== null && !row.deleted;
    if (mine) members.add(mine.memberId);
    if (row) members.add(row.authorId);
    if (cat) members.add(cat.authorId);
    if (mine) live++;
    else deleted++;
    if (Boolean(mine) !== catLive || Boolean(mine) !== rowLive) {
      problems.push(`recipe ${id}: live in myrecipe=${Boolean(mine)}, recipe=${catLive}, mypage=${rowLive}`);
      continue;
    }
    const awarded = cat?.recommendations.reduce((sum, r) => sum + r.points, 0);
    if (cat && cat.points !== awarded)
      problems.push(`recipe ${id}: ${cat.points} points but its ${cat.recommendations.length} recommendations awarded ${awarded}`);
    if (cat && new Set(cat.recommendations.map((r) => r.by)).size !== cat.recommendations.length)
      problems.push(`recipe ${id}: a member recommended it twice`);
    if (cat && catLive && cat.copiedPoints !== cat.points)
      problems.push(`recipe ${id}: its head shows ${cat.copiedPoints} points, its buckets hold ${cat.points}`);
    if (!mine || !cat || !row) continue;
    if (row.points !== cat.points) problems.push(`recipe ${id}: mypage shows ${row.points} points, recipe has ${cat.points}`);
    const ledgerPoints = written.ledgers.get(mine.memberId)?.[id] ?? 0;
    if (ledgerPoints !== cat.points)
      problems.push(`recipe ${id}: ledger of ${mine.memberId} credits ${ledgerPoints}, recipe has ${cat.points}`);
  }

  for (const [memberId, ledger] of written.ledgers) {
    for (const id of Object.keys(ledger)) {
      if (!written.recipes.has(id)) problems.push(`member ${memberId}: ledger still credits deleted or unknown recipe ${id}`);
    }
  }

  for (const memberId of members) {
    const ledgerBalance = Object.values(written.ledgers.get(memberId) ?? {}).reduce((a, b) => a + b, 0);
    const catalogueBalance = [...catalogue.values()]
      .filter((c) => c.authorId === memberId && c.title !== undefined && c.deletedAt === undefined)
      .reduce((sum, c) => sum + c.points, 0);
    const [page, balance] = await Promise.all([
      invoke<{ balance: number }>(targets.mypageSidecar, 'mypage', `mypages/${encodeURIComponent(memberId)}`, targets.mypageApiToken),
      invoke<{ balance: number }>(
        targets.myrecipeSidecar,
        'myrecipe',
        `members/${encodeURIComponent(memberId)}/balance`,
        targets.myrecipeApiToken,
      ),
    ]);
    const shown = [ledgerBalance, balance.balance, catalogueBalance, page.balance];
    if (new Set(shown).size !== 1) {
      problems.push(
        `member ${memberId}: balance in myrecipe ${balance.balance} (ledger ${ledgerBalance}), live points in recipe ${catalogueBalance}, mypage ${page.balance}`,
      );
    }
    if (shown.some((b) => b < 0)) problems.push(`member ${memberId}: negative balance ${shown.join('/')}`);
  }

  return { ok: problems.length === 0, problems, members: members.size, liveRecipes: live, deletedRecipes: deleted };
}

async function readWriteModel(targets: CheckTargets) {
  const client = new pg.Client({ connectionString: targets.myrecipeDatabaseUrl });
  await client.connect();
  try {
    const table = `${targets.myrecipeTablePrefix ?? 'myrecipe_'}state`;
    const { rows } = await client.query<{ key: string; value: Buffer }>(
      `SELECT key, value FROM ${table} WHERE (key LIKE 'myrecipe||recipe:%' OR key LIKE 'myrecipe||ledger:%') AND (expires_at IS NULL OR expires_at > now())`,
    );
    const recipes = new Map<string, { memberId: string }>();
    const ledgers = new Map<string, Record<string, number>>();
    for (const row of rows) {
      const value = JSON.parse(row.value.toString('utf8')) as {
        recipeId: string;
        memberId: string;
        deletedAt?: string;
        voidedAt?: string;
        points: Record<string, number>;
      };
      // A deleted recipe leaves a tombstone (deletedAt), an abandoned registration a void (voidedAt): not live.
      if (row.key.startsWith('myrecipe||recipe:')) {
        if (!value.deletedAt && !value.voidedAt) recipes.set(value.recipeId, { memberId: value.memberId });
      } else ledgers.set(value.memberId, value.points);
    }
    return { recipes, ledgers };
  } finally {
    await client.end();
  }
}

/**
 * The recommendation service's catalogue, read from its Redis: each recipe's
 * head (`recipe||recipe:<id>`) with the recommendations of all its buckets
 * (`recipe||recipe:<id>#<n>`) gathered, and its points summed from them.
 */
export async function readCatalogue(redis: { host: string; port: number }): Promise<Map<string, CatalogueRecipe>> {
  const client = createClient({ socket: { host: redis.host, port: redis.port } });
  await client.connect();
  try {
    const heads = new Map<string, CatalogueRecipe & { legacy?: { by: string; points: number }[] }>();
    const buckets = new Map<string, { points: number; recommendations: { by: string; points: number }[] }[]>();
    for await (const keys of client.scanIterator({ MATCH: 'recipe||recipe:*', COUNT: 500 })) {
      for (const key of keys) {
        const data = await client.hGet(key, 'data');
        if (!data) continue;
        const [recipeId, bucket] = key.slice('recipe||recipe:'.length).split('#') as [string, string | undefined];
        if (bucket === undefined) heads.set(recipeId, JSON.parse(data) as CatalogueRecipe & { legacy?: { by: string; points: number }[] });
        else
          buckets.set(recipeId, [
            ...(buckets.get(recipeId) ?? []),
            JSON.parse(data) as { points: number; recommendations: { by: string; points: number }[] },
          ]);
      }
    }
    const recipes = new Map<string, CatalogueRecipe>();
    for (const [recipeId, head] of heads) {
      const recommendations = [...(head.legacy ?? []), ...(buckets.get(recipeId) ?? []).flatMap((b) => b.recommendations)];
      const points =
        (head.legacy ?? []).reduce((sum, r) => sum + r.points, 0) + (buckets.get(recipeId) ?? []).reduce((sum, b) => sum + b.points, 0);
      const copied = (head as { copied?: { points: number[] } }).copied?.points ?? [];
      const copiedPoints = (head.legacy ?? []).reduce((sum, r) => sum + r.points, 0) + copied.reduce((a, b) => a + b, 0);
      recipes.set(recipeId, { ...head, points, copiedPoints, recommendations });
    }
    return recipes;
  } finally {
    await client.quit();
  }
}

async function readReadModel(targets: CheckTargets) {
  const rows = new Map<string, { authorId: string; title: string | null; points: number; deleted: boolean }>();
  let after: string | undefined;
  for (;;) {
    const page = await invoke<{ recipeId: string; authorId: string; title: string | null; points: number; deleted: boolean }[]>(
      targets.mypageSidecar,
      'mypage',
      `audit/recipes?limit=1000${after ? `&after=${after}` : ''}`,
      targets.mypageApiToken,
    );
    for (const row of page) rows.set(row.recipeId, row);
    if (page.length < 1000) return rows;
    after = page.at(-1)!.recipeId;
  }
}

async function invoke<T>(sidecar: string, appId: string, path: string, token?: string): Promise<T> {
  const res = await fetch(`${sidecar}/v1.0/invoke/${appId}/method/${path}`, {
    headers: token ? { 'dapr-api-token': token } : {},
    signal: AbortSignal.timeout(10_000),
  });
  if (!res.ok) throw new Error(`${appId} ${path}: ${res.status} ${await res.text()}`);
  return (await res.json()) as T;
}
