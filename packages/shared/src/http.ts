import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type Router from '@koa/router';
import Koa, { type Context, type Next } from 'koa';
import { AppError, errorMiddleware } from './errors.js';
import type { Logger } from './log.js';
import { createMetrics, type Metrics } from './metrics.js';
import { newTraceContext, parseTraceparent, runWithTrace } from './trace.js';

declare module 'koa' {
  interface Request {
    /** The parsed JSON body (see jsonBody). */
    body?: unknown;
  }
}

const JSON_TYPES = ['application/json', 'application/cloudevents+json'];

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
 * the one error catcher, health, app token, JSON body. Routes come after.
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
    if (ctx.path === '/metrics') {
      ctx.type = metrics.registry.contentType;
      ctx.body = await metrics.registry.metrics();
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
  const results = await Promise.all(Object.entries(checks).map(async ([name, check]) => ((await check().catch(() => false)) ? undefined : name)));
  return results.filter((name): name is string => name !== undefined);
}

function accessLog(log: Logger) {
  return async (ctx: Context, next: Next) => {
    const started = process.hrtime.bigint();
    try {
      await next();
    } finally {
      const ms = Number(process.hrtime.bigint() - started) / 1e6;
      const quiet = ['/healthz', '/readyz', '/metrics', '/dapr/config', '/dapr/subscribe'].includes(ctx.path);
      log[quiet ? 'trace' : 'info']({ method: ctx.method, path: ctx.path, status: ctx.status, ms: Math.round(ms * 10) / 10 }, 'request');
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

/** Reads a JSON body with a hard size limit: 413 past it, 415 for other media types, 400 for bad JSON. */
export function jsonBody(limitBytes: number) {
  return async (ctx: Context, next: Next) => {
    if (ctx.method === 'GET' || ctx.method === 'HEAD') return next();
    if (Number(ctx.get('content-length') || 0) > limitBytes) throw tooLarge(limitBytes);
    const chunks: Buffer[] = [];
    let size = 0;
    for await (const chunk of ctx.req as AsyncIterable<Buffer>) {
      size += chunk.length;
      if (size > limitBytes) throw tooLarge(limitBytes);
      chunks.push(chunk);
    }
    // An empty body is no body, whatever its headers say (Dapr forwards some as chunked).
    if (size > 0) {
      if (!JSON_TYPES.includes(ctx.request.type)) {
        throw new AppError(415, 'REQUEST.UNSUPPORTED_MEDIA_TYPE', 'send the body as application/json');
      }
      ctx.request.body = parseJson(Buffer.concat(chunks));
    }
    await next();
  };
}

const utf8 = new TextDecoder('utf-8', { fatal: true });
/** A lone surrogate: \p{Cs} only matches halves that are not part of a pair under the u flag. */
const LONE_SURROGATE = /\p{Cs}/u;

/** Strict UTF-8, valid JSON, and no string (key or value) that is not well-formed Unicode. */
function parseJson(bytes: Buffer): unknown {
  let text: string;
  try {
    text = utf8.decode(bytes);
  } catch {
    throw new AppError(400, 'REQUEST.MALFORMED', 'the body is not valid UTF-8');
  }
  try {
    return JSON.parse(text, (key, value: unknown) => {
      if (LONE_SURROGATE.test(key) || (typeof value === 'string' && LONE_SURROGATE.test(value))) throw new TypeError('ill-formed');
      return value;
    });
  } catch (err) {
    const message = err instanceof TypeError ? 'the body holds text that is not well-formed Unicode' : 'the body is not valid JSON';
    throw new AppError(400, 'REQUEST.MALFORMED', message);
  }
}

function tooLarge(limitBytes: number) {
  return new AppError(413, 'REQUEST.TOO_LARGE', `the request body is larger than ${limitBytes} bytes`);
}

/** A listener that only answers GET /metrics. */
async function serveMetrics(metrics: Metrics, port: number, host: string): Promise<http.Server> {
  const server = http.createServer(async (req, res) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res.writeHead(404, { 'content-type': 'application/json' }).end(JSON.stringify({ error: { code: 'ROUTE.NOT_FOUND', message: 'only GET /metrics here' } }));
      return;
    }
    res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
  return server;
}

/** Requests Node's HTTP parser refuses never reach Koa: answer them in JSON too. */
function answerUnparsable(err: NodeJS.ErrnoException, socket: import('node:stream').Duplex) {
  if (!socket.writable) {
    socket.destroy();
    return;
  }
  const tooLarge = err.code === 'HPE_HEADER_OVERFLOW';
  const status = tooLarge ? 431 : 400;
  const body = JSON.stringify({
    error: tooLarge
      ? { code: 'REQUEST.HEADERS_TOO_LARGE', message: 'the request line and headers are too large' }
      : { code: 'REQUEST.MALFORMED', message: 'the request is not valid HTTP' },
  });
  socket.end(
    `HTTP/1.1 ${status} ${http.STATUS_CODES[status]}\r\nContent-Type: application/json\r\nContent-Length: ${Buffer.byteLength(body)}\r\nConnection: close\r\n\r\n${body}`,
  );
}

export interface ServeOptions {
  port: number;
  host?: string;
  log: Logger;
  shutdownTimeoutMs: number;
  /** Closes what main.ts opened (pools, clients) after the last request is done. */
  onShutdown?: () => Promise<void>;
  metricsPort?: number;
}

/** Listens, and on SIGTERM/SIGINT drains in-flight requests before exiting. */
export async function serve(app: ServiceApp, options: ServeOptions): Promise<http.Server> {
  // Node answers a request without Host with a bare 400 unless told not to;
  // the app then refuses it itself, in JSON (see createServiceApp).
  const server = http.createServer({ requireHostHeader: false }, app.callback());
  server.keepAliveTimeout = 65_000;
  server.on('clientError', answerUnparsable);
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port, options.host ?? '0.0.0.0', () => resolve());
  });
  options.log.info({ port: (server.address() as AddressInfo).port }, 'listening');
  const metricsServer = options.metricsPort ? await serveMetrics(app.metrics, options.metricsPort, options.host ?? '0.0.0.0') : undefined;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    options.log.info({ signal }, 'shutting down');
    app.markDraining();
    const closed = new Promise<void>((resolve) => server.close(() => resolve()));
    // Keep-alive connections turn idle as their last request is answered.
    const sweeper = setInterval(() => server.closeIdleConnections(), 100);
    server.closeIdleConnections();
    const timer = setTimeout(() => {
      options.log.warn('shutdown timeout: closing open connections');
      server.closeAllConnections();
    }, options.shutdownTimeoutMs);
    await closed;
    clearTimeout(timer);
    clearInterval(sweeper);
    metricsServer?.close();
    await options.onShutdown?.().catch((err) => options.log.error({ err }, 'error during shutdown'));
    options.log.info('stopped');
    process.exit(0);
  };
  process.once('SIGTERM', () => void shutdown('SIGTERM'));
  process.once('SIGINT', () => void shutdown('SIGINT'));
  return server;
}
