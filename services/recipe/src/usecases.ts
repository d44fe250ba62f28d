import {
  AppError,
  DaprError,
  TOPICS,
  confirmAfterFailure,
  createKeyedLock,
  notFound,
  recommendedEvent,
  retryOnConflict,
  unavailable,
  type Deleted,
  type Intent,
  type IntentResolver,
  type Outbox,
  type Registered,
  type Settlement,
  type StateItem,
} from '@recipe/shared';
import * as rules from './domain.js';
import type { CatalogueStore } from './store.js';

export interface CatalogueDeps {
  store: CatalogueStore;
  outbox: Pick<Outbox, 'intend' | 'finished'>;
  clock: () => Date;
  rules: rules.Rules;
  retryAfterSeconds: number;
}

const recipeNotFound = () => notFound('RECIPE.NOT_FOUND', 'no such recipe');
const PENDING: Settlement = { kind: 'pending' };
const VOID: Settlement = { kind: 'void' };
/** Read the head again: a withdrawal stamped the bucket since it was read. */
const stale = () => new DaprError('dapr', 409, undefined, 'the recipe changed since it was read');

export function createCatalogue({ store, outbox, clock, rules: config, retryAfterSeconds }: CatalogueDeps) {
  // Writers of one record take turns in this replica: fewer lost ETag races
  // on a popular recipe. An optimisation only; the ETags are the guarantee.
  const withLock = createKeyedLock();
  const isConflict = (err: unknown) => err instanceof DaprError && err.isConflict;

  /** Applies a change to a recipe's head (or to a placeholder when it is unknown), retrying lost races. */
  const update = <R>(recipeId: string, authorId: string, change: (h: rules.RecipeHead) => { next?: rules.RecipeHead; result: R }) =>
    withLock(recipeId, () =>
      retryOnConflict(async () => {
        const item = await store.head(recipeId);
        const current = item?.value ?? rules.placeholder(recipeId, authorId);
        if (current.authorId !== authorId) throw new AppError(403, 'RECIPE.NOT_AUTHOR', 'the recipe belongs to another member');
        const { next, result } = change(current);
        if (next) await store.saveHead(next, item?.etag);
        return { head: next ?? current, result };
      }),
    );
  const apply = (change: (h: rules.RecipeHead) => rules.RecipeHead | undefined) => (h: rules.RecipeHead) => ({
    next: change(h),
    result: undefined,
  });

  /**
   * Copies a bucket's totals into the head (see RecipeHead.copied), so that
   * reading the head alone gives the recipe's points. Losing a race to
   * another copy is fine: copies only grow, and the outbox relay copies again.
   */
  async function copy(
    recipeId: string,
    b: number,
    bucket: rules.Bucket,
    read?: StateItem<rules.RecipeHead>,
  ): Promise<rules.RecipeHead | undefined> {
    let known = read;
    return retryOnConflict(async () => {
      const head = known ?? (await store.head(recipeId));
      known = undefined;
      if (!head) return undefined;
      const next = rules.withCopy(head.value, b, bucket);
      if (next) await store.saveHead(next, head.etag);
      return next ?? head.value;
    });
  }

  const recommendation = (head: rules.RecipeHead, b: number, bucket: rules.Bucket | undefined, alreadyRecommended: boolean) => ({
    ...rules.publicView(head, new Map([[b, bucket]])),
    alreadyRecommended,
  });

  /**
   * A write whose answer was lost: the recommendation is there (a success),
   * or it is not, and fencing the attempt off (an ETag-guarded write of its
   * bucket naming it) makes sure it never lands: a truthful 503.
   */
  async function confirm(head: rules.RecipeHead, recommenderId: string, intent: Intent, cause: unknown) {
    const b = rules.bucketOf(recommenderId);
    const { bucket } = await confirmAfterFailure(
      async () => {
        const item = await store.bucket(head.recipeId, b);
        if (rules.recommendationOf(head, item?.value, recommenderId)) return { bucket: item?.value };
        await store.saveBucket(head.recipeId, b, rules.fence(item?.value, head.epoch, intent.id), item?.etag);
        return undefined;
      },
      { cause, retryAfterSeconds, nothingChanged: 'the recommendation could not be recorded right now; nothing was changed, please retry' },
    );
    return recommendation(head, b, bucket, false);
  }

  /**
   * One write of the member's bucket, guarded by its ETag and by the head's
   * epoch (see RecipeHead.epoch): it either gets the recommendation and its
   * points in, or loses a race and tries again from fresh reads. The outbox
   * intent goes out before the first write.
   */
  async function recommend(recipeId: string, recommenderId: string) {
    const b = rules.bucketOf(recommenderId);
    let intent: Intent | undefined;
    try {
      return await retryOnConflict(async () => {
        const [head, bucket] = await store.headAndBucket(recipeId, b);
        const outcome = rules.recommend(head?.value, bucket?.value, recommenderId, clock(), config);
        switch (outcome.kind) {
          case 'not-found':
            throw recipeNotFound();
          case 'own-recipe':
            throw new AppError(403, 'RECOMMENDATION.OWN_RECIPE', 'members cannot recommend their own recipe');
          case 'duplicate':
            return recommendation(head!.value, b, bucket?.value, true);
          case 'stale':
            throw stale();
          case 'recommended':
            intent ??= await outbox.intend(TOPICS.recommended, { recipeId, memberId: recommenderId });
            if (bucket?.value.fenced?.includes(intent.id))
              throw unavailable('the recommendation could not be recorded; nothing was changed, please retry', retryAfterSeconds);
            try {
              await store.saveBucket(recipeId, b, outcome.bucket, bucket?.etag);
            } catch (err) {
              if (isConflict(err)) throw err;
              return confirm(head!.value, recommenderId, intent, err);
            }
            // The answer's totals: the head's copies, with this bucket as just written.
            // The outbox relay copies the bucket into the head.
            return recommendation(head!.value, b, outcome.bucket, false);
        }
      });
    } finally {
      if (intent) outbox.finished(intent);
    }
  }

  /**
   * Stamps every bucket with the head's epoch: from then on no recommendation
   * that read the head before the hold can land, and the buckets' total is
   * the recipe's for good (while the hold is on).
   */
  async function stampAll(head: rules.RecipeHead): Promise<(rules.Bucket | undefined)[]> {
    const buckets = await store.buckets(head.recipeId);
    return Promise.all(
      buckets.map(async (item, b) => {
        let current = item;
        for (;;) {
          const stamped = rules.stamp(current?.value, head.epoch);
          if (!stamped) return current?.value;
          try {
            await store.saveBucket(head.recipeId, b, stamped, current?.etag);
            return stamped;
          } catch (err) {
            if (!isConflict(err)) throw err;
            current = await store.bucket(head.recipeId, b);
          }
        }
      }),
    );
  }

  /** The relay's view of this service's intents: a recommendation is in its bucket, or it never will be. */
  const resolver: IntentResolver = {
    async settle(intent) {
      const { recipeId, memberId } = intent.subject as { recipeId: string; memberId: string };
      const b = rules.bucketOf(memberId);
      const [head, bucket] = await store.headAndBucket(recipeId, b);
      if (!head) return PENDING;
      if (!rules.recommendationOf(head.value, bucket?.value, memberId)) return bucket?.value.fenced?.includes(intent.id) ? VOID : PENDING;
      // The bucket's totals copied into the head, then the recipe's total as the
      // head says with this bucket fresh: read after the recommendation
      // committed, and, once every relay has copied its bucket, the final one.
      const copied = (await copy(recipeId, b, bucket!.value, head)) ?? head.value;
      const { points } = rules.copiedTotals(copied, new Map([[b, bucket!.value]]));
      return { kind: 'committed', event: recommendedEvent(rules.recommendedEvent(head.value, bucket?.value, memberId, points)!) };
    },

    async abandon(intent) {
      const { recipeId, memberId } = intent.subject as { recipeId: string; memberId: string };
      const b = rules.bucketOf(memberId);
      await withLock(`${recipeId}#${b}`, () =>
        retryOnConflict(async () => {
          const [head, bucket] = await store.headAndBucket(recipeId, b);
          // No head: the attempt never read one, so it has no write to land.
          if (!head || rules.recommendationOf(head.value, bucket?.value, memberId) || bucket?.value.fenced?.includes(intent.id)) return;
          await store.saveBucket(recipeId, b, rules.fence(bucket?.value, head.value.epoch, intent.id), bucket?.etag);
        }),
      );
      const settled = await resolver.settle(intent);
      return settled.kind === 'pending' ? VOID : settled;
    },
  };

  return {
    async get(recipeId: string) {
      const head = await store.head(recipeId);
      if (!head || !rules.isLive(head.value)) throw recipeNotFound();
      return rules.publicView(head.value);
    },

    // Recommendations in different buckets of one recipe go on side by side.
    recommend: (recipeId: string, recommenderId: string) =>
      withLock(`${recipeId}#${rules.bucketOf(recommenderId)}`, () => recommend(recipeId, recommenderId)),

    /** The synchronous half of a delete: hold the points for this attempt and say how many (idempotent). */
    async withdraw(recipeId: string, memberId: string, attempt: string) {
      const { head, result } = await update(recipeId, memberId, (h) => {
        const outcome = rules.withdraw(h, attempt, clock());
        return { next: outcome.held ? outcome.head : undefined, result: outcome };
      });
      if (!result.held) return { recipeId, held: false };
      // Stamped again on a retried withdrawal too: a first one may have died halfway.
      const buckets = await stampAll(head);
      // The exact totals, copied into the head for whoever reads it next.
      await retryOnConflict(async () => {
        const current = await store.head(recipeId);
        if (current) await store.saveHead(rules.withExactCopies(current.value, buckets), current.etag);
      });
      return { recipeId, held: true, pointsRevoked: rules.totals(head, buckets).points };
    },

    releaseHold: async (recipeId: string, memberId: string, attempt: string) => {
      await update(
        recipeId,
        memberId,
        apply((h) => rules.releaseHold(h, attempt)),
      );
    },

    onRegistered: async (e: Registered) => {
      await update(
        e.recipeId,
        e.memberId,
        apply((h) => rules.register(h, e)),
      );
    },

    onDeleted: async (e: Deleted) => {
      await update(
        e.recipeId,
        e.memberId,
        apply((h) => rules.confirmDeletion(h, e.deletedAt)),
      );
    },

    resolver,
  };
}

export type Catalogue = ReturnType<typeof createCatalogue>;
