import { MEMBER_HEADER, TOPICS, createLogger, createOutbox, createSidecar, serve } from '@recipe/shared';
import { createApp } from './app.js';
import { readConfig } from './config.js';
import { createStore } from './store.js';
import { createMyRecipes, type RecommendationService } from './usecases.js';

const config = readConfig();
const log = createLogger('myrecipe', config.LOG_LEVEL);
const sidecar = createSidecar({ host: config.DAPR_HOST, httpPort: config.DAPR_HTTP_PORT, apiToken: config.DAPR_API_TOKEN, log });
const outbox = createOutbox({ sidecar, store: config.STATE_STORE, pubsub: config.PUBSUB_NAME, appId: config.APP_ID, topics: [TOPICS.registered, TOPICS.deleted], log, directPublish: config.OUTBOX_DIRECT_PUBLISH });

const recommendations: RecommendationService = {
  withdraw: (recipeId, memberId) =>
    sidecar.invoke(config.RECIPE_APP_ID, 'withdrawals', { method: 'POST', body: { recipeId }, headers: { [MEMBER_HEADER]: memberId } }),
  cancelWithdrawal: (recipeId, memberId) =>
    sidecar.invoke(config.RECIPE_APP_ID, 'withdrawal-cancellations', { method: 'POST', body: { recipeId }, headers: { [MEMBER_HEADER]: memberId } }),
};

const myRecipes = createMyRecipes({
  store: createStore(sidecar, config.STATE_STORE),
  events: outbox,
  recommendations,
  clock: () => new Date(),
  retryAfterSeconds: config.RETRY_AFTER_SECONDS,
  log,
});

const app = createApp({ myRecipes, sidecar, outbox, log, appApiToken: config.APP_API_TOKEN, retryAfterSeconds: config.RETRY_AFTER_SECONDS });
await serve(app, { port: config.PORT, host: config.HOST, metricsPort: config.METRICS_PORT, log, shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS });
