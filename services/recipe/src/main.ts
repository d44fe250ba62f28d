import { TOPICS, createLogger, createOutbox, createSidecar, serve } from '@recipe/shared';
import { createApp } from './app.js';
import { readConfig } from './config.js';
import { createStore } from './store.js';
import { createCatalogue } from './usecases.js';

const config = readConfig();
const log = createLogger('recipe', config.LOG_LEVEL);
const sidecar = createSidecar({ host: config.DAPR_HOST, httpPort: config.DAPR_HTTP_PORT, apiToken: config.DAPR_API_TOKEN, log });
const outbox = createOutbox({ sidecar, store: config.STATE_STORE, pubsub: config.PUBSUB_NAME, appId: config.APP_ID, topics: [TOPICS.recommended], log, directPublish: config.OUTBOX_DIRECT_PUBLISH });

const catalogue = createCatalogue({
  store: createStore(sidecar, config.STATE_STORE),
  events: outbox,
  clock: () => new Date(),
  rules: { pointValue: config.POINT, holdMs: config.WITHDRAWAL_HOLD_SECONDS * 1000 },
  retryAfterSeconds: config.RETRY_AFTER_SECONDS,
});

const app = createApp({ catalogue, sidecar, outbox, log, appApiToken: config.APP_API_TOKEN, retryAfterSeconds: config.RETRY_AFTER_SECONDS });
await serve(app, { port: config.PORT, host: config.HOST, metricsPort: config.METRICS_PORT, log, shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS });
