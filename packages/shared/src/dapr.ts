import { Pool } from 'undici';
import { DaprError, transportFailure } from './dapr-errors.js';
import type { Logger } from './log.js';
import { currentTrace } from './trace.js';

export interface StateItem<T> {
  value: T;
  etag: string;
}

export interface WriteOptions {
  /** Only write if the stored ETag still matches (optimistic concurrency). */
  etag?: string;
  /** Without an etag: only write if the key does not exist yet. */
  firstWrite?: boolean;
  metadata?: Record<string, string>;
}

export type StateOperation =
  ({ operation: 'upsert'; key: string; value: unknown } & WriteOptions) | { operation: 'delete'; key: string; etag?: string };

export interface InvokeOptions {
  method?: 'GET' | 'POST' | 'PUT' | 'DELETE';
  body?: unknown;
  headers?: Record<string, string>;
}

export interface PublishOptions {
  /** CloudEvent id: deterministic ids let subscribers drop duplicates. */
  id?: string;
  metadata?: Record<string, string>;
}

/** What services need from their sidecar; tests of domain code pass fakes of it. */
export interface Sidecar {
  invoke<T>(appId: string, method: string, options?: InvokeOptions): Promise<T>;
  publish(pubsub: string, topic: string, data: unknown, options?: PublishOptions): Promise<void>;
  getState<T>(store: string, key: string): Promise<StateItem<T> | undefined>;
  /** Several keys in one call, in order (undefined where a key is absent); any key the store failed to read fails it all. */
  getStates<T>(store: string, keys: string[]): Promise<(StateItem<T> | undefined)[]>;
  saveState(store: string, key: string, value: unknown, options?: WriteOptions): Promise<void>;
  transaction(store: string, operations: StateOperation[]): Promise<void>;
  getSecret(store: string, name: string): Promise<string>;
  isHealthy(): Promise<boolean>;
}

export interface SidecarOptions {
  host: string;
  httpPort: number;
  apiToken?: string;
  timeoutMs?: number;
  log: Logger;
}

/**
 * Guards a write: with the ETag that was read (fails if anyone wrote since),
 * or, when the key was absent, as a first write (fails if anyone created it).
 */
export const writeGuard = (etag: string | undefined): WriteOptions => (etag ? { etag } : { firstWrite: true });

/**
 * A Sidecar over Dapr's HTTP API, with kept-alive connections (undici's
 * pool). Not @dapr/dapr's client: it drops response headers (a callee's
 * Retry-After, a state item's ETag: it hands ETags back only through the
 * bulk API, which loses errors on state.postgresql v2), pays for a fetch
 * with its streams on every call, and importing it costs a process some
 * 50 MB (its gRPC and workflow dependencies). Measured in bench/RESULTS.md.
 */
export function createSidecar(options: SidecarOptions): Sidecar {
  const timeoutMs = options.timeoutMs ?? 15_000;
  const pool = new Pool(`http://${options.host}:${options.httpPort}`, {
    connections: 32,
    keepAliveTimeout: 30_000,
    headersTimeout: timeoutMs,
    bodyTimeout: timeoutMs,
  });
  const base: Record<string, string> = options.apiToken ? { 'dapr-api-token': options.apiToken } : {};

  interface Answer {
    status: number;
    text: string;
    headers: Record<string, string | string[] | undefined>;
  }

  async function call(
    what: string,
    method: 'GET' | 'POST' | 'PUT' | 'DELETE',
    path: string,
    body?: unknown,
    headers: Record<string, string> = {},
  ): Promise<Answer> {
    const trace = currentTrace();
    try {
      const res = await pool.request({
        method,
        path,
        headers: {
          ...base,
          ...(trace ? { traceparent: trace.traceparent } : {}),
          ...(body === undefined ? {} : { 'content-type': 'application/json' }),
          ...headers,
        },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.statusCode, text: await res.body.text(), headers: res.headers };
    } catch (err) {
      throw transportFailure(what, err, timeoutMs);
    }
  }

  /** A non-2xx answer: the callee app's own error (our error body), or the sidecar's. */
  function failure(what: string, answer: Answer): DaprError {
    const parsed = parseBody(answer.text);
    const fromApp = typeof parsed === 'object' && parsed !== null && 'error' in parsed;
    const retryAfter = Number(answer.headers['retry-after']);
    return new DaprError(
      fromApp ? 'app' : 'dapr',
      answer.status,
      parsed,
      `${what}: ${answer.status} ${answer.text.slice(0, 300)}`,
      retryAfter > 0 ? retryAfter : undefined,
    );
  }

  const ok = async (what: string, answer: Promise<Answer>) => {
    const a = await answer;
    if (a.status >= 300) throw failure(what, a);
    return a;
  };

  return {
    async invoke<T>(appId: string, method: string, { method: httpMethod = 'GET', body, headers = {} }: InvokeOptions = {}) {
      const what = `invoke ${appId} ${httpMethod} /${method}`;
      const answer = await ok(what, call(what, httpMethod, `/v1.0/invoke/${appId}/method/${method}`, body, headers));
      if (answer.status !== 204 && !isJson(answer.text)) {
        // Every app answers JSON. Once daprd has passed on the callee's status
        // it cannot take it back: a callee lost mid-answer leaves a 2xx with a
        // body cut short (seen under app kills). Not an answer: the call may
        // or may not have been applied, as with a connection lost mid-call.
        throw new DaprError(
          'unreachable',
          answer.status,
          undefined,
          `${what}: ${answer.status} with a body cut short (${answer.text.length} bytes, not JSON)`,
        );
      }
      return parseBody(answer.text) as T;
    },

    async publish(pubsub, topic, data, { id, metadata = {} } = {}) {
      const trace = currentTrace();
      const meta = {
        ...metadata,
        ...(id ? { 'cloudevent.id': id } : {}),
        ...(trace ? { 'cloudevent.traceparent': trace.traceparent } : {}),
      };
      const query = Object.entries(meta)
        .map(([k, v]) => `metadata.${encodeURIComponent(k)}=${encodeURIComponent(v)}`)
        .join('&');
      const what = `publish ${topic}`;
      await ok(what, call(what, 'POST', `/v1.0/publish/${pubsub}/${topic}${query ? `?${query}` : ''}`, data));
    },

    // A single-key GET, with the ETag from its header. Not the bulk API:
    // state.postgresql v2's BulkGet never checks rows.Err(), so a connection
    // lost mid-query (a database restarting) reads as "no such key", with no
    // error at all.
    async getState<T>(store: string, key: string) {
      const what = `get ${store}/${key}`;
      const answer = await ok(what, call(what, 'GET', `/v1.0/state/${store}/${encodeURIComponent(key)}`));
      if (answer.status === 204 || answer.text === '') return undefined;
      const etag = answer.headers.etag;
      return { value: parseBody(answer.text) as T, etag: (Array.isArray(etag) ? etag[0] : etag) ?? '' } as StateItem<T>;
    },

    // The bulk API answers 200 even when the store failed a key, with the
    // error inside the item: that must not read as "absent". (Not for
    // state.postgresql v2, whose bulk get loses errors: see getState.)
    async getStates<T>(store: string, keys: string[]) {
      const what = `get ${store}/[${keys.length} keys]`;
      const answer = await ok(what, call(what, 'POST', `/v1.0/state/${store}/bulk`, { keys, parallelism: keys.length }));
      const items = (parseBody(answer.text) ?? []) as { key: string; data?: T; etag?: string; error?: string }[];
      const byKey = new Map(items.map((i) => [i.key, i]));
      return keys.map((key) => {
        const item = byKey.get(key);
        if (item?.error) throw new DaprError('dapr', 500, { message: item.error }, `get ${store}/${key}: ${item.error}`);
        if (!item || item.data === undefined || item.data === null || (item.data as unknown) === '') return undefined;
        return { value: item.data, etag: item.etag ?? '' };
      });
    },

    async saveState(store, key, value, writeOptions = {}) {
      const what = `save ${store}/${key}`;
      await ok(what, call(what, 'POST', `/v1.0/state/${store}`, [toItem(key, value, writeOptions)]));
    },

    async transaction(store, operations) {
      const what = `transaction ${store}`;
      const body = {
        operations: operations.map((op) => ({
          operation: op.operation,
          request: op.operation === 'upsert' ? toItem(op.key, op.value, op) : { key: op.key, ...(op.etag ? { etag: op.etag } : {}) },
        })),
      };
      await ok(what, call(what, 'POST', `/v1.0/state/${store}/transaction`, body));
    },

    async getSecret(store, name) {
      const what = `secret ${store}/${name}`;
      const answer = await ok(what, call(what, 'GET', `/v1.0/secrets/${store}/${encodeURIComponent(name)}`));
      const value = (parseBody(answer.text) as Record<string, string> | undefined)?.[name];
      if (!value) throw new DaprError('dapr', 404, undefined, `secret ${name} is missing or empty in ${store}`);
      return value;
    },

    // /v1.0/healthz is the sidecar's own readiness (components loaded, etc.).
    isHealthy: async () => {
      const answer = await call('healthz', 'GET', '/v1.0/healthz').catch(() => undefined);
      return answer?.status === 204;
    },
  };
}

function isJson(text: string): boolean {
  try {
    JSON.parse(text);
    return true;
  } catch {
    return false;
  }
}

function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/** A state item of Dapr's HTTP API: an ETag makes the write conditional, as does first-write. */
function toItem(key: string, value: unknown, { etag, firstWrite, metadata }: WriteOptions) {
  return {
    key,
    value,
    ...(etag ? { etag } : {}),
    ...(metadata ? { metadata } : {}),
    ...(firstWrite || etag ? { options: { concurrency: 'first-write' } } : {}),
  };
}
