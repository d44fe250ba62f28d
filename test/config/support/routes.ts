// The routes each app's Koa router really registers (services/<app>/src/routes.ts),
// read from the routers themselves: built with inert dependencies, never run.
import type Router from '@koa/router';
import { existsSync } from 'node:fs';
import type { Context, Next } from 'koa';
import type { AppId } from '../../../packages/shared/src/access.js';
import { rel, run } from './manifests.js';

export interface Registered {
  app: AppId;
  verb: string;
  path: string;
}

const inert = (): never => {
  throw new Error('only the routes are read; no handler runs');
};
const pass = async (_ctx: Context, next: Next) => {
  await next();
};

/** Every (verb, path) each app's router answers, HEAD (Koa's echo of GET) aside. */
export async function registeredRoutes(): Promise<Registered[]> {
  // The services import @recipe/shared, which resolves to its build.
  if (!existsSync(rel('packages/shared/dist/index.js'))) {
    const built = await run('npx', ['tsc', '-b', 'packages/shared'], { echoStderr: true });
    if (built.code !== 0) throw new Error('building packages/shared failed');
  }
  const [gateway, myrecipe, recipe, mypage] = await Promise.all([
    import('../../../services/gateway/src/routes.js'),
    import('../../../services/myrecipe/src/routes.js'),
    import('../../../services/recipe/src/routes.js'),
    import('../../../services/mypage/src/routes.js'),
  ]);
  const log = { info: inert, warn: inert, error: inert, debug: inert } as never;
  const outbox = { relay: inert, relayLate: inert };
  const routers: Record<AppId, Router> = {
    gateway: gateway.routes({
      sidecar: {} as never,
      apps: { myrecipe: 'myrecipe', recipe: 'recipe', mypage: 'mypage' },
      authenticate: pass,
      registrationLimit: pass,
      registrationBreaker: {} as never,
      retryAfterSeconds: 1,
    }),
    myrecipe: myrecipe.routes({ myRecipes: {} as never, outbox, log }),
    recipe: recipe.routes({ catalogue: {} as never, outbox, log }),
    mypage: mypage.routes({ readModel: {} as never, listings: {} as never, profiles: {} as never, log }),
  };
  return Object.entries(routers).flatMap(([app, router]) =>
    router.stack.flatMap((layer) =>
      layer.methods
        .filter((verb) => verb !== 'HEAD')
        .map((verb) => {
          if (typeof layer.path !== 'string') throw new Error(`${app}: a route by regular expression (${String(layer.path)})`);
          return { app: app as AppId, verb, path: layer.path };
        }),
    ),
  );
}
