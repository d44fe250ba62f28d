import type { Deleted, Logger, Recommended, Registered } from '@recipe/shared';
import knex, { type Knex } from 'knex';
import { migrationSource } from './migrations.js';
import { searchDocument, SEARCH_VECTOR_SQL } from './search.js';

export interface RecipeRow {
  recipe_id: string;
  member_id: string;
  title: string | null;
  registered_at: Date | null;
  points: number;
  deleted_at: Date | null;
}

export function connect(url: string, schema: string, poolMax: number): Knex {
  return knex({
    client: 'pg',
    connection: url,
    searchPath: [schema],
    pool: { min: 0, max: poolMax },
    acquireConnectionTimeout: 5_000,
  });
}

/** Any number, the same in every replica: the advisory lock migrations are run under. */
const MIGRATION_LOCK = 727_171_001;

/**
 * Brings the schema up to date. Replicas starting at the same moment on an
 * empty database take turns on a PostgreSQL advisory lock, held for the
 * whole migration, schema creation included (two concurrent CREATE SCHEMA IF
 * NOT EXISTS, or knex creating its migration tables twice, can fail with a
 * unique violation).
 */
export async function migrate(db: Knex, schema: string, log: Logger): Promise<void> {
  // knex types its client as any: the two calls used here.
  const client = db.client as { acquireConnection: () => Promise<unknown>; releaseConnection: (c: unknown) => Promise<void> };
  const connection = await client.acquireConnection();
  try {
    const locked = await db
      .raw<{ rows: { locked: boolean }[] }>('SELECT pg_try_advisory_lock(?) AS locked', [MIGRATION_LOCK])
      .connection(connection);
    if (!locked.rows[0]?.locked) {
      log.info('another replica is migrating; waiting for it');
      await db.raw('SELECT pg_advisory_lock(?)', [MIGRATION_LOCK]).connection(connection);
    }
    try {
      await db.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]).connection(connection);
      await db.migrate.latest({ migrationSource, schemaName: schema, tableName: 'knex_migrations' });
    } finally {
      await db.raw('SELECT pg_advisory_unlock(?)', [MIGRATION_LOCK]).connection(connection);
    }
  } finally {
    await client.releaseConnection(connection);
  }
}

/**
 * The read model. Every update is idempotent and order-independent, so the
 * model converges to the same rows whatever the order and duplication of
 * deliveries: Recommended carries the recipe's total right after it, so
 * points only ever take the maximum; a Registered fills in a row once and
 * never undoes a Deleted; a Deleted is kept once it came; any event may
 * create the row.
 */
export function createReadModel(db: Knex) {
  return {
    // Listing a recipe and raising its points stamp the row with the writing
    // transaction's id, and every total goes into points_log: what keyset
    // paging needs to see the catalogue as of a snapshot (listing.ts).
    onRegistered: (e: Registered) => {
      const doc = searchDocument(e.title, e.ingredients ?? []);
      return db.raw(
        `INSERT INTO recipes (recipe_id, member_id, title, registered_at, ingredients, ingredient_keys, search_text, search, listed_xid, changed_xid)
         VALUES (?, ?, ?, ?, ?, ?, ?, ${SEARCH_VECTOR_SQL}, pg_current_xact_id(), pg_current_xact_id())
         ON CONFLICT (recipe_id) DO UPDATE SET title = EXCLUDED.title, registered_at = EXCLUDED.registered_at,
           ingredients = EXCLUDED.ingredients, ingredient_keys = EXCLUDED.ingredient_keys, search_text = EXCLUDED.search_text,
           search = EXCLUDED.search, listed_xid = EXCLUDED.listed_xid, changed_xid = EXCLUDED.changed_xid, updated_at = now()
         WHERE recipes.title IS NULL`,
        [
          e.recipeId,
          e.memberId,
          e.title,
          e.registeredAt,
          e.ingredients ?? [],
          doc.ingredientKeys,
          doc.searchText,
          e.title,
          doc.ingredientsText,
          doc.titlePieces,
          doc.ingredientPieces,
        ],
      );
    },

    onRecommended: (e: Recommended) =>
      db.raw(
        `WITH raised AS (
           INSERT INTO recipes (recipe_id, member_id, points, changed_xid) VALUES (?, ?, ?, pg_current_xact_id())
           ON CONFLICT (recipe_id) DO UPDATE SET points = EXCLUDED.points, changed_xid = EXCLUDED.changed_xid, updated_at = now()
           WHERE recipes.points < EXCLUDED.points
           RETURNING recipe_id, points, changed_xid)
         INSERT INTO points_log (recipe_id, points, xid) SELECT recipe_id, points, changed_xid FROM raised ON CONFLICT DO NOTHING`,
        [e.recipeId, e.authorId, e.recipePoints],
      ),

    onDeleted: (e: Deleted) =>
      db.raw(
        `INSERT INTO recipes (recipe_id, member_id, deleted_at) VALUES (?, ?, ?)
         ON CONFLICT (recipe_id) DO UPDATE SET deleted_at = EXCLUDED.deleted_at, updated_at = now()
         WHERE recipes.deleted_at IS NULL`,
        [e.recipeId, e.memberId, e.deletedAt],
      ),

    /**
     * Forgets the totals no catalogue cursor can need: a cursor's snapshot is
     * at most an hour old (listing.ts), and as of it a recipe's points are the
     * largest total it saw. So of the totals logged before every snapshot a
     * cursor may hold (`keepSeconds` ago), only the largest is kept; newer ones
     * all are; a deleted recipe, never listed again, keeps none.
     */
    async prunePointsLog(keepSeconds: number): Promise<number> {
      const { rowCount } = await db.raw<{ rowCount: number | null }>(
        `DELETE FROM points_log l USING recipes r
          WHERE l.recipe_id = r.recipe_id
            AND (r.deleted_at IS NOT NULL
              OR (l.logged_at < now() - make_interval(secs => ?)
                AND EXISTS (SELECT 1 FROM points_log k WHERE k.recipe_id = l.recipe_id AND k.points > l.points
                              AND k.logged_at < now() - make_interval(secs => ?))))`,
        [keepSeconds, keepSeconds],
      );
      return rowCount ?? 0;
    },

    /** Every row, deleted ones too, in id order: for the invariant checker. */
    async allRecipes(after: string | undefined, limit: number) {
      const page = db<RecipeRow>('recipes').orderBy('recipe_id').limit(limit);
      const rows: RecipeRow[] = await (after ? page.where('recipe_id', '>', after) : page);
      return rows;
    },

    async ping(): Promise<boolean> {
      await db.raw('SELECT 1');
      return true;
    },
  };
}

export type ReadModel = ReturnType<typeof createReadModel>;
