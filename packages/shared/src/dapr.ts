import { CommunicationProtocolEnum, DaprClient, LogLevel, StateConcurrencyEnum, type LoggerService } from '@dapr/dapr';
import { DaprError, toDaprError } from './dapr-errors.js';
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
  | ({ operation: 'upsert'; key: string; value: unknown } & WriteOptions)
  | { operation: 'delete'; key: string; etag?: string };

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

/** A Sidecar over @dapr/dapr's DaprClient (HTTP), turning its errors into DaprError. */
export function createSidecar(options: SidecarOptions): Sidecar {
  const client = new DaprClient({
    daprHost: options.host,
    daprPort: String(options.httpPort),
    communicationProtocol: CommunicationProtocolEnum.HTTP,
    daprApiToken: options.apiToken,
    logger: { level: LogLevel.Debug, service: sdkLogger(options.log) },
  });
  const timeoutMs = options.timeoutMs ?? 15_000;
  const call = <T>(what: string, fn: () => Promise<T>) => withTimeout(what, timeoutMs, fn().catch((err) => Promise.reject(toDaprError(what, err))));

  const daprUrl = `http://${options.host}:${options.httpPort}`;
  const tokenHeader: Record<string, string> = options.apiToken ? { 'dapr-api-token': options.apiToken } : {};

  return {
    // Service invocation over plain fetch (kept-alive connections): the SDK
    // drops the callee's headers (Retry-After) from its errors.
    invoke: async <T>(appId: string, method: string, { method: httpMethod = 'GET', body, headers = {} }: InvokeOptions = {}) => {
      const what = `invoke ${appId} ${httpMethod} /${method}`;
      let res: Response;
      try {
        res = await fetch(`${daprUrl}/v1.0/invoke/${appId}/method/${method}`, {
          method: httpMethod,
          headers: { ...tokenHeader, ...traceHeaders(), ...(body === undefined ? {} : { 'content-type': 'application/json' }), ...headers },
          body: body === undefined ? undefined : JSON.stringify(body),
          signal: AbortSignal.timeout(timeoutMs),
        });
      } catch (err) {
        const cause = (err as { cause?: { code?: string } }).cause;
        if ((err as Error).name === 'TimeoutError') throw new DaprError('timeout', undefined, undefined, `${what}: no answer within ${timeoutMs} ms`);
        throw new DaprError('unreachable', undefined, undefined, `${what}: ${cause?.code ?? ''} ${(err as Error).message}`.trim());
      }
      const text = await res.text();
      const parsed = parseBody(text);
      if (res.ok) return parsed as T;
      const fromApp = typeof parsed === 'object' && parsed !== null && 'error' in parsed;
      const retryAfter = Number(res.headers.get('retry-after'));
      throw new DaprError(fromApp ? 'app' : 'dapr', res.status, parsed, `${what}: ${res.status} ${text.slice(0, 300)}`, retryAfter > 0 ? retryAfter : undefined);
    },

    publish: (pubsub, topic, data, { id, metadata = {} } = {}) =>
      call(`publish ${topic}`, async () => {
        const trace = currentTrace();
        const meta = { ...metadata, ...(id ? { 'cloudevent.id': id } : {}), ...(trace ? { 'cloudevent.traceparent': trace.traceparent } : {}) };
        // The SDK returns publish failures instead of throwing them.
        const result = await client.pubsub.publish(pubsub, topic, data as object, { metadata: meta });
        if (result.error) throw result.error;
      }),

    // A single-key GET, with the ETag from its header. Not the bulk API (the
    // only way the SDK hands back ETags): state.postgresql v2's BulkGet never
    // checks rows.Err(), so a connection lost mid-query (a database
    // restarting) reads as "no such key", with no error at all.
    getState: async <T>(store: string, key: string) => {
      const what = `get ${store}/${key}`;
      let res: Response;
      try {
        res = await fetch(`${daprUrl}/v1.0/state/${store}/${encodeURIComponent(key)}`, { headers: { ...tokenHeader }, signal: AbortSignal.timeout(timeoutMs) });
      } catch (err) {
        if ((err as Error).name === 'TimeoutError') throw new DaprError('timeout', undefined, undefined, `${what}: no answer within ${timeoutMs} ms`);
        throw new DaprError('unreachable', undefined, undefined, `${what}: ${(err as { cause?: { code?: string } }).cause?.code ?? ''} ${(err as Error).message}`.trim());
      }
      const text = await res.text();
      if (res.status === 204 || (res.ok && text === '')) return undefined;
      if (!res.ok) throw new DaprError('dapr', res.status, parseBody(text), `${what}: ${res.status} ${text.slice(0, 300)}`);
      return { value: parseBody(text) as T, etag: res.headers.get('etag') ?? '' } as StateItem<T>;
    },

    saveState: (store, key, value, writeOptions = {}) =>
      call(`save ${store}/${key}`, async () => {
        const result = await client.state.save(store, [toKeyValue(key, value, writeOptions)]);
        if (result.error) throw result.error;
      }),

    transaction: (store, operations) =>
      call(`transaction ${store}`, () =>
        client.state.transaction(
          store,
          // The SDK types etag as an object, but Dapr's HTTP API takes the string.
          operations.map((op) => ({
            operation: op.operation,
            request: (op.operation === 'upsert' ? toKeyValue(op.key, op.value, op) : { key: op.key, ...(op.etag ? { etag: op.etag } : {}) }) as never,
          })),
        ),
      ),

    getSecret: (store, name) =>
      call(`secret ${store}/${name}`, async () => {
        const secret = (await client.secret.get(store, name)) as Record<string, string> | undefined;
        const value = secret?.[name];
        if (!value) throw new DaprError('dapr', 404, undefined, `secret ${name} is missing or empty in ${store}`);
        return value;
      }),

    // The SDK's health check only asks for /metadata, which answers before
    // components are ready; /v1.0/healthz is the sidecar's own readiness.
    isHealthy: async () => {
      const headers: Record<string, string> = options.apiToken ? { 'dapr-api-token': options.apiToken } : {};
      const res = await fetch(`http://${options.host}:${options.httpPort}/v1.0/healthz`, { headers, signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
      return res?.status === 204;
    },
  };
}

function parseBody(text: string): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

/**
 * Guards a write: with the ETag that was read (fails if anyone wrote since),
 * or, when the key was absent, as a first write (fails if anyone created it).
 */
export const writeGuard = (etag: string | undefined): WriteOptions => (etag ? { etag } : { firstWrite: true });

function toKeyValue(key: string, value: unknown, { etag, firstWrite, metadata }: WriteOptions) {
  return {
    key,
    value,
    ...(etag ? { etag } : {}),
    ...(metadata ? { metadata } : {}),
    ...(firstWrite || etag ? { options: { concurrency: StateConcurrencyEnum.CONCURRENCY_FIRST_WRITE } as never } : {}),
  };
}

function traceHeaders(): Record<string, string> {
  const trace = currentTrace();
  return trace ? { traceparent: trace.traceparent } : {};
}

async function withTimeout<T>(what: string, ms: number, promise: Promise<T>): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  const timeout = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new DaprError('timeout', undefined, undefined, `${what}: no answer within ${ms} ms`)), ms);
  });
  try {
    return await Promise.race([promise, timeout]);
  } finally {
    clearTimeout(timer);
  }
}

function sdkLogger(log: Logger): LoggerService {
  // The SDK logs failures it also returns; they are logged where handled.
  const child = log.child({ component: 'dapr-sdk' });
  return {
    error: (msg: unknown) => child.debug(String(msg)),
    warn: (msg: unknown) => child.debug(String(msg)),
    info: (msg: unknown) => child.debug(String(msg)),
    verbose: (msg: unknown) => child.trace(String(msg)),
    debug: (msg: unknown) => child.trace(String(msg)),
  };
}
