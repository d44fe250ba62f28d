import { sidecarApp, type ServiceApp, type ServiceDeps } from '@recipe/shared';
import type { Config } from './config.js';
import type { Listings } from './listing.js';
import type { Profiles } from './profiles.js';
import { routes } from './routes.js';
import type { ReadModel } from './store.js';

/** Connection failures, pool timeouts and PostgreSQL errors carry a string code. */
function isDatabaseError(err: unknown): boolean {
  return (err as Error)?.name === 'KnexTimeoutError' || typeof (err as { code?: unknown })?.code === 'string';
}

/** The Koa app, never listening: main.ts serves it, tests drive it in-process. */
export function createApp(config: Config, deps: ServiceDeps, readModel: ReadModel, listings: Listings, profiles: Profiles): ServiceApp {
  return sidecarApp('mypage', config, deps, {
    router: routes({ readModel, listings, profiles, log: deps.log }),
    readiness: { database: () => readModel.ping() },
    isDependencyError: isDatabaseError,
  });
}
