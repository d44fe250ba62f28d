import {
  AppError,
  DaprError,
  TOPICS,
  createKeyedLock,
  notFound,
  outcomeUnknown,
  recommendedEvent,
  retryOnConflict,
  unavailable,
  type Deleted,
  type Intent,
  type IntentResolver,
  type Outbox,
  type Registered,
  type Settlement,
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

export function createCatalogue({ store, outbox, clock, rules: config, retryAfterSeconds }: CatalogueDeps) {
  // Writers of one recipe take turns in this replica: fewer lost ETag races
  // on a popular recipe. An optimisation only; the ETags are the guarantee.
  const withLock = createKeyedLock();
  const isConflict = (err: unknown) => err instanceof DaprError && err.isConflict;

  /** Applies a change to a recipe (or to a placeholder when it is unknown), retrying lost races. */
  const update = <R>(recipeId: string, authorId: string, change: (r: rules.CatalogueRecipe) => { next?: rules.CatalogueRecipe; result: R }) =>
    withLock(recipeId, () =>
      retryOnConflict(async () => {
        const item = await store.get(recipeId);
        const current = item?.value ?? rules.placeholder(recipeId, authorId);
        if (current.authorId !== authorId) throw new AppError(403, 'RECIPE.NOT_AUTHOR', 'the recipe belongs to another member');
        const { next, result } = change(current);
        if (next) await store.save(next, item?.etag);
        return result;
      }),
    );
  const apply = (change: (r: rules.CatalogueRecipe) => rules.CatalogueRecipe | undefined) => (r: rules.CatalogueRecipe) => ({ next: change(r), result: undefined });

  const recommendation = (recipe: rules.CatalogueRecipe, alreadyRecommended: boolean) => ({ ...rules.publicView(recipe), alreadyRecommended });

  /**
   * A write whose answer was lost: the recommendation is there (a success),
   * or it is not, and fencing the attempt off (an ETag-guarded write naming
   * it) makes sure it never lands: a truthful 503. If even that cannot be
   * done, the outcome is unknown (504).
   */
  async function confirm(recipeId: string, recommenderId: string, intent: Intent, cause: unknown) {
    try {
      return await retryOnConflict(async () => {
        const item = await store.get(recipeId);
        if (item && rules.hasRecommended(item.value, recommenderId)) return recommendation(item.value, false);
        if (item) await store.save(rules.fence(item.value, intent.id), item.etag);
        throw unavailable('the recommendation could not be recorded right now; nothing was changed, please retry', retryAfterSeconds, cause);
      });
    } catch (err) {
      throw err instanceof AppError ? err : outcomeUnknown(retryAfterSeconds, cause);
    }
  }

  /**
   * One write of the recipe's record, guarded by its ETag: it either gets the
   * recommendation and its points in, or loses a race and tries again from a
   * fresh read. The outbox intent goes out before the first write.
   */
  async function recommend(recipeId: string, recommenderId: string) {
    let intent: Intent | undefined;
    try {
      return await retryOnConflict(async () => {
        const item = await store.get(recipeId);
        const outcome = rules.recommend(item?.value, recommenderId, clock(), config);
        switch (outcome.kind) {
          case 'not-found':
            throw recipeNotFound();
          case 'own-recipe':
            throw new AppError(403, 'RECOMMENDATION.OWN_RECIPE', 'members cannot recommend their own recipe');
          case 'duplicate':
            return recommendation(outcome.recipe, true);
          case 'recommended':
            intent ??= await outbox.intend(TOPICS.recommended, { recipeId, memberId: recommenderId });
            if (item!.value.fenced?.includes(intent.id)) throw unavailable('the recommendation could not be recorded; nothing was changed, please retry', retryAfterSeconds);
            try {
              await store.save(outcome.recipe, item!.etag);
            } catch (err) {
              if (isConflict(err)) throw err;
              return confirm(recipeId, recommenderId, intent, err);
            }
            return recommendation(outcome.recipe, false);
        }
      });
    } finally {
      if (intent) outbox.finished(intent);
    }
  }

  /** The relay's view of this service's intents: a recommendation is in the record, or it never will be. */
  const resolver: IntentResolver = {
    async settle(intent) {
      const { recipeId, memberId } = intent.subject as { recipeId: string; memberId: string };
      const item = await store.get(recipeId);
      const event = item && rules.recommendedEvent(item.value, memberId);
      if (event) return { kind: 'committed', event: recommendedEvent(event) };
      return item?.value.fenced?.includes(intent.id) ? VOID : PENDING;
    },

    async abandon(intent) {
      const { recipeId, memberId } = intent.subject as { recipeId: string; memberId: string };
      await withLock(recipeId, () =>
        retryOnConflict(async () => {
          const item = await store.get(recipeId);
          // No record: the attempt never read one, so it has no write to land.
          if (!item || rules.hasRecommended(item.value, memberId) || item.value.fenced?.includes(intent.id)) return;
          await store.save(rules.fence(item.value, intent.id), item.etag);
        }),
      );
      const settled = await resolver.settle(intent);
      return settled.kind === 'pending' ? VOID : settled;
    },
  };

  return {
    async get(recipeId: string) {
      const item = await store.get(recipeId);
      if (!item || !rules.isLive(item.value)) throw recipeNotFound();
      return rules.publicView(item.value);
    },

    recommend: (recipeId: string, recommenderId: string) => withLock(recipeId, () => recommend(recipeId, recommenderId)),

    /** The synchronous half of a delete: hold the points for this attempt and say how many (idempotent). */
    async withdraw(recipeId: string, memberId: string, attempt: string) {
      const outcome = await update(recipeId, memberId, (r) => {
        const result = rules.withdraw(r, attempt, clock());
        return { next: result.held ? result.recipe : undefined, result };
      });
      return outcome.held ? { recipeId, held: true, pointsRevoked: outcome.pointsRevoked } : { recipeId, held: false };
    },

    releaseHold: (recipeId: string, memberId: string, attempt: string) => update(recipeId, memberId, apply((r) => rules.releaseHold(r, attempt))),

    onRegistered: (e: Registered) => update(e.recipeId, e.memberId, apply((r) => rules.register(r, e))),

    onDeleted: (e: Deleted) => update(e.recipeId, e.memberId, apply((r) => rules.confirmDeletion(r, e.deletedAt))),

    resolver,
  };
}

export type Catalogue = ReturnType<typeof createCatalogue>;
