import { createServiceApp, type Logger, type ServiceApp } from '@recipe/shared';
import type { Authenticator } from './auth.js';
import { concurrencyLimit, type RateLimiter } from './limits.js';
import { REGISTRATION_BUSY, routes, type RouteDeps } from './routes.js';

export interface AppDeps extends Omit<RouteDeps, 'authenticate' | 'rateLimit' | 'registrationLimit'> {
  auth: Authenticator;
  rateLimiter?: RateLimiter;
  registrationMaxInFlight: number;
  log: Logger;
  bodyLimitBytes: number;
}

/** The Koa app, never listening: main.ts serves it, tests drive it in-process. */
export function createApp(deps: AppDeps): ServiceApp {
  return createServiceApp({
    service: 'gateway',
    log: deps.log,
    router: routes({
      ...deps,
      authenticate: deps.auth.middleware,
      rateLimit: deps.rateLimiter?.middleware,
      registrationLimit: concurrencyLimit(deps.registrationMaxInFlight, 1, REGISTRATION_BUSY),
    }),
    readiness: { sidecar: () => deps.sidecar.isHealthy(), authentication: deps.auth.ready },
    bodyLimitBytes: deps.bodyLimitBytes,
    retryAfterSeconds: deps.retryAfterSeconds,
  });
}
