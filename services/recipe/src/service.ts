import { serviceOutbox, type BuiltService, type ServiceDeps } from '@recipe/shared';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createStore } from './store.js';
import { createCatalogue } from './usecases.js';

/** The recommendation service wired up: its store, outbox, use cases and routes. */
export function buildRecipe(config: Config, deps: ServiceDeps): BuiltService {
  // The outbox relay settles intents by asking the use cases what the state says.
  const outbox = serviceOutbox(config, deps, () => catalogue.resolver);
  const catalogue = createCatalogue({
    store: createStore(deps.sidecar, config.STATE_STORE),
    outbox,
    clock: () => new Date(),
    rules: { pointValue: config.POINT },
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
  });
  return { app: createApp(config, deps, { catalogue, outbox }) };
}
