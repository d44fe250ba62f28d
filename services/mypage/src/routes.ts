import Router from '@koa/router';
import {
  catalogueQuerySchema,
  deletedSchema,
  memberIdSchema,
  parseInput,
  recommendedSchema,
  registeredSchema,
  topicHandler,
  type Logger,
} from '@recipe/shared';
import { auditQuerySchema, auditRow, catalogueItem, memberPageView } from './domain.js';
import type { ReadModel } from './store.js';

export interface RouteDeps {
  readModel: ReadModel;
  log: Logger;
}

export function routes({ readModel, log }: RouteDeps): Router {
  const router = new Router();

  router.get('/mypages/:memberId', async (ctx) => {
    const memberId = parseInput(memberIdSchema, ctx.params.memberId, 'member id');
    ctx.body = memberPageView(memberId, await readModel.memberPage(memberId));
  });

  router.get('/catalogue', async (ctx) => {
    const { page, size } = parseInput(catalogueQuerySchema, ctx.query, 'query');
    const { rows, hasMore } = await readModel.catalogue(size, (page - 1) * size);
    ctx.body = { items: rows.map(catalogueItem), page, size, hasMore };
  });

  // Internal (not routed by the gateway): the whole read model, for the invariant checker.
  router.get('/audit/recipes', async (ctx) => {
    const { after, limit } = parseInput(auditQuerySchema, ctx.query, 'query');
    ctx.body = (await readModel.allRecipes(after, limit)).map(auditRow);
  });

  router.post(
    '/events/registered',
    topicHandler(registeredSchema, (e) => readModel.onRegistered(e.data), log),
  );
  router.post(
    '/events/recommended',
    topicHandler(recommendedSchema, (e) => readModel.onRecommended(e.data), log),
  );
  router.post(
    '/events/deleted',
    topicHandler(deletedSchema, (e) => readModel.onDeleted(e.data), log),
  );
  return router;
}
