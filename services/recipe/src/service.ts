import { createOutbox, type BuiltService, type ServiceDeps } from '@recipe/shared';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createStore } from './store.js';
import { createCatalogue, type Catalogue } from './usecases.js';

/** The recommendation service wired up: its store, outbox, use cases and routes. */
export function buildRecipe(config: Config, { sidecar, log }: ServiceDeps): BuiltService {
  // The outbox relay settles intents by asking the use cases what the state says.
  let catalogue: Catalogue;
  const outbox = createOutbox({
    sidecar,
    pubsub: config.PUBSUB_NAME,
    appId: config.APP_ID,
    log,
    resolver: { settle: (intent) => catalogue.resolver.settle(intent), abandon: (intent) => catalogue.resolver.abandon(intent) },
    settleAfterMs: config.OUTBOX_SETTLE_AFTER_SECONDS * 1000,
  });
  catalogue = createCatalogue({
    store: createStore(sidecar, config.STATE_STORE),
    outbox,
    clock: () => new Date(),
    rules: { pointValue: config.POINT },
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
  });
  return {
    app: createApp({ catalogue, sidecar, outbox, log, appApiToken: config.APP_API_TOKEN, retryAfterSeconds: config.RETRY_AFTER_SECONDS }),
  };
}
