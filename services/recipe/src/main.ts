import { createLogger, createOutbox, createSidecar, serve } from '@recipe/shared';
import { createApp } from './app.js';
import { readConfig } from './config.js';
import { createStore } from './store.js';
import { createCatalogue, type Catalogue } from './usecases.js';

const config = readConfig();
const log = createLogger('recipe', config.LOG_LEVEL);
const sidecar = createSidecar({ host: config.DAPR_HOST, httpPort: config.DAPR_HTTP_PORT, apiToken: config.DAPR_API_TOKEN, log });

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

const app = createApp({ catalogue, sidecar, outbox, log, appApiToken: config.APP_API_TOKEN, retryAfterSeconds: config.RETRY_AFTER_SECONDS });
await serve(app, { port: config.PORT, host: config.HOST, metricsPort: config.METRICS_PORT, log, shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS });
