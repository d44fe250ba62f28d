import type { Knex } from 'knex';
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
  // Members' display names (profiles.ts).
  memberProfilesMigration,
];

export const migrationSource: Knex.MigrationSource<Migration> = {
  getMigrations: () => Promise.resolve(migrations),
  getMigrationName: (m) => m.name,
  getMigration: (m) => Promise.resolve({ up: m.up, down: m.down }),
};
