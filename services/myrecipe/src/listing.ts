/**
 * Each member's list of recipe ids, newest first, kept in the same atomic
 * transactions as the recipes themselves (a registration adds its id, a
 * delete removes it), so the list never disagrees with the recipes, whatever
 * dies when and however many replicas write.
 *
 * A key/value store has no query to list a member's keys, and one record
 * holding every id would grow without bound, so the list is cut into chunks
 * by registration number: every registration takes the member's next number
 * `seq`, and chunk `floor(seq / chunkSize)` holds it. The newest chunk lives
 * in the head record with the next number; when it is full the next
 * registration writes it out as a chunk record of its own (a first write, in
 * the same transaction) and starts a new one. A record thus holds at most
 * `chunkSize` ids, and a recipe's `seq` tells in which record its id is.
 */

export const INDEX_CHUNK_SIZE = 200;

export interface IndexEntry {
  seq: number;
  recipeId: string;
}

/** A chunk of the list, entries newest first. */
export interface IndexChunk {
  memberId: string;
  chunk: number;
  entries: IndexEntry[];
}

/** The newest chunk and the member's next registration number. */
export interface IndexHead extends IndexChunk {
  next: number;
  /** Fixed when the head is first written: every replica cuts the same chunks. */
  chunkSize: number;
}

export const isHead = (record: IndexChunk): record is IndexHead => 'next' in record;
export const chunkOf = (seq: number, chunkSize: number) => Math.floor(seq / chunkSize);

export interface Registration {
  seq: number;
  head: IndexHead;
  /** The head's chunk, full, written out on its own (absent: nothing to write). */
  archived?: IndexChunk;
}

/** What registering `recipeId` makes of the member's head. */
export function withRegistered(
  head: IndexHead | undefined,
  memberId: string,
  recipeId: string,
  chunkSize = INDEX_CHUNK_SIZE,
): Registration {
  const current = head ?? { memberId, chunk: 0, entries: [], next: 0, chunkSize };
  const seq = current.next;
  const entry = { seq, recipeId };
  const chunk = chunkOf(seq, current.chunkSize);
  if (chunk === current.chunk) return { seq, head: { ...current, next: seq + 1, entries: [entry, ...current.entries] } };
  const archived = current.entries.length ? { memberId, chunk: current.chunk, entries: current.entries } : undefined;
  return { seq, head: { ...current, chunk, next: seq + 1, entries: [entry] }, archived };
}

export function withoutEntry<T extends IndexChunk>(record: T, recipeId: string): T {
  return { ...record, entries: record.entries.filter((e) => e.recipeId !== recipeId) };
}

/** How many index records one page may read at most (chunks emptied by deletes cost a read each). */
export const MAX_CHUNK_READS = 8;

/**
 * One page of ids below registration number `below`, newest first, reading
 * chunks from the newest down. Stops after `limit` + 1 ids (to know whether
 * there is more) or MAX_CHUNK_READS chunks; `next` is where the next page
 * starts (undefined: nothing left).
 */
export async function pageOfIds(
  head: IndexHead,
  below: number,
  limit: number,
  readChunk: (chunk: number) => Promise<IndexChunk | undefined>,
): Promise<{ ids: IndexEntry[]; next: number | undefined }> {
  const found: IndexEntry[] = [];
  let bound = Math.min(below, head.next);
  for (let reads = 0; bound > 0 && found.length <= limit && reads < MAX_CHUNK_READS; reads++) {
    const chunk = chunkOf(bound - 1, head.chunkSize);
    const entries = chunk === head.chunk ? head.entries : ((await readChunk(chunk))?.entries ?? []);
    for (const e of entries) if (e.seq < bound && found.length <= limit) found.push(e);
    bound = chunk * head.chunkSize;
  }
  if (found.length > limit) return { ids: found.slice(0, limit), next: found[limit - 1]!.seq };
  return { ids: found, next: bound > 0 ? bound : undefined };
}
