import { writeGuard, type Sidecar, type StateItem, type StateOperation } from '@recipe/shared';
import type { Ledger, StoredRecipe } from './domain.js';
import { isHead, type IndexChunk, type IndexHead, type Registration } from './listing.js';

const recipeKey = (recipeId: string) => `recipe:${recipeId}`;
const ledgerKey = (memberId: string) => `ledger:${memberId}`;
// '#' is never in a member id: no member's head is another's chunk.
const headKey = (memberId: string) => `recipes-of:${memberId}`;
const chunkKey = (memberId: string, chunk: number) => `recipes-of:${memberId}#${chunk}`;
const indexKey = (record: IndexChunk) => (isHead(record) ? headKey(record.memberId) : chunkKey(record.memberId, record.chunk));

/**
 * myrecipe's state in its Dapr state store (PostgreSQL, whose transactions
 * are atomic): recipes (and what stays of deleted or abandoned ones), ledgers,
 * and each member's list of recipe ids (listing.ts).
 * Every write is guarded: by the ETag read, or as a first write when the key
 * was absent.
 */
export interface MyRecipeStore {
  getRecipe(recipeId: string): Promise<StateItem<StoredRecipe> | undefined>;
  getLedger(memberId: string): Promise<StateItem<Ledger> | undefined>;
  saveRecipe(recipe: StoredRecipe, etag: string | undefined): Promise<void>;
  saveLedger(ledger: Ledger, etag: string | undefined): Promise<void>;
  getIndexHead(memberId: string): Promise<StateItem<IndexHead> | undefined>;
  getIndexChunk(memberId: string, chunk: number): Promise<StateItem<IndexChunk> | undefined>;
  /** The recipe and the member's list with its id, in one atomic transaction. */
  saveRegistration(recipe: StoredRecipe, recipeEtag: string | undefined, index: Registration, headEtag: string | undefined): Promise<void>;
  /**
   * The tombstone, the ledger without the recipe and the list record without
   * its id (absent for a recipe registered before lists were kept), in one
   * atomic transaction: all written, or none.
   */
  saveDeletion(
    recipe: StoredRecipe,
    recipeEtag: string,
    ledger: Ledger,
    ledgerEtag: string | undefined,
    index?: { record: IndexChunk; etag: string },
  ): Promise<void>;
}

export function createStore(sidecar: Sidecar, store: string): MyRecipeStore {
  const upsert = (key: string, value: unknown, etag: string | undefined): StateOperation => ({
    operation: 'upsert',
    key,
    value,
    ...writeGuard(etag),
  });
  return {
    getRecipe: (recipeId) => sidecar.getState<StoredRecipe>(store, recipeKey(recipeId)),
    getLedger: (memberId) => sidecar.getState<Ledger>(store, ledgerKey(memberId)),
    saveRecipe: (recipe, etag) => sidecar.saveState(store, recipeKey(recipe.recipeId), recipe, writeGuard(etag)),
    saveLedger: (ledger, etag) => sidecar.saveState(store, ledgerKey(ledger.memberId), ledger, writeGuard(etag)),
    getIndexHead: (memberId) => sidecar.getState<IndexHead>(store, headKey(memberId)),
    getIndexChunk: (memberId, chunk) => sidecar.getState<IndexChunk>(store, chunkKey(memberId, chunk)),
    saveRegistration: (recipe, recipeEtag, { head, archived }, headEtag) =>
      sidecar.transaction(store, [
        upsert(recipeKey(recipe.recipeId), recipe, recipeEtag),
        upsert(indexKey(head), head, headEtag),
        // A chunk is written out once, by the registration that fills it.
        ...(archived ? [upsert(indexKey(archived), archived, undefined)] : []),
      ]),
    saveDeletion: (recipe, recipeEtag, ledger, ledgerEtag, index) =>
      sidecar.transaction(store, [
        upsert(recipeKey(recipe.recipeId), recipe, recipeEtag),
        upsert(ledgerKey(ledger.memberId), ledger, ledgerEtag),
        ...(index ? [upsert(indexKey(index.record), index.record, index.etag)] : []),
      ]),
  };
}
