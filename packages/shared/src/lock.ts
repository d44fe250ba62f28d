/**
 * Runs read-modify-write sections one at a time per key, within this process.
 *
 * Why: an outbox transaction that fails (an ETag conflict, say) makes daprd
 * 1.18.3 spin forever on its internal outbox message: the retry in
 * pkg/runtime/pubsub/outbox.go builds backoff.ExponentialBackOff without
 * `Stop: backoff.Stop`, so MaxElapsedTime never ends it and
 * outboxDiscardWhenMissingState is never reached. Serialising writers of one
 * aggregate means a replica never loses an optimistic race against itself.
 */
export function createKeyedLock() {
  const tails = new Map<string, Promise<unknown>>();
  return async function withLock<T>(key: string, section: () => Promise<T>): Promise<T> {
    const previous = tails.get(key) ?? Promise.resolve();
    const run = previous.then(section, section);
    const tail = run.catch(() => undefined);
    tails.set(key, tail);
    try {
      return await run;
    } finally {
      if (tails.get(key) === tail) tails.delete(key);
    }
  };
}

export type KeyedLock = ReturnType<typeof createKeyedLock>;
