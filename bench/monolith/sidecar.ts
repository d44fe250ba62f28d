// The monolith's stand-in for Dapr: the same Sidecar interface the services
// are written against, done in-process. Service invocation calls the other
// service's Koa app in memory (light-my-request), pub/sub hands CloudEvents to
// the subscribers' routes in memory, and state goes straight to PostgreSQL
// (myrecipe's store, atomic transactions) and Redis (recipe's store, ETags
// checked in a script, as state.redis does). No broker: nothing here survives
// a crash, which is fine for what it is for, a performance baseline.
import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { DaprError, type Logger, type Sidecar, type StateItem, type StateOperation, type WriteOptions } from '@recipe/shared';
import inject from 'light-my-request';
import pg from 'pg';
import { createClient } from 'redis';
import { parseAllDocuments } from 'yaml';
import { ROOT } from '../../scripts/lib/sidecar.js';

type Handler = (req: import('node:http').IncomingMessage, res: import('node:http').ServerResponse) => void;

export interface InProcessOptions {
  /** Each app's request handler, by app id (filled in as the apps are built). */
  apps: Map<string, Handler>;
  postgres: pg.Pool;
  redis: ReturnType<typeof createClient>;
  /** Which store lives where. */
  stores: Record<string, 'postgres' | 'redis'>;
  secrets: Record<string, string>;
  log: Logger;
}

/** Who subscribes to what, from the project's own subscriptions (components/subscriptions.yaml). */
function subscriptions(): Map<string, { app: string; route: string }[]> {
  const docs = parseAllDocuments(readFileSync(path.join(ROOT, 'components/subscriptions.yaml'), 'utf8')).map((d) => d.toJS());
  const byTopic = new Map<string, { app: string; route: string }[]>();
  for (const doc of docs) {
    for (const app of doc.scopes as string[])
      byTopic.set(doc.spec.topic, [...(byTopic.get(doc.spec.topic) ?? []), { app, route: doc.spec.routes.default }]);
  }
  return byTopic;
}

const conflict = (key: string) => new DaprError('dapr', 409, { errorCode: 'ERR_STATE_ETAG_MISMATCH' }, `etag mismatch on ${key}`);

// The same check-and-set as state.redis: a hash with the value and a version.
const REDIS_SET = `
local version = redis.call('HGET', KEYS[1], 'version')
if ARGV[2] == 'first' and version then return 0 end
if ARGV[2] ~= '' and ARGV[2] ~= 'first' and version ~= ARGV[2] then return 0 end
redis.call('HSET', KEYS[1], 'data', ARGV[1])
redis.call('HINCRBY', KEYS[1], 'version', 1)
return 1`;

export async function createInProcessSidecar({ apps, postgres, redis, stores, secrets, log }: InProcessOptions): Promise<Sidecar> {
  await postgres.query('CREATE TABLE IF NOT EXISTS monolith_state (key text PRIMARY KEY, value jsonb NOT NULL, etag bigint NOT NULL)');
  const topics = subscriptions();
  const redisKey = (store: string, key: string) => `${store}||${key}`;

  async function call(appId: string, method: string, url: string, body: unknown, headers: Record<string, string>) {
    const handler = apps.get(appId);
    if (!handler)
      throw new DaprError(
        'dapr',
        500,
        { errorCode: 'ERR_DIRECT_INVOKE', message: `no host found with the given ID ${appId}` },
        `no app ${appId}`,
      );
    const res = await inject(handler, {
      method: method as 'GET',
      url,
      headers: {
        host: appId,
        ...(body === undefined ? {} : { 'content-type': headers['content-type'] ?? 'application/json' }),
        ...headers,
      },
      payload: body === undefined ? undefined : JSON.stringify(body),
    });
    let parsed: unknown;
    try {
      parsed = res.payload ? JSON.parse(res.payload) : undefined;
    } catch {
      parsed = res.payload;
    }
    return { status: res.statusCode, body: parsed, retryAfter: Number(res.headers['retry-after']) || undefined };
  }

  /** At-least-once delivery in memory, with Dapr's reply contract: SUCCESS, RETRY, DROP. */
  function deliver(topic: string, data: unknown, id: string) {
    for (const { app, route } of topics.get(topic) ?? []) {
      const envelope = {
        id,
        topic,
        pubsubname: 'pubsub',
        type: 'com.dapr.event.sent',
        specversion: '1.0',
        datacontenttype: 'application/json',
        data,
      };
      const attempt = async (tries: number): Promise<void> => {
        const reply = await call(app, 'POST', route, envelope, { 'content-type': 'application/cloudevents+json' }).catch(() => ({
          status: 500,
          body: undefined,
        }));
        const status = (reply.body as { status?: string } | undefined)?.status;
        if (reply.status < 300 && status !== 'RETRY') return;
        if (status === 'DROP') return void log.warn({ topic, id }, 'event dropped');
        if (tries >= 60) return void log.error({ topic, id }, 'event given up');
        setTimeout(() => void attempt(tries + 1), Math.min(50 * 2 ** tries, 2_000));
      };
      setImmediate(() => void attempt(0));
    }
  }

  const pgWrite = async (client: pg.PoolClient | pg.Pool, key: string, value: unknown, { etag, firstWrite }: WriteOptions) => {
    const json = JSON.stringify(value);
    const result = etag
      ? await client.query('UPDATE monolith_state SET value = $2, etag = etag + 1 WHERE key = $1 AND etag = $3', [key, json, etag])
      : firstWrite
        ? await client.query('INSERT INTO monolith_state (key, value, etag) VALUES ($1, $2, 1) ON CONFLICT DO NOTHING', [key, json])
        : await client.query(
            'INSERT INTO monolith_state (key, value, etag) VALUES ($1, $2, 1) ON CONFLICT (key) DO UPDATE SET value = $2, etag = monolith_state.etag + 1',
            [key, json],
          );
    if (result.rowCount === 0) throw conflict(key);
  };

  async function getState<T>(store: string, key: string): Promise<StateItem<T> | undefined> {
    if (stores[store] === 'redis') {
      const item = await redis.hGetAll(redisKey(store, key));
      return item.data ? { value: JSON.parse(item.data) as T, etag: item.version! } : undefined;
    }
    const { rows } = await postgres.query<{ value: T; etag: string }>('SELECT value, etag FROM monolith_state WHERE key = $1', [
      `${store}||${key}`,
    ]);
    return rows[0] ? { value: rows[0].value, etag: String(rows[0].etag) } : undefined;
  }

  return {
    async invoke<T>(appId: string, method: string, options: { method?: string; body?: unknown; headers?: Record<string, string> } = {}) {
      const reply = await call(appId, options.method ?? 'GET', `/${method}`, options.body, options.headers ?? {});
      if (reply.status < 300) return reply.body as T;
      const fromApp = typeof reply.body === 'object' && reply.body !== null && 'error' in reply.body;
      throw new DaprError(
        fromApp ? 'app' : 'dapr',
        reply.status,
        reply.body,
        `invoke ${appId} /${method}: ${reply.status}`,
        reply.retryAfter,
      );
    },

    async publish(_pubsub, topic, data, { id } = {}) {
      deliver(topic, data, id ?? randomUUID());
    },

    getState,

    async getStates<T>(store: string, keys: string[]) {
      return Promise.all(keys.map((key) => getState<T>(store, key)));
    },

    async saveState(store, key, value, options = {}) {
      if (stores[store] === 'redis') {
        const ok = await redis.eval(REDIS_SET, {
          keys: [redisKey(store, key)],
          arguments: [JSON.stringify(value), options.etag ?? (options.firstWrite ? 'first' : '')],
        });
        if (ok !== 1) throw conflict(key);
        return;
      }
      await pgWrite(postgres, `${store}||${key}`, value, options);
    },

    async transaction(store: string, operations: StateOperation[]) {
      if (stores[store] !== 'postgres') throw new Error(`transactions are only done on PostgreSQL here (${store})`);
      const client = await postgres.connect();
      try {
        await client.query('BEGIN');
        for (const op of operations) {
          if (op.operation === 'delete') await client.query('DELETE FROM monolith_state WHERE key = $1', [`${store}||${op.key}`]);
          else await pgWrite(client, `${store}||${op.key}`, op.value, op);
        }
        await client.query('COMMIT');
      } catch (err) {
        await client.query('ROLLBACK').catch(() => undefined);
        throw err;
      } finally {
        client.release();
      }
    },

    async getSecret(_store, name) {
      const value = secrets[name];
      if (!value) throw new DaprError('dapr', 404, undefined, `no secret ${name}`);
      return value;
    },

    isHealthy: async () => true,
  };
}
