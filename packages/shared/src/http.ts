import type Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import { AppError, errorMiddleware } from './errors.js';
import { jsonBody } from './body.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { newTraceContext, parseTraceparent, runWithTrace } from './trace.js';

declare module 'koa' {
  interface Request {
    /** The parsed JSON body (see jsonBody). */
    body?: unknown;
  }
}

export interface ServiceAppOptions {
  /** Names the service in metrics. */
  service: string;
  log: Logger;
  /** The service's own routes, mounted last. */
  router: Router;
  /** Checked by /readyz; a failing check names what is not ready. */
  readiness: Record<string, () => Promise<boolean>>;
  /** When set, every call but health must carry it in `dapr-api-token` (sent by the sidecar). */
  appApiToken?: string;
  bodyLimitBytes?: number;
  /** Retry-After sent with 503s caused by an unavailable dependency. */
  retryAfterSeconds?: number;
  /** Recognises errors of a dependency the service talks to directly (a database): 503, not 500. */
  isDependencyError?: (err: unknown) => boolean;
}

export interface ServiceApp extends Koa {
  /** Flips /readyz to 503 so load balancers stop sending traffic during shutdown. */
  markDraining(): void;
  metrics: Metrics;
}

/**
 * The middleware every service shares, in order: trace context, access log,
 * metrics, the one error catcher, health endpoints, app token, JSON body,
 * then the service's routes. Metrics are served on a port of their own (see
 * serve), never here: the gateway's port is public.
 */
export function createServiceApp(options: ServiceAppOptions): ServiceApp {
  const app = new Koa() as ServiceApp;
  let draining = false;
  app.markDraining = () => {
    draining = true;
  };
  app.on('error', (err) => options.log.error({ err }, 'koa error'));

  const metrics = createMetrics(options.service);
  app.metrics = metrics;
  app.use((ctx, next) => runWithTrace(parseTraceparent(ctx.get('traceparent')) ?? newTraceContext(), next));
  app.use(accessLog(options.log));
  app.use(metrics.middleware);
  app.use(errorMiddleware(options.log, options.retryAfterSeconds, options.isDependencyError));
  app.use(async (ctx, next) => {
    if (!ctx.get('host')) throw new AppError(400, 'REQUEST.MALFORMED', 'the Host header is missing');
    await next();
  });
  app.use(async (ctx, next) => {
    if (ctx.path === '/healthz') {
      ctx.body = { status: 'ok' };
      return;
    }
    if (ctx.path === '/readyz') {
      const failing = draining ? ['draining'] : await failingChecks(options.readiness);
      ctx.status = failing.length ? 503 : 200;
      ctx.body = failing.length ? { status: 'not ready', failing } : { status: 'ready' };
      return;
    }
    await next();
  });
  if (options.appApiToken) app.use(requireAppToken(options.appApiToken));
  app.use(jsonBody(options.bodyLimitBytes ?? 64 * 1024));
  const methodNotAllowed = () => new AppError(405, 'ROUTE.METHOD_NOT_ALLOWED', 'this method is not allowed here');
  app.use(options.router.routes());
  // A method the router does not know is a client mistake too: 405, not 501.
  app.use(options.router.allowedMethods({ throw: true, methodNotAllowed, notImplemented: methodNotAllowed }));
  return app;
}

async function failingChecks(checks: Record<string, () => Promise<boolean>>): Promise<string[]> {
  const results = await Promise.all(
    Object.entries(checks).map(async ([name, check]) => ((await check().catch(() => false)) ? undefined : name)),
  );
  return results.filter((name): name is string => name !== undefined);
}

function accessLog(log: Logger) {
  return async (ctx: Context, next: Next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      // Probes, and event deliveries that succeeded (events_handled_total counts
      // them; a failed one is logged by its handler), are logged at trace/debug.
      const probe = ['/healthz', '/readyz', '/dapr/config', '/dapr/subscribe'].includes(ctx.path);
      const delivered =
        ctx.path.startsWith('/events/') &&
        ctx.status === 200 &&
        (ctx.state.delivery as { result?: string } | undefined)?.result === 'SUCCESS';
      const level = probe ? 'trace' : delivered ? 'debug' : 'info';
      log[level]({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
    }
  };
}

function requireAppToken(token: string) {
  return async (ctx: Context, next: Next) => {
    if (ctx.get('dapr-api-token') !== token) {
      throw new AppError(401, 'AUTH.APP_TOKEN', 'this endpoint only answers its Dapr sidecar');
    }
    await next();
  };
}
