// The monolith baseline of the benchmark: the four services' own modules
// (their wiring in src/service.ts, use cases, domain, routes), built in one
// process around an in-process stand-in for Dapr, with PostgreSQL and Redis
// used directly. Only the gateway listens.
//
//   node --import tsx bench/monolith/main.ts
//   env: PORT (8090), DATABASE_URL, REDIS_URL, JWT_SIGNING_KEY, LOG_LEVEL
import type { IncomingMessage, ServerResponse } from 'node:http';
import { createLogger, serve, type ServiceDeps } from '@recipe/shared';
import pg from 'pg';
import { createClient } from 'redis';
import { readConfig as gatewayConfig } from '../../services/gateway/src/config.js';
import { buildGateway } from '../../services/gateway/src/service.js';
import { readConfig as mypageConfig } from '../../services/mypage/src/config.js';
import { buildMypage } from '../../services/mypage/src/service.js';
import { readConfig as myrecipeConfig } from '../../services/myrecipe/src/config.js';
import { buildMyrecipe } from '../../services/myrecipe/src/service.js';
import { readConfig as recipeConfig } from '../../services/recipe/src/config.js';
import { buildRecipe } from '../../services/recipe/src/service.js';
import { createInProcessSidecar } from './sidecar.js';

const port = Number(process.env.PORT ?? 8090);
const databaseUrl = process.env.DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/recommend_recipe_monolith';
const level = process.env.LOG_LEVEL ?? 'info';
const log = createLogger('monolith', level);

const postgres = new pg.Pool({ connectionString: databaseUrl, max: 10 });
const redis = createClient({ url: process.env.REDIS_URL ?? 'redis://127.0.0.1:6379' });
await redis.connect();
const apps = new Map<string, (req: IncomingMessage, res: ServerResponse) => Promise<void>>();
const sidecar = await createInProcessSidecar({
  apps,
  postgres,
  redis,
  stores: { 'myrecipe-store': 'postgres', 'recipe-store': 'redis' },
  secrets: { JWT_SIGNING_KEY: process.env.JWT_SIGNING_KEY ?? 'monolith-signing-key-of-enough-length' },
  log,
});

// Each service's configuration as its own process would read it; the ports are unused here.
// No sidecars here, so no tokens between them and the apps: development mode.
const base = { ...process.env, LOG_LEVEL: level, PORT: '1', INSECURE_DEV_MODE: 'true' };
const deps = (name: string): ServiceDeps => ({ sidecar, log: createLogger(name, level) });
const myrecipe = buildMyrecipe(myrecipeConfig(base), deps('myrecipe'));
const recipe = buildRecipe(recipeConfig(base), deps('recipe'));
const mypage = await buildMypage(mypageConfig({ ...base, DATABASE_URL: databaseUrl }), deps('mypage'));
const gateway = buildGateway(gatewayConfig({ ...base, PORT: String(port) }), deps('gateway'));
for (const [appId, service] of [
  ['myrecipe', myrecipe],
  ['recipe', recipe],
  ['mypage', mypage],
  ['gateway', gateway],
] as const)
  apps.set(appId, service.app.callback());

await serve(gateway.app, {
  port,
  host: '127.0.0.1',
  log,
  shutdownTimeoutMs: 5_000,
  onShutdown: async () => {
    await Promise.all([mypage.close?.(), gateway.close?.(), postgres.end(), redis.quit()]);
  },
});
await gateway.started?.();
