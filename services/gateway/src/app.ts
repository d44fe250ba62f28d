import { createServiceApp, type Logger, type ServiceApp } from '@recipe/shared';
import type { Authenticator } from './auth.js';
import { createBreaker } from './breaker.js';
import { concurrencyLimit, type RateLimiter } from './limits.js';
import { REGISTRATION_BUSY, routes, type RouteDeps } from './routes.js';

export interface AppDeps extends Omit<RouteDeps, 'authenticate' | 'rateLimit' | 'registrationLimit' | 'registrationBreaker'> {
  auth: Authenticator;
  rateLimiter?: RateLimiter;
  registrationMaxInFlight: number;
  /** Registration failures in a row (of myrecipe, never a member's 4xx) that open the registration circuit, and for how long. */
  registrationBreaker?: { failures: number; openSeconds: number };
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
      registrationBreaker: createBreaker({
        failures: deps.registrationBreaker?.failures ?? 5,
        openMs: (deps.registrationBreaker?.openSeconds ?? 10) * 1000,
        code: 'SERVICE.OVERLOADED',
        message: REGISTRATION_BUSY,
      }),
    }),
    readiness: { sidecar: () => deps.sidecar.isHealthy(), authentication: deps.auth.ready },
    bodyLimitBytes: deps.bodyLimitBytes,
    retryAfterSeconds: deps.retryAfterSeconds,
  });
}
