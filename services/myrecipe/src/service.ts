import { MEMBER_HEADER, createOutbox, retryNotSent, type BuiltService, type ServiceDeps } from '@recipe/shared';
import { createApp } from './app.js';
import type { Config } from './config.js';
import { createStore } from './store.js';
import { createMyRecipes, type MyRecipes, type RecommendationService } from './usecases.js';

/** myrecipe wired up: its store, the recommendation service it calls, its outbox, use cases and routes. */
export function buildMyrecipe(config: Config, { sidecar, log }: ServiceDeps): BuiltService {
  // A call Dapr refused before sending it (a recipe replica that just went away) is made again.
  const call = (method: string, recipeId: string, memberId: string, attempt: string) =>
    retryNotSent(() =>
      sidecar.invoke<never>(config.RECIPE_APP_ID, method, {
        method: 'POST',
        body: { recipeId, attempt },
        headers: { [MEMBER_HEADER]: memberId },
      }),
    );
  const recommendations: RecommendationService = {
    withdraw: (recipeId, memberId, attempt) => call('withdrawals', recipeId, memberId, attempt),
    releaseHold: (recipeId, memberId, attempt) => call('withdrawal-cancellations', recipeId, memberId, attempt),
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
  return {
    app: createApp({ myRecipes, sidecar, outbox, log, appApiToken: config.APP_API_TOKEN, retryAfterSeconds: config.RETRY_AFTER_SECONDS }),
  };
}
