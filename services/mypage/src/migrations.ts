import type { Knex } from 'knex';
import { searchDocument, SEARCH_VECTOR_SQL } from './search.js';
import { memberProfilesMigration } from './profiles.js';

interface Migration {
  name: string;
  up: (db: Knex) => Promise<void>;
  down: (db: Knex) => Promise<void>;
}

/** The read model's schema history, in code so it ships inside the build. */
const migrations: Migration[] = [
  {
    name: '001_recipes_and_processed_events',
    async up(db) {
      await db.schema.createTable('recipes', (t) => {
        t.uuid('recipe_id').primary();
        t.text('member_id').notNullable();
        // Null until Registered arrives: Recommended or Deleted may come first.
        t.text('title');
        t.timestamp('registered_at', { useTz: true });
        t.integer('points').notNullable().defaultTo(0);
        t.timestamp('deleted_at', { useTz: true });
        t.timestamp('updated_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
        t.index(['member_id']);
      });
      await db.raw(
        'CREATE INDEX recipes_catalogue_idx ON recipes (points DESC, registered_at DESC, recipe_id) WHERE deleted_at IS NULL AND title IS NOT NULL',
      );
      await db.schema.createTable('processed_events', (t) => {
        t.text('event_id').primary();
        t.text('topic').notNullable();
        t.timestamp('processed_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      });
    },
    async down(db) {
      await db.schema.dropTable('processed_events');
      await db.schema.dropTable('recipes');
    },
  },
  {
    // Every update is idempotent by itself now (see createReadModel): the
    // table of processed event ids, which only grew, is not needed.
    name: '002_drop_processed_events',
    async up(db) {
      await db.schema.dropTableIfExists('processed_events');
    },
    async down(db) {
      await db.schema.createTable('processed_events', (t) => {
        t.text('event_id').primary();
        t.text('topic').notNullable();
        t.timestamp('processed_at', { useTz: true }).notNullable().defaultTo(db.fn.now());
      });
    },
  },
  {
    name: '003_search_and_keyset_paging',
    up: searchAndKeysetPaging,
    async down(db) {
      await db.schema.dropTable('points_log');
      await db.raw('DROP INDEX recipes_catalogue_keyset_idx, recipes_member_page_idx, recipes_changed_idx');
      await db.schema.alterTable('recipes', (t) => {
        t.dropColumns('ingredients', 'ingredient_keys', 'search_text', 'search', 'listed_xid', 'changed_xid');
      });
      await db.raw(
        'CREATE INDEX recipes_catalogue_idx ON recipes (points DESC, registered_at DESC, recipe_id) WHERE deleted_at IS NULL AND title IS NOT NULL',
      );
    },
  },
  // Members' display names (profiles.ts).
  memberProfilesMigration,
  {
    // When each total was logged, so that what no catalogue cursor can need any more is pruned (store.ts).
    name: '005_points_log_logged_at',
    async up(db) {
      await db.raw('ALTER TABLE points_log ADD COLUMN logged_at timestamptz NOT NULL DEFAULT now()');
    },
    async down(db) {
      await db.raw('ALTER TABLE points_log DROP COLUMN logged_at');
    },
  },
];

/**
 * Search (a tsvector with a GIN index, a trigram GIN index, an ingredient
 * index) and what keyset paging needs (see listing.ts): ascending indexes
 * scanned backwards for row comparisons, the transaction id of each row's
 * last change, and a log of each recipe's point totals with the transaction
 * that wrote them.
 */
async function searchAndKeysetPaging(db: Knex) {
  // pg_trgm is a trusted extension: a member of the database's owners or any
  // role with CREATE on it may install it. Wherever it lives, name its operator class there.
  await db.raw('CREATE EXTENSION IF NOT EXISTS pg_trgm');
  const ext = await db.raw<{ rows: { schema: string }[] }>(
    "SELECT extnamespace::regnamespace::text AS schema FROM pg_extension WHERE extname = 'pg_trgm'",
  );
  const trgmSchema = ext.rows[0]!.schema;
  await db.raw(`ALTER TABLE recipes
    ADD COLUMN ingredients text[] NOT NULL DEFAULT '{}',
    ADD COLUMN ingredient_keys text[] NOT NULL DEFAULT '{}',
    ADD COLUMN search_text text NOT NULL DEFAULT '',
    ADD COLUMN search tsvector NOT NULL DEFAULT ''::tsvector,
    ADD COLUMN listed_xid xid8 NOT NULL DEFAULT '0',
    ADD COLUMN changed_xid xid8 NOT NULL DEFAULT '0'`);
  // The titles already listed (their ingredients never reached the read model).
  for (let after = ''; ;) {
    const rows = await db<{ recipe_id: string; title: string }>('recipes')
      .select('recipe_id', 'title')
      .whereNotNull('title')
      .where('recipe_id', '>', after || '00000000-0000-0000-0000-000000000000')
      .orderBy('recipe_id')
      .limit(500);
    for (const row of rows) {
      const doc = searchDocument(row.title, []);
      await db.raw(`UPDATE recipes SET search_text = ?, search = ${SEARCH_VECTOR_SQL} WHERE recipe_id = ?`, [
        doc.searchText,
        row.title,
        doc.ingredientsText,
        doc.titlePieces,
        doc.ingredientPieces,
        row.recipe_id,
      ]);
    }
    if (rows.length < 500) break;
    after = rows[rows.length - 1]!.recipe_id;
  }
  await db.raw('CREATE INDEX recipes_search_idx ON recipes USING gin (search)');
  await db.raw('CREATE INDEX recipes_search_trgm_idx ON recipes USING gin (search_text ??.gin_trgm_ops)', [trgmSchema]);
  await db.raw('CREATE INDEX recipes_ingredient_idx ON recipes USING gin (ingredient_keys)');
  const live = 'WHERE deleted_at IS NULL AND title IS NOT NULL';
  await db.raw('DROP INDEX recipes_catalogue_idx');
  await db.raw(`CREATE INDEX recipes_catalogue_keyset_idx ON recipes (points, registered_at, recipe_id) ${live}`);
  await db.raw(`CREATE INDEX recipes_member_page_idx ON recipes (member_id, registered_at, recipe_id) INCLUDE (points) ${live}`);
  await db.raw(`CREATE INDEX recipes_changed_idx ON recipes (changed_xid) ${live}`);
  // Totals only grow, so a recipe's (recipe, points) pairs are unique. The
  // totals already there count as written before any snapshot (xid 0).
  await db.raw(
    'CREATE TABLE points_log (recipe_id uuid NOT NULL, points integer NOT NULL, xid xid8 NOT NULL, PRIMARY KEY (recipe_id, points))',
  );
  await db.raw("INSERT INTO points_log (recipe_id, points, xid) SELECT recipe_id, points, '0' FROM recipes WHERE points > 0");
}

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: () => Promise.resolve(migrations),
  getMigrationName: (m) => m.name,
  getMigration: (m) => Promise.resolve({ up: m.up, down: m.down }),
};
