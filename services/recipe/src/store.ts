import type { Sidecar, StateItem, StateOperation } from '@recipe/shared';
import type { CatalogueRecipe } from './domain.js';

const recipeKey = (recipeId: string) => `recipe:${recipeId}`;

/** The catalogue in its Dapr state store (Redis, outbox enabled). */
export interface CatalogueStore {
  get(recipeId: string): Promise<StateItem<CatalogueRecipe> | undefined>;
  /** A plain save: the outbox publishes nothing for it. */
  save(recipe: CatalogueRecipe, etag: string | undefined): Promise<void>;
  put(recipe: CatalogueRecipe, etag: string | undefined): StateOperation;
  key: typeof recipeKey;
}

export function createStore(sidecar: Sidecar, store: string): CatalogueStore {
  const write = (etag: string | undefined) => (etag ? { etag } : { firstWrite: true });
  return {
    get: (recipeId) => sidecar.getState<CatalogueRecipe>(store, recipeKey(recipeId)),
    save: (recipe, etag) => sidecar.saveState(store, recipeKey(recipe.recipeId), recipe, write(etag)),
    put: (recipe, etag) => ({ operation: 'upsert', key: recipeKey(recipe.recipeId), value: recipe, ...write(etag) }),
    key: recipeKey,
  };
}
