import { writeGuard, type Sidecar, type StateItem, type StateOperation } from '@recipe/shared';
import type { Ledger, StoredRecipe } from './domain.js';

const recipeKey = (recipeId: string) => `recipe:${recipeId}`;
const ledgerKey = (memberId: string) => `ledger:${memberId}`;

/**
 * myrecipe's state in its Dapr state store (PostgreSQL, whose transactions
 * are atomic): recipes (and what stays of deleted or abandoned ones), ledgers.
 * Every write is guarded: by the ETag read, or as a first write when the key
 * was absent.
 */
export interface MyRecipeStore {
  getRecipe(recipeId: string): Promise<StateItem<StoredRecipe> | undefined>;
  getLedger(memberId: string): Promise<StateItem<Ledger> | undefined>;
  saveRecipe(recipe: StoredRecipe, etag: string | undefined): Promise<void>;
  saveLedger(ledger: Ledger, etag: string | undefined): Promise<void>;
  /** Both records in one atomic transaction: both written, or neither. */
  saveBoth(recipe: StoredRecipe, recipeEtag: string, ledger: Ledger, ledgerEtag: string | undefined): Promise<void>;
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
    saveBoth: (recipe, recipeEtag, ledger, ledgerEtag) =>
      sidecar.transaction(store, [
        upsert(recipeKey(recipe.recipeId), recipe, recipeEtag),
        upsert(ledgerKey(ledger.memberId), ledger, ledgerEtag),
      ]),
  };
}
