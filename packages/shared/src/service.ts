import type { BaseConfig } from './config.js';
import { createSidecar, type Sidecar } from './dapr.js';
import type { ServiceApp } from './http.js';
import { createLogger, type Logger } from './log.js';
import { serve } from './serve.js';

/** A service wired up and ready to serve: its app, and what to close after the last request. */
export interface BuiltService {
  app: ServiceApp;
  close?: () => Promise<void>;
  /** Runs once the app listens. */
  started?: () => void;
}

/** What a service is built from: its sidecar (a real one, or the monolith's in-process stand-in) and its logger. */
export interface ServiceDeps {
  sidecar: Sidecar;
  log: Logger;
}

/**
 * Every service's main.ts: the logger, the sidecar client, the service's own
 * wiring, then serving until SIGTERM (see serve).
 */
export async function runService<C extends BaseConfig>(
  name: string,
  config: C,
  build: (deps: ServiceDeps) => Promise<BuiltService> | BuiltService,
): Promise<void> {
  const log = createLogger(name, config.LOG_LEVEL);
  const sidecar = createSidecar({ host: config.DAPR_HOST, httpPort: config.DAPR_HTTP_PORT, apiToken: config.DAPR_API_TOKEN, log });
  const service = await build({ sidecar, log });
  await serve(service.app, {
    port: config.PORT,
    host: config.HOST,
    metricsPort: config.METRICS_PORT,
    log,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    onShutdown: service.close,
  });
  service.started?.();
}
