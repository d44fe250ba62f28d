import { MEMBER_HEADER, retryNotSent, serviceOutbox, type BuiltService, type ServiceDeps } from '@recipe/shared';
import { createApp } from './app.js';
import { createCursors } from './cursor.js';
import type { Config } from './config.js';
import { createStore } from './store.js';
import { createMyRecipes, type RecommendationService } from './usecases.js';

/** myrecipe wired up: its store, the recommendation service it calls, its outbox, use cases and routes. */
export function buildMyrecipe(config: Config, deps: ServiceDeps): BuiltService {
  const { sidecar, log } = deps;
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
  const outbox = serviceOutbox(config, deps, () => myRecipes.resolver);
  const myRecipes = createMyRecipes({
    store: createStore(sidecar, config.STATE_STORE),
    outbox,
    recommendations,
    clock: () => new Date(),
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    deductionBreakerSeconds: config.DEDUCTION_BREAKER_SECONDS,
    log,
    cursors: createCursors(config.APP_API_TOKEN),
  });
  return { app: createApp(config, deps, { myRecipes, outbox }) };
}
