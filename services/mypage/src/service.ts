import type { BuiltService, ServiceDeps } from '@recipe/shared';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createCursors } from './cursor.js';
import { CATALOGUE_CURSOR_MAX_AGE_SECONDS, createListings } from './listing.js';
import { createProfiles } from './profiles.js';
import { connect, createReadModel, migrate } from './store.js';

/** The read model wired up: its database (migrated), its routes and event handlers. */
export async function buildMypage(config: Config, deps: ServiceDeps): Promise<BuiltService> {
  const db = connect(config.DATABASE_URL, config.DATABASE_SCHEMA, config.DATABASE_POOL_MAX);
  await migrate(db, config.DATABASE_SCHEMA, deps.log);
  // Cursors are signed with a key derived from the token every replica shares (cursor.ts).
  if (!config.APP_API_TOKEN) deps.log.warn('no APP_API_TOKEN: paging cursors are signed with a random key and open only on this replica');
  const listings = createListings(db, createCursors(config.APP_API_TOKEN));
  const model = createReadModel(db);
  // Every replica prunes: deleting what another already deleted is no harm.
  const pruning = setInterval(() => {
    model.prunePointsLog(CATALOGUE_CURSOR_MAX_AGE_SECONDS + PRUNE_MARGIN_SECONDS).then(
      (pruned) => pruned && deps.log.info({ pruned }, 'points_log pruned'),
      (err: unknown) => deps.log.warn({ err }, 'points_log could not be pruned; trying again later'),
    );
  }, config.POINTS_LOG_PRUNE_INTERVAL_SECONDS * 1000);
  pruning.unref();
  return {
    app: createApp(config, deps, model, listings, createProfiles(db)),
    close: async () => {
      clearInterval(pruning);
      await db.destroy();
    },
  };
}

/** Beyond a cursor's hour: longer than any transaction that logs a total runs. */
const PRUNE_MARGIN_SECONDS = 300;
