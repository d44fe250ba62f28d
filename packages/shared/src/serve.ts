import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Duplex } from 'node:stream';
import type { ServiceApp } from './http.js';
import type { Logger } from './log.js';
import type { Metrics } from './metrics.js';

/** A listener that only answers GET /metrics: the app port never serves them (it may be public). */
export async function serveMetrics(metrics: Metrics, port: number, host: string, log: Logger): Promise<http.Server> {
  const answer = async (req: http.IncomingMessage, res: http.ServerResponse) => {
    if (req.method !== 'GET' || req.url !== '/metrics') {
      res
        .writeHead(404, { 'content-type': 'application/json' })
        .end(JSON.stringify({ error: { code: 'ROUTE.NOT_FOUND', message: 'only GET /metrics here' } }));
      return;
    }
    res.writeHead(200, { 'content-type': metrics.registry.contentType }).end(await metrics.registry.metrics());
  };
  const server = http.createServer((req, res) => {
    answer(req, res).catch((err: unknown) => {
      log.error({ err }, 'metrics not served');
      res.destroy();
    });
  });
  await listen(server, port, host);
  log.info({ port: (server.address() as AddressInfo).port }, 'serving metrics');
  return server;
}

function listen(server: http.Server, port: number, host: string): Promise<void> {
  return new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, host, () => resolve());
  });
}

/** Requests Node's HTTP parser refuses never reach Koa: answer them in JSON too. */
function answerUnparsable(err: NodeJS.ErrnoException, socket: Duplex) {
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
  /** GET /metrics on a listener of its own; 0 or none: not served. */
  metricsPort?: number;
  /** How long, after SIGTERM, requests are still taken (each on a connection then closed) before the listener closes. */
  drainMs?: number;
}

const DRAIN_MS = 1_000;

/** Listens, and on SIGTERM/SIGINT drains in-flight requests before exiting. */
export async function serve(app: ServiceApp, options: ServeOptions): Promise<http.Server> {
  // Node answers a request without Host with a bare 400 unless told not to;
  // the app then refuses it itself, in JSON (see createServiceApp).
  const handle = app.callback();
  // Koa answers its own errors (ctx.onerror): the promise never rejects.
  const server = http.createServer({ requireHostHeader: false }, (req, res) => void handle(req, res));
  server.keepAliveTimeout = 65_000;
  server.on('clientError', answerUnparsable);
  const host = options.host ?? '0.0.0.0';
  await listen(server, options.port, host);
  options.log.info({ port: (server.address() as AddressInfo).port }, 'listening');
  const metricsServer = options.metricsPort ? await serveMetrics(app.metrics, options.metricsPort, host, options.log) : undefined;

  let stopping = false;
  const shutdown = async (signal: string) => {
    if (stopping) return;
    stopping = true;
    options.log.info({ signal }, 'shutting down');
    app.markDraining();
    // The sidecar keeps connections to the app alive and goes on sending
    // requests until the app is gone. Closing an idle one as the sidecar
    // sends on it resets the request, and the caller cannot tell whether it
    // was handled (a 504 in a rolling restart). So for a moment every answer
    // says Connection: close, and the sidecar closes its connections itself.
    server.on('request', (_req: http.IncomingMessage, res: http.ServerResponse) => {
      if (!res.headersSent) res.setHeader('connection', 'close');
    });
    await new Promise((resolve) => setTimeout(resolve, options.drainMs ?? DRAIN_MS));
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
