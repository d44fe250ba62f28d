import { createServiceApp, type ServiceApp, type Sidecar } from '@recipe/shared';
import { routes, type RouteDeps } from './routes.js';

export interface AppDeps extends RouteDeps {
  sidecar: Sidecar;
  appApiToken?: string;
  retryAfterSeconds: number;
}

/** The Koa app, never listening: main.ts serves it, tests drive it in-process. */
export function createApp(deps: AppDeps): ServiceApp {
  return createServiceApp({
    service: 'myrecipe',
    log: deps.log,
    router: routes(deps),
    readiness: { sidecar: () => deps.sidecar.isHealthy() },
    appApiToken: deps.appApiToken,
    retryAfterSeconds: deps.retryAfterSeconds,
  });
}
