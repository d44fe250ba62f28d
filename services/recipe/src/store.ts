import { writeGuard, type Sidecar, type StateItem } from '@recipe/shared';
import { BUCKETS, type Bucket, type Recommendation, type RecipeHead } from './domain.js';

const headKey = (recipeId: string) => `recipe:${recipeId}`;
const bucketKey = (recipeId: string, bucket: number) => `recipe:${recipeId}#${bucket}`;

/**
 * The catalogue in its Dapr state store (Redis): a head and buckets per recipe
 * (see domain.ts), each written whole with its ETag. state.redis applies each
 * operation of a transaction on its own (Redis has no rollback), so nothing
 * here depends on two records changing together.
 */
export interface CatalogueStore {
  head(recipeId: string): Promise<StateItem<RecipeHead> | undefined>;
  bucket(recipeId: string, bucket: number): Promise<StateItem<Bucket> | undefined>;
  /** The head and one bucket, in one call. */
  headAndBucket(recipeId: string, bucket: number): Promise<[StateItem<RecipeHead> | undefined, StateItem<Bucket> | undefined]>;
  /** Every bucket of a recipe, in bucket order (undefined where there is none yet). */
  buckets(recipeId: string): Promise<(StateItem<Bucket> | undefined)[]>;
  saveHead(head: RecipeHead, etag: string | undefined): Promise<void>;
  saveBucket(recipeId: string, bucket: number, value: Bucket, etag: string | undefined): Promise<void>;
}

export function createStore(sidecar: Sidecar, store: string): CatalogueStore {
  return {
    head: async (recipeId) => {
      const item = await sidecar.getState<RecipeHead>(store, headKey(recipeId));
      return item && { ...item, value: upgrade(item.value) };
    },
    bucket: (recipeId, bucket) => sidecar.getState<Bucket>(store, bucketKey(recipeId, bucket)),
    headAndBucket: async (recipeId, bucket) => {
      const [head, b] = await sidecar.getStates<RecipeHead | Bucket>(store, [headKey(recipeId), bucketKey(recipeId, bucket)]);
      return [head && { ...head, value: upgrade(head.value as Legacy) }, b as StateItem<Bucket> | undefined];
    },
    buckets: (recipeId) =>
      sidecar.getStates<Bucket>(
        store,
        Array.from({ length: BUCKETS }, (_, b) => bucketKey(recipeId, b)),
      ),
    saveHead: (head, etag) => sidecar.saveState(store, headKey(head.recipeId), head, writeGuard(etag)),
    saveBucket: (recipeId, bucket, value, etag) => sidecar.saveState(store, bucketKey(recipeId, bucket), value, writeGuard(etag)),
  };
}

type Legacy = RecipeHead & {
  points?: number;
  recommendations?: Recommendation[];
  recommenders?: string[];
  withdrawal?: { at: string; confirmed: boolean };
};

/**
 * Records written before heads and buckets kept the recommendations in the
 * recipe's own record: they stay there, read-only (`legacy`).
 */
function upgrade(record: Legacy): RecipeHead {
  if (record.epoch !== undefined) return record;
  const { points = 0, recommendations, recommenders = [], withdrawal, ...rest } = record;
  const each = recommenders.length ? points / recommenders.length : 0;
  const legacy = recommendations ?? recommenders.map((by) => ({ by, points: each, at: record.registeredAt ?? new Date(0).toISOString() }));
  return { ...rest, epoch: 0, ...(legacy.length ? { legacy } : {}), ...(withdrawal?.confirmed ? { deletedAt: withdrawal.at } : {}) };
}
