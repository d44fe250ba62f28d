import { randomUUID } from 'node:crypto';
import test from 'ava';
import pg from 'pg';
import { AppError, createLogger, type CatalogueQuery } from '@recipe/shared';
import { createDatabase, type Database } from '../support/backing.js';
import { createCursors } from '../../services/mypage/src/cursor.js';
import { createListings } from '../../services/mypage/src/listing.js';
import { connect, createReadModel, migrate } from '../../services/mypage/src/store.js';

// Search and keyset paging against the read model's real PostgreSQL (no
// sidecar needed: the listings are SQL over the schema the migrations make).
let db: Database;
let knex: ReturnType<typeof connect>;
let model: ReturnType<typeof createReadModel>;
let listings: ReturnType<typeof createListings>;

test.before(async () => {
  db = await createDatabase('listing');
  knex = connect(db.url, 'mypage', 10);
  await migrate(knex, 'mypage', createLogger('test', 'silent'));
  model = createReadModel(knex);
  listings = createListings(knex, createCursors('listing-test-token'));
});
test.after.always(async () => {
  await knex?.destroy();
  await db?.drop();
});

const now = () => new Date().toISOString();
async function register(memberId: string, title: string, ingredients: string[] = ['water'], points = 0): Promise<string> {
  const recipeId = randomUUID();
  await model.onRegistered({ recipeId, memberId, title, ingredients, registeredAt: now() });
  if (points) await recommend(recipeId, memberId, points);
  return recipeId;
}
const recommend = (recipeId: string, authorId: string, recipePoints: number) =>
  model.onRecommended({ recipeId, authorId, recommenderId: `fan-${recipePoints}`, points: 1, recipePoints, recommendedAt: now() });

const titles = async (query: CatalogueQuery) => (await listings.catalogue(query)).rows.map((r) => r.title);

test.serial(
  'search finds English words in titles and ingredients, stemmed, titles ranked first; ingredient= matches whole ingredients in any case',
  async (t) => {
    const tag = randomUUID().slice(0, 8);
    await register('eng', `Kimchi stew ${tag}`, ['kimchi', 'pork belly', 'Tofu'], 1);
    await register('eng', `Tofu salad ${tag}`, ['Silken tofu', 'scallions'], 5);
    await register('eng', `Bibimbap ${tag}`, ['rice', 'gochujang', 'spinach']);
    t.deepEqual(await titles({ q: `kimchi ${tag}` }), [`Kimchi stew ${tag}`]);
    t.deepEqual(await titles({ q: `stews ${tag}` }), [`Kimchi stew ${tag}`], 'stemmed');
    t.deepEqual(await titles({ q: `tofu ${tag}` }), [`Tofu salad ${tag}`, `Kimchi stew ${tag}`], 'the title match first');
    t.deepEqual(await titles({ q: `gochujang ${tag}` }), [`Bibimbap ${tag}`], 'an ingredient');
    t.deepEqual(await titles({ q: `kimchi -pork ${tag}` }), [], 'websearch syntax');
    t.deepEqual(await titles({ q: `stew ${tag}`, ingredient: 'TOFU' }), [`Kimchi stew ${tag}`], 'a whole ingredient, any case');
    t.deepEqual(await titles({ q: tag, ingredient: 'silken  tofu' }), [`Tofu salad ${tag}`]);
    t.deepEqual(await titles({ q: tag, ingredient: 'silken' }), [], 'not part of one');
    t.deepEqual(await titles({ q: `bibim ${tag.slice(0, 3)}` }), [], 'a prefix is no word');
    t.deepEqual(await titles({ q: `Bibimb` }), [`Bibimbap ${tag}`], 'but a substring of three or more characters is found');
  },
);

test.serial('search finds Hangul words inside longer words and before particles, by their two-syllable pieces and trigrams', async (t) => {
  const member = `kr-${randomUUID().slice(0, 6)}`;
  const stew = await register(member, '김치찌개', ['김치', '돼지고기', '두부'], 2);
  const braise = await register(member, '두부조림을 만들자', ['두부', '간장'], 7);
  const ids = async (query: CatalogueQuery) =>
    (await listings.catalogue(query)).rows.map((r) => r.recipe_id).filter((id) => [stew, braise].includes(id));
  t.deepEqual(await ids({ q: '김치' }), [stew]);
  t.deepEqual(await ids({ q: '찌개' }), [stew], 'inside a compound');
  t.deepEqual(await ids({ q: '조림' }), [braise], 'before a particle');
  t.deepEqual(await ids({ q: '두부' }), [braise, stew], 'title above ingredient');
  t.deepEqual(await ids({ q: '치찌개' }), [stew]);
  t.deepEqual(await ids({ q: '돼지고기 김치' }), [stew]);
  t.deepEqual(await ids({ q: '된장' }), []);
  t.deepEqual(await ids({ ingredient: '두부' }), [braise, stew], 'by points among equals');
  t.deepEqual(await ids({ ingredient: '간장' }), [braise]);
});

test.serial('when a cursor is changed, made for another search or another member, then it is a 400', async (t) => {
  await Promise.all([register('c1', 'Cursor one'), register('c1', 'Cursor two'), register('c1', 'Cursor three')]);
  const first = await listings.catalogue({ limit: 1 });
  const cursor = first.page.nextCursor!;
  t.truthy(cursor);
  const refused = async (fn: () => Promise<unknown>) => {
    const err = await t.throwsAsync(fn, { instanceOf: AppError });
    t.is(err?.status, 400);
  };
  await refused(() => listings.catalogue({ limit: 1, cursor: cursor.replace(/.$/, (c) => (c === 'A' ? 'B' : 'A')) }));
  await refused(() => listings.catalogue({ limit: 1, cursor, q: 'cursor' }));
  const mine = (await listings.memberPage('c1', { limit: 1 })).page.nextCursor!;
  await refused(() => listings.memberPage('c2', { limit: 1, cursor: mine }));
  await refused(() => listings.catalogue({ limit: 1, cursor: mine }));
  t.is((await listings.memberPage('c1', { limit: 1, cursor: mine })).rows.length, 1);
});

/** Every page of a listing, with `between` run (awaited, and concurrently with the next page) after each page. */
async function pageThrough<P extends { nextCursor?: string | null }>(
  fetch: (cursor: string | undefined) => Promise<{ ids: string[]; page: P }>,
  between: (pageNo: number, seen: Set<string>) => Promise<unknown>,
) {
  const seen: string[] = [];
  let cursor: string | undefined;
  for (let n = 0; ; n++) {
    const [{ ids, page }] = await Promise.all([fetch(cursor), between(n, new Set(seen))]);
    seen.push(...ids);
    if (!page.nextCursor) return seen;
    cursor = page.nextCursor;
    await between(n, new Set(seen));
  }
}

test.serial(
  'when recipes are added, recommended past the cursor and deleted while a client pages the catalogue, then every recipe there throughout comes exactly once',
  async (t) => {
    const tag = `paging${randomUUID().slice(0, 6)}`;
    // Points 1..60, several recipes per total (ties).
    const throughout = await Promise.all(
      Array.from({ length: 120 }, (_, i) => register(`p${i % 7}`, `Stable ${tag} ${i}`, ['flour'], 1 + (i % 60))),
    );
    const doomed = await Promise.all(
      Array.from({ length: 10 }, (_, i) => register('p-doomed', `Doomed ${tag} ${i}`, ['flour'], 1 + i * 6)),
    );
    const points = new Map<string, number>();
    let top = 60;
    const between = async (n: number, seen: Set<string>) => {
      const unseen = throughout.filter((id) => !seen.has(id));
      // Recipes not yet listed jump to the top (a plain keyset would skip them),
      // listed ones climb further; new ones come in at the top and the bottom.
      const climbers = [...unseen.slice(-3), ...throughout.filter((id) => seen.has(id)).slice(0, 2)];
      await Promise.all([
        ...climbers.map((id) => {
          top += 1;
          points.set(id, top);
          return recommend(id, 'p', top);
        }),
        register('p-new', `New ${tag} ${n}a`, ['flour'], top + 5),
        register('p-new', `New ${tag} ${n}b`, ['flour']),
        ...(doomed[n] ? [model.onDeleted({ recipeId: doomed[n], memberId: 'p-doomed', pointsRevoked: 0, deletedAt: now() })] : []),
      ]);
    };
    const browse = (cursor: string | undefined) =>
      listings.catalogue({ limit: 9, cursor }).then(({ rows, page }) => ({ ids: rows.map((r) => r.recipe_id), page }));
    const seen = await pageThrough(browse, between);
    t.is(seen.length, new Set(seen).size, 'no recipe twice');
    t.deepEqual(
      throughout.filter((id) => !seen.includes(id)),
      [],
      'none of those there throughout missing',
    );
    t.true(points.size > 30, 'many moved past the cursor while paging');

    // The same for a search and its pages.
    const searched = await pageThrough(
      (cursor) =>
        listings
          .catalogue({ q: tag, ingredient: 'Flour', limit: 11, cursor })
          .then(({ rows, page }) => ({ ids: rows.map((r) => r.recipe_id), page })),
      between,
    );
    t.is(searched.length, new Set(searched).size);
    t.deepEqual(
      throughout.filter((id) => !searched.includes(id)),
      [],
    );
  },
);

test.serial(
  'when recipes are added and recommended while a member pages their page, then each recipe there throughout comes once, newest first',
  async (t) => {
    const member = `mine-${randomUUID().slice(0, 6)}`;
    const throughout: string[] = [];
    for (let i = 0; i < 40; i++) throughout.push(await register(member, `Mine ${i}`, ['salt'], i));
    const between = async () => {
      await Promise.all([
        register(member, 'Newer'),
        recommend(throughout[Math.floor(Math.random() * 40)]!, member, 100 + Math.floor(Math.random() * 100)),
      ]);
    };
    const seen = await pageThrough(
      (cursor) => listings.memberPage(member, { limit: 6, cursor }).then(({ rows, page }) => ({ ids: rows.map((r) => r.recipe_id), page })),
      between,
    );
    t.is(seen.length, new Set(seen).size);
    t.deepEqual(
      seen.filter((id) => throughout.includes(id)),
      [...throughout].reverse(),
    );
    const { balance } = await listings.memberPage(member, { limit: 1 });
    const { rows } = await knex.raw(
      'SELECT sum(points)::int AS s FROM recipes WHERE member_id = ? AND deleted_at IS NULL AND title IS NOT NULL',
      [member],
    );
    t.is(balance, rows[0].s, 'the balance counts every recipe, not just the page');
  },
);

interface PlanNode {
  'Node Type': string;
  'Relation Name'?: string;
  'Index Name'?: string;
  'Actual Rows': number;
  'Actual Loops': number;
  'Rows Removed by Filter'?: number;
  'Rows Removed by Index Recheck'?: number;
  Plans?: PlanNode[];
}

/** Runs each SQL statement `run` makes again under EXPLAIN ANALYZE: the scans of recipes and rows they read. */
async function explain(run: () => Promise<unknown>) {
  const statements: { sql: string; bindings: unknown[] }[] = [];
  const listen = (q: { sql: string; bindings?: unknown[] }) => statements.push({ sql: q.sql, bindings: q.bindings ?? [] });
  knex.on('query', listen);
  try {
    await run();
  } finally {
    knex.off('query', listen);
  }
  const client = new pg.Client({ connectionString: db.url });
  await client.connect();
  try {
    await client.query('SET search_path TO mypage');
    const scans: { node: string; index?: string; read: number }[] = [];
    for (const { sql, bindings } of statements.filter((s) => /\bFROM recipes\b/.test(s.sql))) {
      const { rows } = await client.query(`EXPLAIN (ANALYZE, FORMAT JSON) ${sql}`, bindings);
      const walk = (node: PlanNode) => {
        if (node['Relation Name'] === 'recipes' || node['Index Name']?.startsWith('recipes_'))
          scans.push({
            node: node['Node Type'],
            index: node['Index Name'],
            read:
              (node['Actual Rows'] + (node['Rows Removed by Filter'] ?? 0) + (node['Rows Removed by Index Recheck'] ?? 0)) *
              node['Actual Loops'],
          });
        node.Plans?.forEach(walk);
      };
      walk((rows[0]['QUERY PLAN'] as { Plan: PlanNode }[])[0]!.Plan);
    }
    return scans;
  } finally {
    await client.end();
  }
}

test.serial(
  'with 5,000 recipes, every listing reads through an index, and a page deep in the catalogue reads about a page of rows',
  async (t) => {
    await knex.raw(`INSERT INTO recipes (recipe_id, member_id, title, registered_at, ingredients, ingredient_keys, search_text, search, points, listed_xid, changed_xid)
    SELECT gen_random_uuid(), 'bulk' || (i % 50), title, now() - i * interval '1 second', ingredients, ingredients,
      title || E'\\n' || array_to_string(ingredients, E'\\n'),
      setweight(to_tsvector('english', title), 'A') || setweight(to_tsvector('english', array_to_string(ingredients, E'\\n')), 'B'),
      i % 97, pg_current_xact_id(), pg_current_xact_id()
    FROM generate_series(1, 5000) i,
      LATERAL (SELECT 'Bulk ' || CASE WHEN i % 100 = 0 THEN 'kimchi ' ELSE '' END || 'recipe number ' || i || ', slow-cooked in the family style' AS title,
        ARRAY['bulk ingredient ' || (i % 500), 'onion', 'garlic ' || (i % 7), 'soy sauce', 'sesame oil'] AS ingredients) x`);
    // What autovacuum does in production: statistics, and GIN's pending entries merged into the index.
    await knex.raw('VACUUM ANALYZE recipes');

    // Deep into the catalogue: page 40 of 20.
    let cursor: string | undefined;
    for (let i = 0; i < 40; i++) cursor = (await listings.catalogue({ limit: 20, cursor })).page.nextCursor ?? undefined;
    const plans = {
      deepPage: await explain(() => listings.catalogue({ limit: 20, cursor })),
      search: await explain(() => listings.catalogue({ q: 'kimchi', limit: 20 })),
      substring: await explain(() => listings.catalogue({ q: 'umber 4242', limit: 20 })),
      ingredient: await explain(() => listings.catalogue({ ingredient: 'Bulk ingredient 7', limit: 20 })),
      myPage: await explain(() => listings.memberPage('bulk7', { limit: 20 })),
    };
    for (const [name, scans] of Object.entries(plans)) {
      t.true(scans.length > 0, `${name} reads recipes`);
      t.deepEqual(
        scans.filter((s) => s.node === 'Seq Scan'),
        [],
        `${name} never reads the whole table`,
      );
    }
    const read = (name: keyof typeof plans) => plans[name].reduce((sum, s) => sum + s.read, 0);
    t.true(plans.deepPage.some((s) => s.index === 'recipes_catalogue_keyset_idx'));
    t.true(read('deepPage') <= 21 + 50, `a deep page reads ${read('deepPage')} rows`);
    t.true(plans.search.some((s) => s.index === 'recipes_search_idx'));
    t.true(read('search') <= 3 * 50 + 50, `a search reads its ${read('search')} matches`);
    t.true(plans.substring.some((s) => s.index === 'recipes_search_trgm_idx'));
    t.true(plans.ingredient.some((s) => s.index === 'recipes_ingredient_idx'));
    t.true(read('ingredient') <= 3 * 10 + 50);
    t.true(
      plans.myPage.every((s) => s.index === 'recipes_member_page_idx'),
      JSON.stringify(plans.myPage),
    );
    t.true(read('myPage') <= 21 + 100 + 50, `my page reads ${read('myPage')} rows (the page, and the member's 100 for the balance)`);
  },
);

test.serial('a catalogue snapshot expires an hour after its first page, however quickly its pages follow one another', async (t) => {
  let clock = Date.now();
  const timed = createListings(
    knex,
    createCursors('listing-test-token', () => clock),
  );
  const tag = randomUUID().slice(0, 8);
  for (let i = 0; i < 3; i++) await register('expiry', `Expiring ${tag} ${i}`);
  let cursor = (await timed.catalogue({ q: tag, limit: 1 })).page.nextCursor!;
  clock += 59 * 60_000;
  cursor = (await timed.catalogue({ q: tag, limit: 1, cursor })).page.nextCursor!;
  clock += 2 * 60_000; // 61 minutes after the snapshot, 2 after the last page
  const err = await t.throwsAsync(() => timed.catalogue({ q: tag, limit: 1, cursor }), { instanceOf: AppError });
  t.regex(err.message, /expired/);
});

test.serial(
  'points_log keeps what a cursor may need: every total of the last hour, the largest before it, none of a deleted recipe',
  async (t) => {
    const kept = await register('pruner', `Kept ${randomUUID().slice(0, 8)}`);
    const gone = await register('pruner', `Gone ${randomUUID().slice(0, 8)}`);
    for (const points of [1, 2, 3, 4]) await recommend(kept, 'pruner', points);
    for (const points of [1, 2]) await recommend(gone, 'pruner', points);
    await knex.raw("UPDATE points_log SET logged_at = now() - interval '2 hours' WHERE (recipe_id = ? AND points <= 2) OR recipe_id = ?", [
      kept,
      gone,
    ]);
    await model.onDeleted({ recipeId: gone, memberId: 'pruner', deletedAt: now(), pointsRevoked: 2 });
    const totals = async (recipeId: string) =>
      (
        await knex.raw<{ rows: { points: number }[] }>('SELECT points FROM points_log WHERE recipe_id = ? ORDER BY points', [recipeId])
      ).rows.map((r) => r.points);
    t.true((await model.prunePointsLog(3900)) >= 3);
    t.deepEqual(await totals(kept), [2, 3, 4], 'the largest total older than any snapshot (2), and every newer one');
    t.deepEqual(await totals(gone), []);
    t.is(await model.prunePointsLog(3900), 0, 'nothing more to prune');
  },
);
