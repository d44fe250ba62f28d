/**
 * Runs read-modify-write sections one at a time per key, within this process.
 *
 * An optimisation only: every write is guarded by the ETag it read, so two
 * writers of one record (another replica, say) cannot both win. Taking turns
 * here means a replica never loses an optimistic race against itself, and a
 * popular record costs fewer re-reads.
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
