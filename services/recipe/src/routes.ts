import Router from '@koa/router';
import {
  deletedSchema,
  memberOf,
  intentSchema,
  parseInput,
  recipeIdOf,
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
  outbox: Pick<Outbox, 'relay' | 'relayLate'>;
  log: Logger;
}

/** A delete attempt's withdrawal (or release): myrecipe names the attempt. */
const withdrawalSchema = z.strictObject({ recipeId: recipeIdSchema, attempt: z.uuid() });

export function routes({ catalogue, outbox, log }: RouteDeps): Router {
  const router = new Router();
  router.get('/recipes/:recipeId', async (ctx) => {
    ctx.body = await catalogue.get(recipeIdOf(ctx));
  });

  router.post('/recipes/:recipeId/recommendations', async (ctx) => {
    const result = await catalogue.recommend(recipeIdOf(ctx), memberOf(ctx));
    ctx.status = result.alreadyRecommended ? 200 : 201;
    ctx.body = result;
  });

  // The synchronous point deduction; only myrecipe may call these (Dapr
  // access control). The recipe id is in the body, not the path, because Dapr
  // keys circuit breakers by app and method path: all withdrawals share one,
  // and releases have their own (a release that succeeds must not reset the
  // count of failing withdrawals). A refused withdrawal is an answer
  // ({held: false}, 200), not an error: Dapr's breaker counts every non-2xx.
  router.post('/withdrawals', async (ctx) => {
    const { recipeId, attempt } = parseInput(withdrawalSchema, ctx.request.body);
    ctx.body = await catalogue.withdraw(recipeId, memberOf(ctx), attempt);
  });
  router.post('/withdrawal-cancellations', async (ctx) => {
    const { recipeId, attempt } = parseInput(withdrawalSchema, ctx.request.body);
    await catalogue.releaseHold(recipeId, memberOf(ctx), attempt);
    ctx.status = 204;
  });

  router.post('/events/registered', topicHandler(registeredSchema, catalogue.onRegistered, log));
  router.post('/events/deleted', topicHandler(deletedSchema, catalogue.onDeleted, log));
  router.post('/events/outbox', topicHandler(intentSchema, outbox.relay, log));
  router.post('/events/outbox-late', topicHandler(intentSchema, outbox.relayLate, log));
  return router;
}
