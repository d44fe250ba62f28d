import { MEMBER_HEADER, createLogger, createOutbox, createSidecar, retryNotSent, serve } from '@recipe/shared';
import { createApp } from './app.js';
import { readConfig } from './config.js';
import { createStore } from './store.js';
import { createMyRecipes, type MyRecipes, type RecommendationService } from './usecases.js';

const config = readConfig();
const log = createLogger('myrecipe', config.LOG_LEVEL);
const sidecar = createSidecar({ host: config.DAPR_HOST, httpPort: config.DAPR_HTTP_PORT, apiToken: config.DAPR_API_TOKEN, log });

// A call Dapr refused before sending it (a recipe replica that just went away) is made again.
const recommendations: RecommendationService = {
  withdraw: (recipeId, memberId, attempt) =>
    retryNotSent(() => sidecar.invoke(config.RECIPE_APP_ID, 'withdrawals', { method: 'POST', body: { recipeId, attempt }, headers: { [MEMBER_HEADER]: memberId } })),
  releaseHold: (recipeId, memberId, attempt) =>
    retryNotSent(() => sidecar.invoke(config.RECIPE_APP_ID, 'withdrawal-cancellations', { method: 'POST', body: { recipeId, attempt }, headers: { [MEMBER_HEADER]: memberId } })),
};

// The outbox relay settles intents by asking the use cases what the state says.
let myRecipes: MyRecipes;
const outbox = createOutbox({
  sidecar,
  pubsub: config.PUBSUB_NAME,
  appId: config.APP_ID,
  log,
  resolver: { settle: (intent) => myRecipes.resolver.settle(intent), abandon: (intent) => myRecipes.resolver.abandon(intent) },
  settleAfterMs: config.OUTBOX_SETTLE_AFTER_SECONDS * 1000,
});
myRecipes = createMyRecipes({
  store: createStore(sidecar, config.STATE_STORE),
  outbox,
  recommendations,
  clock: () => new Date(),
  retryAfterSeconds: config.RETRY_AFTER_SECONDS,
  deductionBreakerSeconds: config.DEDUCTION_BREAKER_SECONDS,
  log,
});

const app = createApp({ myRecipes, sidecar, outbox, log, appApiToken: config.APP_API_TOKEN, retryAfterSeconds: config.RETRY_AFTER_SECONDS });
await serve(app, { port: config.PORT, host: config.HOST, metricsPort: config.METRICS_PORT, log, shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS });
