import type { Sidecar, StateItem, StateOperation } from '@recipe/shared';
import type { DeletedRecipe, Ledger, Recipe, StoredRecipe } from './domain.js';

const recipeKey = (recipeId: string) => `recipe:${recipeId}`;
const ledgerKey = (memberId: string) => `ledger:${memberId}`;

/** myrecipe's state in its Dapr state store (PostgreSQL): recipes, tombstones, ledgers. */
export interface MyRecipeStore {
  /** A recipe, or what stays of it once deleted. */
  getRecipe(recipeId: string): Promise<StateItem<StoredRecipe> | undefined>;
  getLedger(memberId: string): Promise<StateItem<Ledger> | undefined>;
  /** A plain save: not a transaction, so the outbox publishes nothing. */
  saveLedger(ledger: Ledger, etag: string | undefined): Promise<void>;
  ops: {
    insertRecipe(recipe: Recipe): StateOperation;
    /** Replaces the recipe by its tombstone (see DeletedRecipe). */
    markDeleted(tombstone: DeletedRecipe, etag: string): StateOperation;
    putLedger(ledger: Ledger, etag: string | undefined): StateOperation;
  };
  keys: { recipe: typeof recipeKey; ledger: typeof ledgerKey };
}

export function createStore(sidecar: Sidecar, store: string): MyRecipeStore {
  // Without an etag, first-write makes the write an insert: it fails if a
  // concurrent writer created the key first.
  const write = (etag: string | undefined) => (etag ? { etag } : { firstWrite: true });
  return {
    getRecipe: (recipeId) => sidecar.getState<StoredRecipe>(store, recipeKey(recipeId)),
    getLedger: (memberId) => sidecar.getState<Ledger>(store, ledgerKey(memberId)),
    saveLedger: (ledger, etag) => sidecar.saveState(store, ledgerKey(ledger.memberId), ledger, write(etag)),
    ops: {
      insertRecipe: (recipe) => ({ operation: 'upsert', key: recipeKey(recipe.recipeId), value: recipe, firstWrite: true }),
      markDeleted: (tombstone, etag) => ({ operation: 'upsert', key: recipeKey(tombstone.recipeId), value: tombstone, etag }),
      putLedger: (ledger, etag) => ({ operation: 'upsert', key: ledgerKey(ledger.memberId), value: ledger, ...write(etag) }),
    },
    keys: { recipe: recipeKey, ledger: ledgerKey },
  };
}
