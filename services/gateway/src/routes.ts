import { randomUUID } from 'node:crypto';
import Router from '@koa/router';
import {
  AppError,
  DaprError,
  IDEMPOTENCY_HEADER,
  invocationOutcome,
  outcomeUnknown,
  retryNotSent,
  MEMBER_HEADER,
  catalogueQuerySchema,
  myPageQuerySchema,
  idempotencyKeySchema,
  newRecipeSchema,
  parseInput,
  recipeIdOf,
  type InvokeOptions,
  type Sidecar,
} from '@recipe/shared';
import type { Context, Middleware, Next } from 'koa';
import { verdictOf, type Breaker } from './breaker.js';
import { authorNames, memberNameHeader, memberRoutes, withoutAuthor } from './members.js';
import { apiDocs } from './docs.js';
import { webRoutes, type WebOptions } from './web.js';

export interface Upstreams {
  myrecipe: string;
  recipe: string;
  mypage: string;
}

export interface RouteDeps {
  sidecar: Sidecar;
  apps: Upstreams;
  authenticate: (ctx: Context, next: Next) => Promise<void>;
  /** Per-member rate limit, after authentication. */
  rateLimit?: Middleware;
  /** Bulkhead for registrations. */
  registrationLimit: Middleware;
  /** Turns registrations away at once while myrecipe keeps failing them. */
  registrationBreaker: Breaker;
  retryAfterSeconds: number;
  /** The web app at / and its sign-in; none: the API alone. */
  web?: WebOptions;
}

export const REGISTRATION_BUSY = 'registration is busy right now; please register again in a moment';

/**
 * The public API. Every route authenticates, validates what it puts into a
 * path, and calls one service through Dapr with the member id in a header.
 */
export function routes({
  sidecar,
  apps,
  authenticate,
  rateLimit,
  registrationLimit,
  registrationBreaker,
  retryAfterSeconds,
  web,
}: RouteDeps): Router {
  const router = new Router();

  /**
   * One call through Dapr. A call Dapr refused before it could reach the app
   * (a replica that just went away and is still in name resolution, say) is
   * made again, a few times over a little longer than a dead replica stays
   * resolvable: that is always safe; so is repeating a read whose replica died
   * while answering. Dapr itself does not retry (see
   * components/resiliency-gateway.yaml).
   */
  async function call(ctx: Context, appId: string, method: string, options: InvokeOptions = {}) {
    const write = options.method === 'POST' || options.method === 'DELETE' || options.method === 'PUT';
    try {
      return await retryNotSent(
        () =>
          sidecar.invoke<unknown>(appId, method, {
            ...options,
            headers: { [MEMBER_HEADER]: ctx.state.memberId as string, ...memberNameHeader(ctx), ...options.headers },
          }),
        { read: !write },
      );
    } catch (err) {
      throw relayError(err, retryAfterSeconds, write);
    }
  }

  // Public, so registered before authentication: /openapi.json and /docs, the web app.
  apiDocs(router);
  if (web) webRoutes(router, web);
  router.use(authenticate);
  if (rateLimit) router.use(rateLimit);
  const authors = authorNames(sidecar, apps.mypage, retryAfterSeconds);

  router.post('/myrecipes', registrationLimit, async (ctx) => {
    const recipe = parseInput(newRecipeSchema, ctx.request.body);
    // Without a key of the client's, one per request: a retry by Dapr's
    // resiliency policy then finds the recipe instead of creating another.
    const clientKey = ctx.get(IDEMPOTENCY_HEADER);
    const key = clientKey ? parseInput(idempotencyKeySchema, clientKey, 'Idempotency-Key') : `gateway-${randomUUID()}`;
    const report = registrationBreaker.admit();
    try {
      const registered = await call(ctx, apps.myrecipe, 'myrecipes', {
        method: 'POST',
        body: recipe,
        headers: { [IDEMPOTENCY_HEADER]: key },
      });
      // A 201 is a promise that the recipe is stored: never without the recipe to show for it.
      if (typeof (registered as { recipeId?: unknown } | undefined)?.recipeId !== 'string') throw outcomeUnknown(retryAfterSeconds);
      ctx.body = registered;
      report('success');
    } catch (err) {
      report(verdictOf(err));
      if (err instanceof AppError && err.status === 503 && err.code === 'SERVICE.UNAVAILABLE') {
        throw new AppError(503, 'SERVICE.OVERLOADED', REGISTRATION_BUSY, {
          retryAfterSeconds: err.retryAfterSeconds ?? retryAfterSeconds,
          cause: err,
        });
      }
      throw err;
    }
    ctx.status = 201;
  });

  router.get('/myrecipes/:recipeId', async (ctx) => {
    ctx.body = await call(ctx, apps.myrecipe, `myrecipes/${recipeIdOf(ctx)}`);
  });

  router.delete('/myrecipes/:recipeId', async (ctx) => {
    ctx.body = await call(ctx, apps.myrecipe, `myrecipes/${recipeIdOf(ctx)}`, { method: 'DELETE' });
  });

  // The listing is a query, served by the read model (CQRS); one recipe comes from its owner.
  router.get('/recipes', async (ctx) => {
    const query = parseInput(catalogueQuerySchema, ctx.query, 'query');
    const listing = (await call(ctx, apps.mypage, withQuery('catalogue', query))) as { items: { authorId?: unknown }[] };
    ctx.body = { ...listing, items: await authors.many(listing.items ?? []) };
  });

  // Its totals from the recommendation service, its content from its owner (the write side).
  router.get('/recipes/:recipeId', async (ctx) => {
    const recipeId = recipeIdOf(ctx);
    const [totals, content] = await Promise.all([
      call(ctx, apps.recipe, `recipes/${recipeId}`) as Promise<{ authorId?: unknown }>,
      call(ctx, apps.myrecipe, `recipes/${recipeId}/content`) as Promise<{ ingredients: string[]; steps: string[] }>,
    ]);
    ctx.body = { ...(await authors.one(totals)), ingredients: content.ingredients, steps: content.steps };
  });

  router.post('/recipes/:recipeId/recommendations', async (ctx) => {
    const result = (await call(ctx, apps.recipe, `recipes/${recipeIdOf(ctx)}/recommendations`, { method: 'POST' })) as {
      alreadyRecommended?: boolean;
      authorId?: unknown;
    };
    ctx.status = result.alreadyRecommended ? 200 : 201;
    ctx.body = withoutAuthor(result);
  });

  router.get('/mypages/me', async (ctx) => {
    const query = ctx.querystring ? parseInput(myPageQuerySchema, ctx.query, 'query') : {};
    ctx.body = await call(ctx, apps.mypage, withQuery(`mypages/${encodeURIComponent(ctx.state.memberId as string)}`, query));
  });

  memberRoutes(router, call, apps);

  return router;
}

/** The path with only the fields a query schema let through, encoded again: nothing else of the client's query reaches a service. */
function withQuery(path: string, query: Record<string, string | number | undefined>): string {
  const qs = new URLSearchParams(Object.entries(query).flatMap(([k, v]) => (v === undefined ? [] : [[k, String(v)]]))).toString();
  return qs ? `${path}?${qs}` : path;
}

/**
 * Why a call failed, as the member should hear it. A service's own 4xx, 503
 * or 504 is passed on as it is (with its Retry-After). Otherwise a 503
 * ("nothing changed, retry later") only where no attempt can have reached the
 * service (see invocationOutcome). Any other failure of a write (a timeout, a
 * connection dropped mid-call) may have been applied: 504, retry the same
 * request (with the same Idempotency-Key) to find out.
 */
function relayError(err: unknown, retryAfterSeconds: number, write: boolean): AppError {
  if (!(err instanceof DaprError)) return err instanceof AppError ? err : new AppError(500, 'INTERNAL', 'internal error', { cause: err });
  const body = (err.body as { error?: { code?: string; message?: string; details?: unknown } } | undefined)?.error;
  const outcome = invocationOutcome(err);
  if (outcome === 'answered' && body?.code && body.message && err.status !== undefined) {
    if (err.status < 500) return new AppError(err.status, body.code, body.message, { details: body.details });
    if (err.status === 503 || err.status === 504)
      return new AppError(err.status, body.code, body.message, {
        retryAfterSeconds: err.retryAfterSeconds ?? retryAfterSeconds,
        cause: err,
      });
  }
  if (write && outcome !== 'not-sent') {
    return new AppError(
      504,
      'SERVICE.OUTCOME_UNKNOWN',
      'the service did not confirm in time; the change may have been applied: retry the same request to find out',
      {
        retryAfterSeconds,
        cause: err,
      },
    );
  }
  return new AppError(503, 'SERVICE.UNAVAILABLE', 'the service is busy or unavailable, please retry shortly', {
    retryAfterSeconds,
    cause: err,
  });
}
