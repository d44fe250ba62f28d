import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { createDatabase, startRedis, type Database, type RedisServer } from './backing.js';
import { renderResources, startService, type AppTokens, type Mesh, type RunningService } from './dapr.js';
import { startBroker } from './broker.js';
import { startPostgresServer, type PostgresServer } from './postgres-server.js';
import { startSentry, type Sentry } from './sentry.js';

export type AppId = 'gateway' | 'myrecipe' | 'recipe' | 'mypage';

export interface BackingOptions {
  redisAppendOnly?: boolean;
  /** Give the recipe state store a Redis of its own (to fail it alone). */
  separateRecipeRedis?: boolean;
  /** Run PostgreSQL as a server of this test's own (to restart it). */
  ownPostgres?: boolean;
}

/**
 * A throwaway Redis and database, the project's Dapr resources pointed at
 * them, a private Sentry for mTLS, and fresh API tokens.
 */
export interface Backing {
  /** Names this system's processes and logs. */
  label: string;
  redis: RedisServer;
  /** The recipe store's Redis: `redis` unless separateRecipeRedis. */
  recipeRedis: RedisServer;
  db: Database;
  postgres?: PostgresServer;
  mesh: Mesh;
  /** Each app's own tokens (the same as mesh.tokens): one app's token opens no other app's sidecar. */
  tokens: Record<AppId, AppTokens>;
  sentry: Sentry;
  signingKey: string;
  stop(): Promise<void>;
}

let count = 0;

export async function startBacking(options: BackingOptions = {}): Promise<Backing> {
  const label = `b${++count}`;
  const postgres = options.ownPostgres ? await startPostgresServer(label) : undefined;
  const [redis, recipeRedisOwn, db, sentry, broker] = await Promise.all([
    startRedis({ appendOnly: options.redisAppendOnly }),
    options.separateRecipeRedis ? startRedis({ appendOnly: options.redisAppendOnly }) : undefined,
    createDatabase(label, postgres),
    startSentry(label),
    startBroker(label),
  ]);
  const recipeRedis = recipeRedisOwn ?? redis;
  const resources = await renderResources(
    label,
    {
      pubsub: broker?.overrides ?? { redisHost: `${redis.host}:${redis.port}` },
      'recipe-store': { redisHost: `${recipeRedis.host}:${recipeRedis.port}` },
      'myrecipe-store': { connectionString: db.connectionString },
    },
    sentry.address,
    broker ? { pubsubFile: broker.pubsubFile } : {},
  );
  const token = () => randomBytes(24).toString('hex');
  const tokens = Object.fromEntries(APP_IDS.map((id) => [id, { daprApiToken: token(), appApiToken: token() }])) as Record<AppId, AppTokens>;
  return {
    label,
    redis,
    recipeRedis,
    db,
    postgres,
    sentry,
    mesh: { resources, sentry, tokens },
    tokens,
    signingKey: randomBytes(32).toString('hex'),
    async stop() {
      await Promise.all([redis.stop(), recipeRedisOwn?.stop(), sentry.stop(), broker?.stop()]);
      await db.drop().catch(() => undefined);
      await postgres?.stop();
    },
  };
}

export interface AppOptions {
  env?: Record<string, string>;
  /** Which replica of the app this is (names its logs); 0 for the first. */
  replica?: number;
  linkApp?: boolean;
  linkSidecar?: boolean;
  daprdArgs?: string[];
}

/** One app with its real sidecar, wired to the backing services. */
export function startApp(
  backing: Backing,
  appId: AppId,
  env: Record<string, string> = {},
  options: Omit<AppOptions, 'env'> = {},
): Promise<RunningService> {
  const perApp: Record<AppId, { env?: Record<string, string>; daprdEnv?: Record<string, string> }> = {
    gateway: {
      // A limit tests do not hit unless they lower it.
      env: { RATE_LIMIT_REDIS_URL: `redis://${backing.redis.host}:${backing.redis.port}`, RATE_LIMIT_PER_WINDOW: '1000000' },
      daprdEnv: { RECIPE_SECRET_JWT_SIGNING_KEY: backing.signingKey },
    },
    myrecipe: {},
    recipe: {},
    mypage: { env: { DATABASE_URL: backing.db.url } },
  };
  const { env: appEnv, daprdEnv } = perApp[appId];
  const { replica = 0, ...rest } = options;
  return startService({
    appId,
    instance: `${backing.label}-${appId}-${replica}`,
    service: appId,
    mesh: backing.mesh,
    env: { ...appEnv, ...env },
    daprdEnv,
    ...rest,
  });
}

/**
 * A sidecar without its app, carrying that app's identity: tests publish
 * events "as" their owner, since topic scopes let only the owner publish.
 */
export function startSidecarOnly(backing: Backing, appId: AppId): Promise<RunningService> {
  return startService({ appId, instance: `${backing.label}-${appId}-sidecar-only-${++sidecarsOnly}`, mesh: backing.mesh });
}
let sidecarsOnly = 0;

export const signToken = (key: string, memberId: string, { expiresIn = '1h' } = {}) =>
  new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject(memberId)
    .setIssuedAt()
    .setExpirationTime(expiresIn)
    .sign(new TextEncoder().encode(key));

export interface SystemOptions extends BackingOptions {
  /**
   * Replicas of every app (each its own app and daprd under the same app id).
   * Two unless set (TEST_REPLICAS changes the default): production runs two
   * or three, and a guarantee is only proven when it holds with two.
   */
  replicas?: number;
  /** Extra environment per app (e.g. POINT for recipe). */
  env?: Partial<Record<AppId, Record<string, string>>>;
  /** Per-app harness options (faulty links, extra daprd flags). */
  apps?: Partial<Record<AppId, Omit<AppOptions, 'env'>>>;
}

export interface System {
  /** The first gateway replica. */
  gatewayUrl: string;
  /** Every gateway replica, in replica order. */
  gatewayUrls: string[];
  /** The first replica of each app. */
  services: Record<AppId, RunningService>;
  /** Every replica of each app, in replica order (replicas may be replaced: see startReplica). */
  replicas: Record<AppId, RunningService[]>;
  /** Starts one more replica of an app (e.g. to replace one in a rolling restart). */
  startReplica(appId: AppId): Promise<RunningService>;
  /** Does something to every replica of an app at once (an outage of the whole service). */
  all(appId: AppId, action: (replica: RunningService) => unknown): Promise<void>;
  backing: Backing;
  token(memberId: string, options?: { expiresIn?: string }): Promise<string>;
  stop(): Promise<void>;
}

export const APP_IDS: readonly AppId[] = ['myrecipe', 'recipe', 'mypage', 'gateway'];

/**
 * The whole product: every app with its real sidecar, `replicas` times, on
 * throwaway backing services. Replicas of one app share its app id, so name
 * resolution spreads the calls (and the broker the deliveries) across them.
 */
export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const backing = await startBacking(options);
  const count = options.replicas ?? Number(process.env.TEST_REPLICAS ?? 2);
  const started = new Map<AppId, number>(APP_IDS.map((id) => [id, 0]));
  const replicas = Object.fromEntries(APP_IDS.map((id) => [id, [] as RunningService[]])) as Record<AppId, RunningService[]>;
  const startReplica = async (appId: AppId) => {
    const replica = started.get(appId)!;
    started.set(appId, replica + 1);
    const service = await startApp(backing, appId, options.env?.[appId], { ...options.apps?.[appId], replica });
    replicas[appId].push(service);
    return service;
  };
  try {
    await Promise.all(APP_IDS.flatMap((appId) => Array.from({ length: count }, () => startReplica(appId))));
  } catch (err) {
    await Promise.all(
      Object.values(replicas)
        .flat()
        .map((s) => s.stop()),
    );
    await backing.stop();
    throw err;
  }
  for (const appId of APP_IDS) replicas[appId].sort((a, b) => a.instance.localeCompare(b.instance));
  return {
    gatewayUrl: replicas.gateway[0]!.appUrl,
    get gatewayUrls() {
      return replicas.gateway.map((g) => g.appUrl);
    },
    get services() {
      return Object.fromEntries(APP_IDS.map((id) => [id, replicas[id][0]!])) as Record<AppId, RunningService>;
    },
    replicas,
    startReplica,
    all: async (appId, action) => {
      await Promise.all(replicas[appId].map(async (replica) => action(replica)));
    },
    backing,
    token: (memberId, tokenOptions) => signToken(backing.signingKey, memberId, tokenOptions),
    async stop() {
      await Promise.all(
        Object.values(replicas)
          .flat()
          .map((s) => s.stop()),
      );
      await backing.stop();
    },
  };
}

/** Where the invariant checker finds this system's stores and sidecars. */
export function checkTargets(system: System, point = 1) {
  return {
    myrecipeSidecar: system.services.myrecipe.daprUrl,
    mypageSidecar: system.services.mypage.daprUrl,
    myrecipeApiToken: system.services.myrecipe.daprApiToken,
    mypageApiToken: system.services.mypage.daprApiToken,
    myrecipeDatabaseUrl: system.backing.db.url,
    recipeRedis: { host: system.backing.recipeRedis.host, port: system.backing.recipeRedis.port },
    point,
  };
}
