import type { Deleted, Logger, Recommended, Registered } from '@recipe/shared';
import knex, { type Knex } from 'knex';
import { migrationSource } from './migrations.js';

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

/**
 * Brings the schema up to date. Replicas starting together take turns on
 * knex's migration lock: the ones that find it taken wait and try again.
 */
export async function migrate(db: Knex, schema: string, log: Logger, attempts = 30): Promise<void> {
  await db.raw('CREATE SCHEMA IF NOT EXISTS ??', [schema]);
  for (let attempt = 1; ; attempt++) {
    try {
      await db.migrate.latest({ migrationSource, schemaName: schema, tableName: 'knex_migrations' });
      return;
    } catch (err) {
      if (!/already locked/i.test((err as Error).message) || attempt >= attempts) throw err;
      log.info({ attempt }, 'another replica is migrating; waiting');
      await new Promise((resolve) => setTimeout(resolve, 1_000));
    }
  }
}

/**
 * The read model. Every event is applied at most once (processed_events, in
 * the same transaction), and every update is order-independent: Recommended
 * carries the recipe's total so points only ever take the maximum, a
 * Registered never undoes a Deleted, and any event may create the row.
 */
export function createReadModel(db: Knex) {
  async function once(eventId: string, topic: string, apply: (trx: Knex.Transaction) => Promise<void>): Promise<boolean> {
    return db.transaction(async (trx) => {
      const inserted = await trx('processed_events').insert({ event_id: eventId, topic }).onConflict('event_id').ignore().returning('event_id');
      if (inserted.length === 0) return false;
      await apply(trx);
      return true;
    });
  }

  return {
    onRegistered: (eventId: string, e: Registered) =>
      once(eventId, 'Registered', (trx) =>
        trx.raw(
          `INSERT INTO recipes (recipe_id, member_id, title, registered_at) VALUES (?, ?, ?, ?)
           ON CONFLICT (recipe_id) DO UPDATE SET title = EXCLUDED.title, registered_at = EXCLUDED.registered_at, updated_at = now()
           WHERE recipes.title IS NULL`,
          [e.recipeId, e.memberId, e.title, e.registeredAt],
        ),
      ),

    onRecommended: (eventId: string, e: Recommended) =>
      once(eventId, 'Recommended', (trx) =>
        trx.raw(
          `INSERT INTO recipes (recipe_id, member_id, points) VALUES (?, ?, ?)
           ON CONFLICT (recipe_id) DO UPDATE SET points = GREATEST(recipes.points, EXCLUDED.points), updated_at = now()`,
          [e.recipeId, e.authorId, e.recipePoints],
        ),
      ),

    onDeleted: (eventId: string, e: Deleted) =>
      once(eventId, 'Deleted', (trx) =>
        trx.raw(
          `INSERT INTO recipes (recipe_id, member_id, deleted_at) VALUES (?, ?, ?)
           ON CONFLICT (recipe_id) DO UPDATE SET deleted_at = COALESCE(recipes.deleted_at, EXCLUDED.deleted_at), updated_at = now()`,
          [e.recipeId, e.memberId, e.deletedAt],
        ),
      ),

    /**
     * A member's live recipes, newest first, and their balance: the points of
     * exactly the recipes listed (a row still waiting for its Registered is
     * neither listed nor counted).
     */
    async memberPage(memberId: string) {
      const rows: RecipeRow[] = await db('recipes')
        .where({ member_id: memberId })
        .whereNull('deleted_at')
        .whereNotNull('title')
        .orderBy([{ column: 'registered_at', order: 'desc' }, 'recipe_id']);
      return { rows, balance: rows.reduce((sum, r) => sum + r.points, 0) };
    },

    /** Live, registered recipes, most recommended first. */
    async catalogue(limit: number, offset: number) {
      const rows: RecipeRow[] = await db('recipes')
        .whereNull('deleted_at')
        .whereNotNull('title')
        .orderBy([{ column: 'points', order: 'desc' }, { column: 'registered_at', order: 'desc' }, 'recipe_id'])
        .limit(limit + 1)
        .offset(offset);
      return { rows: rows.slice(0, limit), hasMore: rows.length > limit };
    },

    /** Every row, deleted ones too, in id order: for the invariant checker. */
    async allRecipes(after: string | undefined, limit: number) {
      const rows: RecipeRow[] = await db('recipes')
        .modify((q) => (after ? q.where('recipe_id', '>', after) : q))
        .orderBy('recipe_id')
        .limit(limit);
      return rows;
    },

    async ping(): Promise<boolean> {
      await db.raw('SELECT 1');
      return true;
    },
  };
}

export type ReadModel = ReturnType<typeof createReadModel>;
