import Router from '@koa/router';
import {
  catalogueQuerySchema,
  deletedSchema,
  memberIdOf,
  myPageQuerySchema,
  parseInput,
  recommendedSchema,
  registeredSchema,
  topicHandler,
  type Logger,
  type Registered,
} from '@recipe/shared';
import { z } from 'zod';
import { auditRow, catalogueItem, memberPageView } from './domain.js';
import type { Listings } from './listing.js';
import { profileRoutes, type Profiles } from './profiles.js';
import type { ReadModel } from './store.js';

export interface RouteDeps {
  readModel: ReadModel;
  listings: Listings;
  profiles: Profiles;
  log: Logger;
}

/** GET /audit/recipes paging: by recipe id, after the last one of the page before. */
const auditQuerySchema = z.strictObject({
  after: z.uuid().optional(),
  limit: z.coerce.number().int().min(1).max(1000).default(500),
});

export function routes({ readModel, listings, profiles, log }: RouteDeps): Router {
  const router = new Router();

  router.get('/mypages/:memberId', async (ctx) => {
    const memberId = memberIdOf(ctx);
    const query = parseInput(myPageQuerySchema, ctx.query, 'query');
    ctx.body = memberPageView(memberId, await listings.memberPage(memberId, query));
  });

  router.get('/catalogue', async (ctx) => {
    const { rows, page } = await listings.catalogue(parseInput(catalogueQuerySchema, ctx.query, 'query'));
    ctx.body = { items: rows.map(catalogueItem), ...page };
  });

  // Internal (not routed by the gateway): the whole read model, for the invariant checker.
  router.get('/audit/recipes', async (ctx) => {
    const { after, limit } = parseInput(auditQuerySchema, ctx.query, 'query');
    ctx.body = (await readModel.allRecipes(after, limit)).map(auditRow);
  });

  profileRoutes(router, profiles);

  // A Registered may carry its author's token name: their default display name.
  const onRegistered = async (e: Registered) => {
    await readModel.onRegistered(e);
    await profiles.onRegistered(e);
  };
  router.post('/events/registered', topicHandler(registeredSchema, onRegistered, log));
  router.post('/events/recommended', topicHandler(recommendedSchema, readModel.onRecommended, log));
  router.post('/events/deleted', topicHandler(deletedSchema, readModel.onDeleted, log));
  return router;
}
