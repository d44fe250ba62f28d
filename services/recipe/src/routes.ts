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
import { z } from 'zod';
import type { Catalogue } from './usecases.js';

export interface RouteDeps {
  catalogue: Catalogue;
  sidecar: Sidecar;
  pubsub: string;
  log: Logger;
}

const withdrawalSchema = z.strictObject({ recipeId: recipeIdSchema });

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

  // The synchronous point deduction; only myrecipe may call it (Dapr access
  // control). The recipe id is not in the path so that all withdrawals share
  // one circuit breaker: Dapr keys breakers by app and method path.
  router.post('/withdrawals', async (ctx) => {
    const { recipeId } = parseInput(withdrawalSchema, ctx.request.body);
    ctx.body = await catalogue.withdraw(recipeId, memberOf(ctx));
  });
  router.delete('/withdrawals', async (ctx) => {
    const { recipeId } = parseInput(withdrawalSchema, ctx.query, 'query');
    await catalogue.cancelWithdrawal(recipeId, memberOf(ctx));
    ctx.status = 204;
  });

  router.post('/events/registered', topicHandler(registeredSchema, (e) => catalogue.onRegistered(e.data), log));
  router.post('/events/deleted', topicHandler(deletedSchema, (e) => catalogue.onDeleted(e.data), log));
  router.post('/events/outbox', topicHandler(outboxEnvelopeSchema, outboxRelay(sidecar, pubsub, [TOPICS.recommended]), log));
  return router;
}
