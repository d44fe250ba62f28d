import type Router from '@koa/router';
import { ConfigError, type BaseConfig } from './config.js';
import { createSidecar, type Sidecar } from './dapr.js';
import { createServiceApp, type ServiceApp, type ServiceAppOptions } from './http.js';
import { createLogger, type Logger } from './log.js';
import { serve } from './serve.js';

/** A service wired up and ready to serve: its app, and what to close after the last request. */
export interface BuiltService {
  app: ServiceApp;
  close?: () => Promise<void>;
  /** Runs once the app listens; a rejection (a refused secret, say) stops the service. */
  started?: () => Promise<void>;
}

/** What a service is built from: its sidecar (a real one, or the monolith's in-process stand-in) and its logger. */
export interface ServiceDeps {
  sidecar: Sidecar;
  log: Logger;
}

/**
 * The Koa app of a service its sidecar calls (subscriptions, service
 * invocation): ready when its sidecar is, and answering only calls that carry
 * its app token.
 */
export function sidecarApp(
  service: string,
  config: BaseConfig,
  { sidecar, log }: ServiceDeps,
  options: { router: Router } & Partial<Pick<ServiceAppOptions, 'readiness' | 'isDependencyError'>>,
): ServiceApp {
  return createServiceApp({
    service,
    log,
    router: options.router,
    readiness: { sidecar: () => sidecar.isHealthy(), ...options.readiness },
    appApiToken: config.APP_API_TOKEN,
    retryAfterSeconds: config.RETRY_AFTER_SECONDS,
    isDependencyError: options.isDependencyError,
  });
}

/**
 * Every service's main.ts: its configuration (refusing to start on any
 * problem), the logger, the sidecar client, the service's own wiring, then
 * serving until SIGTERM (see serve).
 */
export async function runService<C extends BaseConfig>(
  name: string,
  readConfig: () => C,
  build: (config: C, deps: ServiceDeps) => Promise<BuiltService> | BuiltService,
): Promise<void> {
  let config: C;
  try {
    config = readConfig();
  } catch (err) {
    refuse(createLogger(name, 'info'), err);
  }
  const log = createLogger(name, config.LOG_LEVEL);
  if (config.INSECURE_DEV_MODE)
    log.warn('INSECURE_DEV_MODE: API tokens and the JWT signing key are not enforced; never run so in production');
  const sidecar = createSidecar({ host: config.DAPR_HOST, httpPort: config.DAPR_HTTP_PORT, apiToken: config.DAPR_API_TOKEN, log });
  const service = await build(config, { sidecar, log });
  await serve(service.app, {
    port: config.PORT,
    host: config.HOST,
    metricsPort: config.METRICS_PORT,
    log,
    shutdownTimeoutMs: config.SHUTDOWN_TIMEOUT_MS,
    onShutdown: service.close,
  });
  service.started?.().catch((err: unknown) => refuse(log, err));
}

/** Stops a service that must not run: a configuration it refuses, or a start-up step that failed for good. */
function refuse(log: Logger, err: unknown): never {
  if (err instanceof ConfigError) log.fatal({ problems: err.problems }, 'refusing to start: invalid configuration');
  else log.fatal({ err }, 'refusing to start');
  process.exit(1);
}
