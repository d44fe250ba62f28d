import Router from '@koa/router';
import {
  deletedSchema,
  memberOf,
  outboxIntentSchema,
  parseInput,
  recipeIdSchema,
  registeredSchema,
  topicHandler,
  type Logger,
  type Outbox,
} from '@recipe/shared';
import { z } from 'zod';
import type { Catalogue } from './usecases.js';

export interface RouteDeps {
  catalogue: Catalogue;
  outbox: Pick<Outbox, 'relay'>;
  log: Logger;
}

const withdrawalSchema = z.strictObject({ recipeId: recipeIdSchema });

export function routes({ catalogue, outbox, log }: RouteDeps): Router {
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

  // The synchronous point deduction; only myrecipe may call these (Dapr
  // access control). The recipe id is in the body, not the path, because Dapr
  // keys circuit breakers by app and method path: all withdrawals share one,
  // and cancellations have their own (a cancellation that succeeds must not
  // reset the count of failing withdrawals).
  router.post('/withdrawals', async (ctx) => {
    const { recipeId } = parseInput(withdrawalSchema, ctx.request.body);
    ctx.body = await catalogue.withdraw(recipeId, memberOf(ctx));
  });
  router.post('/withdrawal-cancellations', async (ctx) => {
    const { recipeId } = parseInput(withdrawalSchema, ctx.request.body);
    await catalogue.cancelWithdrawal(recipeId, memberOf(ctx));
    ctx.status = 204;
  });

  router.post('/events/registered', topicHandler(registeredSchema, (e) => catalogue.onRegistered(e.data), log));
  router.post('/events/deleted', topicHandler(deletedSchema, (e) => catalogue.onDeleted(e.data), log));
  router.post('/events/outbox', topicHandler(outboxIntentSchema, outbox.relay, log));
  return router;
}
