import { randomBytes } from 'node:crypto';
import { SignJWT } from 'jose';
import { createDatabase, startRedis, type Database, type RedisServer } from './backing.js';
import { renderResources, startService, type RunningService } from './dapr.js';

export type AppId = 'gateway' | 'myrecipe' | 'recipe' | 'mypage';

export interface SystemOptions {
  /** Extra environment per app (e.g. POINT for recipe). */
  env?: Partial<Record<AppId, Record<string, string>>>;
  redisAppendOnly?: boolean;
}

export interface System {
  gatewayUrl: string;
  services: Record<AppId, RunningService>;
  redis: RedisServer;
  db: Database;
  token(memberId: string, options?: { expiresIn?: string; key?: string }): Promise<string>;
  stop(): Promise<void>;
}

let systems = 0;

/** The whole product: four apps with their real sidecars, a throwaway Redis and database. */
export async function startSystem(options: SystemOptions = {}): Promise<System> {
  const label = `sys${++systems}`;
  const [redis, db] = await Promise.all([startRedis({ appendOnly: options.redisAppendOnly }), createDatabase(label)]);
  const redisHost = `${redis.host}:${redis.port}`;
  const resources = await renderResources(label, {
    pubsub: { redisHost },
    'recipe-store': { redisHost },
    'myrecipe-store': { connectionString: db.connectionString },
  });
  const signingKey = randomBytes(32).toString('hex');
  const start = (appId: AppId, extra: { env?: Record<string, string>; daprdEnv?: Record<string, string> } = {}) =>
    startService({ appId, service: appId, resources, env: { ...extra.env, ...options.env?.[appId] }, daprdEnv: extra.daprdEnv });

  const [myrecipe, recipe, mypage, gateway] = await Promise.all([
    start('myrecipe'),
    start('recipe'),
    start('mypage', { env: { DATABASE_URL: db.url } }),
    start('gateway', { daprdEnv: { RECIPE_SECRET_JWT_SIGNING_KEY: signingKey } }),
  ]);
  const services = { gateway, myrecipe, recipe, mypage };

  return {
    gatewayUrl: gateway.appUrl,
    services,
    redis,
    db,
    token: (memberId, { expiresIn = '1h', key = signingKey } = {}) =>
      new SignJWT({}).setProtectedHeader({ alg: 'HS256' }).setSubject(memberId).setIssuedAt().setExpirationTime(expiresIn).sign(new TextEncoder().encode(key)),
    async stop() {
      await Promise.all(Object.values(services).map((s) => s.stop()));
      await redis.stop();
      await db.drop().catch(() => undefined);
    },
  };
}
