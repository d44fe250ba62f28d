import type { BuiltService, ServiceDeps } from '@recipe/shared';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createProfiles } from './profiles.js';
import { connect, createReadModel, migrate } from './store.js';

/** The read model wired up: its database (migrated), its routes and event handlers. */
export async function buildMypage(config: Config, deps: ServiceDeps): Promise<BuiltService> {
  const db = connect(config.DATABASE_URL, config.DATABASE_SCHEMA, config.DATABASE_POOL_MAX);
  await migrate(db, config.DATABASE_SCHEMA, deps.log);
  return { app: createApp(config, deps, createReadModel(db), createProfiles(db)), close: () => db.destroy() };
}
