import type { BuiltService, ServiceDeps } from '@recipe/shared';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createCursors } from './cursor.js';
import { createListings } from './listing.js';
import { createProfiles } from './profiles.js';
import { connect, createReadModel, migrate } from './store.js';

/** The read model wired up: its database (migrated), its routes and event handlers. */
export async function buildMypage(config: Config, deps: ServiceDeps): Promise<BuiltService> {
  const db = connect(config.DATABASE_URL, config.DATABASE_SCHEMA, config.DATABASE_POOL_MAX);
  await migrate(db, config.DATABASE_SCHEMA, deps.log);
  // Cursors are signed with a key derived from the token every replica shares (cursor.ts).
  if (!config.APP_API_TOKEN) deps.log.warn('no APP_API_TOKEN: paging cursors are signed with a random key and open only on this replica');
  const listings = createListings(db, createCursors(config.APP_API_TOKEN));
  return { app: createApp(config, deps, createReadModel(db), listings, createProfiles(db)), close: () => db.destroy() };
}
