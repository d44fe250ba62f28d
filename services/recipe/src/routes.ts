import Router from '@koa/router';
import {
  TOPICS,
  deletedSchema,
  memberOf,
  outboxEnvelopeSchema,
  outboxRelay,
  parseInput,
  recipeIdSchema,
  registeredSchema,
  topicHandler,
  type Logger,
  type Sidecar,
} from '@recipe/shared';
import type { Catalogue } from './usecases.js';

export interface RouteDeps {
  catalogue: Catalogue;
  sidecar: Sidecar;
  pubsub: string;
  log: Logger;
}

export function routes({ catalogue, sidecar, pubsub, log }: RouteDeps): Router {
  const router = new Router();
  const recipeIdOf = (value: string | undefined) => parseInput(recipeIdSchema, value, 'recipe id');

  router.get('/recipes/:recipeId', async (ctx) => {
    ctx.body = await catalogue.get(recipeIdOf(ctx.params.recipeId));
  });

  router.post('/recipes/:recipeId/recommendations', async (ctx) => {
    const result = await catalogue.recommend(recipeIdOf(ctx.params.recipeId), memberOf(ctx));
    ctx.status = result.alreadyRecommended ? 200 : 201;
    ctx.body = result;
  });

  // Only myrecipe may call these two (Dapr access control): the synchronous point deduction.
  router.post('/recipes/:recipeId/withdrawal', async (ctx) => {
    ctx.body = await catalogue.withdraw(recipeIdOf(ctx.params.recipeId), memberOf(ctx));
  });
  router.delete('/recipes/:recipeId/withdrawal', async (ctx) => {
    await catalogue.cancelWithdrawal(recipeIdOf(ctx.params.recipeId), memberOf(ctx));
    ctx.status = 204;
  });

  router.post('/events/registered', topicHandler(registeredSchema, (e) => catalogue.onRegistered(e.data), log));
  router.post('/events/deleted', topicHandler(deletedSchema, (e) => catalogue.onDeleted(e.data), log));
  router.post('/events/outbox', topicHandler(outboxEnvelopeSchema, outboxRelay(sidecar, pubsub, [TOPICS.recommended]), log));
  return router;
}
