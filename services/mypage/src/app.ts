import { createServiceApp, type ServiceApp, type Sidecar } from '@recipe/shared';
import { routes, type RouteDeps } from './routes.js';

export interface AppDeps extends RouteDeps {
  sidecar: Sidecar;
  appApiToken?: string;
  retryAfterSeconds: number;
}

/** Connection failures, pool timeouts and PostgreSQL errors carry a string code. */
function isDatabaseError(err: unknown): boolean {
  return (err as Error)?.name === 'KnexTimeoutError' || typeof (err as { code?: unknown })?.code === 'string';
}

/** The Koa app, never listening: main.ts serves it, tests drive it in-process. */
export function createApp(deps: AppDeps): ServiceApp {
  return createServiceApp({
    service: 'mypage',
    log: deps.log,
    router: routes(deps),
    readiness: { sidecar: () => deps.sidecar.isHealthy(), database: () => deps.readModel.ping() },
    appApiToken: deps.appApiToken,
    retryAfterSeconds: deps.retryAfterSeconds,
    isDependencyError: isDatabaseError,
  });
}
