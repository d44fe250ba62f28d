import { writeGuard, type Sidecar, type StateItem } from '@recipe/shared';
import type { CatalogueRecipe } from './domain.js';

const recipeKey = (recipeId: string) => `recipe:${recipeId}`;

/**
 * The catalogue in its Dapr state store (Redis). One record per recipe,
 * written whole with its ETag: state.redis applies each operation of a
 * transaction on its own (Redis has no rollback), so nothing here depends on
 * two keys changing together.
 */
export interface CatalogueStore {
  get(recipeId: string): Promise<StateItem<CatalogueRecipe> | undefined>;
  save(recipe: CatalogueRecipe, etag: string | undefined): Promise<void>;
}

export function createStore(sidecar: Sidecar, store: string): CatalogueStore {
  return {
    get: async (recipeId) => {
      const item = await sidecar.getState<CatalogueRecipe>(store, recipeKey(recipeId));
      return item && { ...item, value: upgrade(item.value) };
    },
    save: (recipe, etag) => sidecar.saveState(store, recipeKey(recipe.recipeId), recipe, writeGuard(etag)),
  };
}

/** Records written before recommendations carried their points kept only who recommended. */
function upgrade(recipe: CatalogueRecipe & { recommenders?: string[]; withdrawal?: { at: string; confirmed: boolean } }): CatalogueRecipe {
  if (recipe.recommendations) return recipe;
  const { recommenders = [], withdrawal, ...rest } = recipe;
  const each = recommenders.length ? recipe.points / recommenders.length : 0;
  return {
    ...rest,
    recommendations: recommenders.map((by) => ({ by, points: each, at: recipe.registeredAt ?? new Date(0).toISOString() })),
    ...(withdrawal?.confirmed ? { deletedAt: withdrawal.at } : {}),
  };
}
