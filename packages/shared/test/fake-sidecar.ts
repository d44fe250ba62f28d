import {
  DaprError,
  createLogger,
  createOutbox,
  type Intent,
  type IntentResolver,
  type InvokeOptions,
  type Sidecar,
  type StateOperation,
  type WriteOptions,
} from '@recipe/shared';

/**
 * An in-memory stand-in for a sidecar, for unit tests of domain code only
 * (integration tests run the real daprd). It keeps Dapr's state semantics
 * that the code relies on: ETag checks, first-write inserts, all-or-nothing
 * transactions.
 */
export function fakeSidecar() {
  const state = new Map<string, { value: unknown; etag: string }>();
  const published: { topic: string; data: unknown; id?: string }[] = [];
  const invoked: { appId: string; method: string; options: InvokeOptions }[] = [];
  let etags = 0;
  const handlers = new Map<string, (options: InvokeOptions) => unknown>();
  const failures = {
    transaction: undefined as Error | undefined,
    save: undefined as Error | undefined,
    get: undefined as Error | undefined,
    publishTo: new Set<string>(),
  };

  const conflict = (key: string) => new DaprError('dapr', 409, { errorCode: 'ERR_STATE_ETAG_MISMATCH' }, `etag mismatch on ${key}`);
  const id = (store: string, key: string) => `${store}/${key}`;
  const check = (store: string, key: string, { etag, firstWrite }: WriteOptions & { etag?: string }) => {
    const current = state.get(id(store, key));
    if (etag !== undefined && current?.etag !== etag) throw conflict(key);
    if (etag === undefined && firstWrite && current) throw conflict(key);
  };
  const clone = <T>(v: T): T => (v === undefined ? v : JSON.parse(JSON.stringify(v)));

  const sidecar: Sidecar = {
    async invoke<T>(appId: string, method: string, options: InvokeOptions = {}) {
      invoked.push({ appId, method, options });
      const handler = handlers.get(`${appId} ${options.method ?? 'GET'} ${method.replace(/[0-9a-f-]{36}/g, ':id')}`);
      if (!handler) throw new DaprError('dapr', 500, { errorCode: 'ERR_DIRECT_INVOKE' }, `no handler for ${appId} ${method}`);
      return handler(options) as T;
    },
    async publish(_pubsub, topic, data, options = {}) {
      if (failures.publishTo.has(topic)) throw new DaprError('unreachable', undefined, undefined, `publish to ${topic} failed`);
      published.push({ topic, data: clone(data), id: options.id });
    },
    async getState<T>(store: string, key: string) {
      if (failures.get) throw failures.get;
      const item = state.get(id(store, key));
      return item ? { value: clone(item.value) as T, etag: item.etag } : undefined;
    },
    async getStates<T>(store: string, keys: string[]) {
      return Promise.all(keys.map((key) => sidecar.getState<T>(store, key)));
    },
    async saveState(store, key, value, options = {}) {
      if (failures.save) throw failures.save;
      check(store, key, options);
      state.set(id(store, key), { value: clone(value), etag: String(++etags) });
    },
    async transaction(store: string, operations: StateOperation[]) {
      if (failures.transaction) throw failures.transaction;
      for (const op of operations) check(store, op.key, op);
      for (const op of operations) {
        if (op.operation === 'delete') state.delete(id(store, op.key));
        else state.set(id(store, op.key), { value: clone(op.value), etag: String(++etags) });
      }
    },
    async getSecret() {
      return 'secret';
    },
    async isHealthy() {
      return true;
    },
  };

  return {
    sidecar,
    state,
    published,
    invoked,
    failures,
    /** Answers invocations of `<appId> <METHOD> <path with :id for UUIDs>`. */
    handle(route: string, handler: (options: InvokeOptions) => unknown) {
      handlers.set(route, handler);
    },
  };
}

/**
 * A service's outbox on a fake sidecar, for unit tests of its use cases: the
 * relay looks at the state at once, and `relayAll` delivers every intent
 * published so far, as the broker would, returning what the relay published.
 */
export function fakeOutbox(fake: ReturnType<typeof fakeSidecar>, appId: string, resolver: () => IntentResolver, clock: { now: Date }) {
  const outbox = createOutbox({
    sidecar: fake.sidecar,
    pubsub: 'pubsub',
    appId,
    log: createLogger('test', 'silent'),
    resolver: { settle: (i) => resolver().settle(i), abandon: (i) => resolver().abandon(i) },
    clock: () => clock.now,
    inlineWaitMs: 0,
  });
  const intents = () => fake.published.filter((p) => p.topic === `${appId}-outbox`).map((p) => p.data as Intent);
  const relayAll = async () => {
    const before = fake.published.length;
    for (const intent of intents()) await outbox.relay(intent);
    return fake.published.slice(before);
  };
  return { outbox, intents, relayAll };
}
