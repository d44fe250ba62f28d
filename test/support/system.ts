import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { createDatabase, startRedis, type Database, type RedisServer } from './backing.js';
import { renderResources, startService, type Mesh, type RunningService } from './dapr.js';
import { startSentry, type Sentry } from './sentry.js';

export type AppId = 'gateway' | 'myrecipe' | 'recipe' | 'mypage';

export interface BackingOptions {
  redisAppendOnly?: boolean;
}

/**
 * A throwaway Redis and database, the project's Dapr resources pointed at
 * them, a private Sentry for mTLS, and fresh API tokens.
 */
export interface Backing {
  redis: RedisServer;
  db: Database;
  mesh: Mesh;
  sentry: Sentry;
  signingKey: string;
  stop(): Promise<void>;
}

let count = 0;

export async function startBacking(options: BackingOptions = {}): Promise<Backing> {
  const label = `b${++count}`;
  const [redis, db, sentry] = await Promise.all([startRedis({ appendOnly: options.redisAppendOnly }), createDatabase(label), startSentry(label)]);
  const redisHost = `${redis.host}:${redis.port}`;
  const resources = await renderResources(label, {
    pubsub: { redisHost },
    'recipe-store': { redisHost },
    'myrecipe-store': { connectionString: db.connectionString },
  });
  const token = () => randomBytes(24).toString('hex');
  return {
    redis,
    db,
    sentry,
    mesh: { resources, sentry, daprApiToken: token(), appApiToken: token() },
    signingKey: randomBytes(32).toString('hex'),
    async stop() {
      await Promise.all([redis.stop(), sentry.stop()]);
      await db.drop().catch(() => undefined);
    },
  };
}

/** One app with its real sidecar, wired to the backing services. */
export function startApp(backing: Backing, appId: AppId, env: Record<string, string> = {}): Promise<RunningService> {
  const perApp: Record<AppId, { env?: Record<string, string>; daprdEnv?: Record<string, string> }> = {
    gateway: {
      env: { RATE_LIMIT_REDIS_URL: `redis://${backing.redis.host}:${backing.redis.port}` },
      daprdEnv: { RECIPE_SECRET_JWT_SIGNING_KEY: backing.signingKey },
    },
    myrecipe: {},
    recipe: {},
    mypage: { env: { DATABASE_URL: backing.db.url } },
  };
  const { env: appEnv, daprdEnv } = perApp[appId];
  return startService({ appId, service: appId, mesh: backing.mesh, env: { ...appEnv, ...env }, daprdEnv });
}

/**
 * A sidecar without its app, carrying that app's identity: tests publish
 * events "as" their owner, since topic scopes let only the owner publish.
 */
export function startSidecarOnly(backing: Backing, appId: AppId): Promise<RunningService> {
  return startService({ appId, mesh: backing.mesh });
}

export const signToken = (key: string, memberId: string, { expiresIn = '1h' } = {}) =>
  new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(memberId).setIssuedAt().setExpirationTime(expiresIn).sign(new TextEncoder().encode(key));

export interface SystemOptions extends BackingOptions {
  /** Extra environment per app (e.g. POINT for recipe). */
  env?: Partial<Record<AppId, Record<string, string>>>;
}

export interface System {
  gatewayUrl: string;
  services: Record<AppId, RunningService>;
  backing: Backing;
  token(memberId: string, options?: { expiresIn?: string }): Promise<string>;
  stop(): Promise<void>;
}

/** The whole product: four apps with their real sidecars on throwaway backing services. */
export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const backing = await startBacking(options);
  const [myrecipe, recipe, mypage, gateway] = await Promise.all(
    (['myrecipe', 'recipe', 'mypage', 'gateway'] as const).map((appId) => startApp(backing, appId, options.env?.[appId])),
  );
  const services = { gateway: gateway!, myrecipe: myrecipe!, recipe: recipe!, mypage: mypage! };
  return {
    gatewayUrl: gateway!.appUrl,
    services,
    backing,
    token: (memberId, tokenOptions) => signToken(backing.signingKey, memberId, tokenOptions),
    async stop() {
      await Promise.all(Object.values(services).map((s) => s.stop()));
      await backing.stop();
    },
  };
}

/** Where the invariant checker finds this system's stores and sidecars. */
export function checkTargets(system: System, point = 1) {
  return {
    myrecipeSidecar: system.services.myrecipe.daprUrl,
    mypageSidecar: system.services.mypage.daprUrl,
    daprApiToken: system.backing.mesh.daprApiToken,
    myrecipeDatabaseUrl: system.backing.db.url,
    recipeRedis: { host: system.backing.redis.host, port: system.backing.redis.port },
    point,
  };
}
