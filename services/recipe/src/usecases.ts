import { AppError, DaprError, createKeyedLock, notFound, outcomeUnknown, recommendedEvent, retryOnConflict, type Deleted, type Outbox, type Registered } from '@recipe/shared';
import * as rules from './domain.js';
import type { CatalogueStore } from './store.js';

export interface CatalogueDeps {
  store: CatalogueStore;
  events: Pick<Outbox, 'commit'>;
  clock: () => Date;
  rules: rules.Rules;
  retryAfterSeconds: number;
}

const recipeNotFound = () => notFound('RECIPE.NOT_FOUND', 'no such recipe');

export function createCatalogue({ store, events, clock, rules: config, retryAfterSeconds }: CatalogueDeps) {
  // Every write of a recipe runs under its key's lock (see createKeyedLock).
  const withLock = createKeyedLock();

  /** Applies a change to a recipe (or to a placeholder when it is unknown), retrying lost races. */
  const update = (recipeId: string, authorId: string, change: (r: rules.CatalogueRecipe) => rules.CatalogueRecipe | undefined) =>
    withLock(recipeId, () => retryOnConflict(async () => {
      const item = await store.get(recipeId);
      const current = item?.value ?? rules.placeholder(recipeId, authorId);
      if (current.authorId !== authorId) throw new AppError(403, 'RECIPE.NOT_AUTHOR', 'the recipe belongs to another member');
      const next = change(current);
      if (next) await store.save(next, item?.etag);
      return next ?? current;
    }));

  return {
    async get(recipeId: string) {
      const item = await store.get(recipeId);
      if (!item || !rules.isLive(item.value, clock(), config)) throw recipeNotFound();
      return rules.publicView(item.value);
    },

    recommend: (recipeId: string, recommenderId: string) =>
      withLock(recipeId, () => retryOnConflict(async () => {
        const item = await store.get(recipeId);
        const outcome = rules.recommend(item?.value, recommenderId, clock(), config);
        switch (outcome.kind) {
          case 'not-found':
            throw recipeNotFound();
          case 'own-recipe':
            throw new AppError(403, 'RECOMMENDATION.OWN_RECIPE', 'members cannot recommend their own recipe');
          case 'duplicate':
            return { ...rules.publicView(outcome.recipe), alreadyRecommended: true };
          case 'recommended':
            try {
              await events.commit([store.put(outcome.recipe, item!.etag)], recommendedEvent(outcome.event));
            } catch (err) {
              // A failure may have committed with only its answer lost.
              if (err instanceof DaprError && err.isConflict) throw err;
              const stored = await store.get(recipeId).catch(() => {
                throw outcomeUnknown(retryAfterSeconds, err);
              });
              if (!stored?.value.recommenders.includes(recommenderId)) throw err;
              return { ...rules.publicView(stored.value), alreadyRecommended: false };
            }
            return { ...rules.publicView(outcome.recipe), alreadyRecommended: false };
        }
      })),

    /** The synchronous half of a delete: hold the points and say how many (idempotent). */
    async withdraw(recipeId: string, memberId: string) {
      const recipe = await update(recipeId, memberId, (r) => rules.withdraw(r, clock()));
      return { recipeId, pointsRevoked: recipe.points };
    },

    async cancelWithdrawal(recipeId: string, memberId: string) {
      await update(recipeId, memberId, rules.cancelWithdrawal);
    },

    async onRegistered(e: Registered) {
      await update(e.recipeId, e.memberId, (r) => rules.register(r, e));
    },

    async onDeleted(e: Deleted) {
      await update(e.recipeId, e.memberId, (r) => rules.confirmWithdrawal(r, e.deletedAt));
    },
  };
}

export type Catalogue = ReturnType<typeof createCatalogue>;
