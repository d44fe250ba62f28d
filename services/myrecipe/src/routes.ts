import Router from '@koa/router';
import {
  IDEMPOTENCY_HEADER,
  MEMBER_NAME_HEADER,
  decodeNameHeader,
  myRecipesQuerySchema,
  idempotencyKeySchema,
  memberIdOf,
  memberOf,
  notFound,
  newRecipeSchema,
  intentSchema,
  parseInput,
  recipeIdOf,
  recommendedSchema,
  topicHandler,
  type Logger,
  type Outbox,
} from '@recipe/shared';
import type { MyRecipes } from './usecases.js';

export interface RouteDeps {
  myRecipes: MyRecipes;
  outbox: Pick<Outbox, 'relay' | 'relayLate'>;
  log: Logger;
}

export function routes({ myRecipes, outbox, log }: RouteDeps): Router {
  const router = new Router();
  router.post('/myrecipes', async (ctx) => {
    const memberId = memberOf(ctx);
    const input = parseInput(newRecipeSchema, ctx.request.body);
    const keyHeader = ctx.get(IDEMPOTENCY_HEADER);
    const key = keyHeader ? parseInput(idempotencyKeySchema, keyHeader, 'Idempotency-Key') : undefined;
    const authorName = decodeNameHeader(ctx.get(MEMBER_NAME_HEADER));
    const { recipe, replayed } = await myRecipes.register(memberId, input, key, authorName);
    ctx.status = 201;
    ctx.body = recipe;
    if (replayed) ctx.set('Idempotent-Replayed', 'true');
  });

  // The caller's own recipes, newest first (the gateway's GET /myrecipes): only the member themself.
  router.get('/members/:memberId/recipes', async (ctx) => {
    const memberId = memberOf(ctx);
    if (memberIdOf(ctx) !== memberId) throw notFound('MEMBER.NOT_FOUND', 'no such member');
    const { limit, cursor } = parseInput(myRecipesQuerySchema, ctx.query, 'query');
    ctx.body = await myRecipes.list(memberId, limit, cursor);
  });

  router.get('/myrecipes/:recipeId', async (ctx) => {
    ctx.body = await myRecipes.get(memberOf(ctx), recipeIdOf(ctx));
  });

  // A recipe's ingredients and steps, for any member (the gateway's GET /recipes/{id}).
  router.get('/recipes/:recipeId/content', async (ctx) => {
    ctx.body = await myRecipes.content(recipeIdOf(ctx));
  });

  router.delete('/myrecipes/:recipeId', async (ctx) => {
    ctx.body = await myRecipes.remove(memberOf(ctx), recipeIdOf(ctx));
  });

  router.get('/members/:memberId/balance', async (ctx) => {
    ctx.body = await myRecipes.balance(memberIdOf(ctx));
  });

  router.post('/events/recommended', topicHandler(recommendedSchema, myRecipes.onRecommended, log));
  router.post('/events/outbox', topicHandler(intentSchema, outbox.relay, log));
  router.post('/events/outbox-late', topicHandler(intentSchema, outbox.relayLate, log));
  return router;
}
