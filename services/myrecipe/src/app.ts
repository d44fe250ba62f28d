import { sidecarApp, type ServiceApp, type ServiceDeps } from '@recipe/shared';
import type { Config } from './config.js';
import { routes, type RouteDeps } from './routes.js';

/** The Koa app, never listening: main.ts serves it, tests drive it in-process. */
export const createApp = (config: Config, deps: ServiceDeps, parts: Omit<RouteDeps, 'log'>): ServiceApp =>
  sidecarApp('myrecipe', config, deps, { router: routes({ ...parts, log: deps.log }) });
