import {
  AppError,
  createKeyedLock,
  deletedEvent,
  notFound,
  outcomeUnknown,
  registeredEvent,
  retryOnConflict,
  unavailable,
  type Outbox,
  type Logger,
  type NewRecipe,
  type Recommended,
} from '@recipe/shared';
import { applyRecommendation, balanceOf, deleted, emptyLedger, isDeleted, newRecipe, recipeView, withoutRecipe, type Recipe } from './domain.js';
import type { MyRecipeStore } from './store.js';

/** The recommendation service as myrecipe sees it (Dapr service invocation). */
export interface RecommendationService {
  /** Holds the recipe's points for deduction; idempotent; the hold lapses unless a Deleted event confirms it. */
  withdraw(recipeId: string, memberId: string): Promise<{ pointsRevoked: number }>;
  /** Releases a hold early when the delete could not be completed. */
  cancelWithdrawal(recipeId: string, memberId: string): Promise<void>;
}

export interface MyRecipesDeps {
  store: MyRecipeStore;
  events: Pick<Outbox, 'commit'>;
  recommendations: RecommendationService;
  clock: () => Date;
  retryAfterSeconds: number;
  log: Logger;
}

const recipeNotFound = () => notFound('RECIPE.NOT_FOUND', 'no such recipe');

export function createMyRecipes({ store, events, recommendations, clock, retryAfterSeconds, log }: MyRecipesDeps) {
  // Writers of one recipe, or of one member's ledger, take turns (see createKeyedLock).
  const withLock = createKeyedLock();

  async function loadOwn(memberId: string, recipeId: string) {
    const found = await store.getRecipe(recipeId);
    // Someone else's recipe is "not found" too: existence is not leaked.
    if (!found || isDeleted(found.value) || found.value.memberId !== memberId) throw recipeNotFound();
    return { value: found.value, etag: found.etag };
  }

  /** The recipe an earlier request with the same Idempotency-Key created, if any. */
  async function earlierResult(candidate: Recipe): Promise<Recipe | undefined> {
    const existing = await store.getRecipe(candidate.recipeId);
    if (!existing) return undefined;
    if (existing.value.memberId !== candidate.memberId || existing.value.requestHash !== candidate.requestHash) {
      throw new AppError(409, 'IDEMPOTENCY.KEY_REUSED', 'this Idempotency-Key was already used with a different recipe');
    }
    // The key maps to one recipe id for good: registering "again" would bring a
    // deleted recipe back under an id the other services know as deleted.
    if (isDeleted(existing.value)) {
      throw new AppError(409, 'IDEMPOTENCY.KEY_USED', 'the recipe registered with this Idempotency-Key was deleted; use a new key to register it again');
    }
    return existing.value;
  }

  async function register(recipe: Recipe, idempotencyKey: string | undefined) {
    const earlier = idempotencyKey ? await earlierResult(recipe) : undefined;
    if (earlier) return { recipe: recipeView(earlier, undefined), replayed: true };
    const event = registeredEvent({ recipeId: recipe.recipeId, memberId: recipe.memberId, title: recipe.title, registeredAt: recipe.registeredAt });
    try {
      await events.commit([store.ops.insertRecipe(recipe)], event);
    } catch (err) {
      // A failure may have committed with only its answer lost (or another
      // replica won the race): then the recipe is there, and this is a success.
      const winner = await earlierResult(recipe).catch((checkErr) => {
        throw checkErr instanceof AppError ? checkErr : outcomeUnknown(retryAfterSeconds, err);
      });
      if (!winner) throw err;
      return { recipe: recipeView(winner, undefined), replayed: winner.registeredAt !== recipe.registeredAt };
    }
    return { recipe: recipeView(recipe, undefined), replayed: false };
  }

  /**
   * Deletes a recipe and takes its points back, in three steps, each safe to
   * stop after:
   * 1. recipe service holds the points (withdraw). If it cannot confirm, we
   *    release a hold it may have taken and answer 503: nothing changed.
   * 2. one transaction removes the recipe and its ledger entry and queues
   *    Deleted in the outbox. If it fails, the hold is released (and would
   *    lapse by itself anyway): again nothing changed. A retried DELETE
   *    withdraws again, which deducts once: the hold is idempotent.
   * 3. Deleted reaches the recipe service (outbox, at least once), which turns
   *    the hold into a final withdrawal, and mypage.
   */
  async function remove(memberId: string, recipeId: string) {
    await loadOwn(memberId, recipeId);
    const releaseHold = () =>
      recommendations.cancelWithdrawal(recipeId, memberId).catch((err) => {
        log.warn({ err, recipeId }, 'could not release the withdrawal hold; it lapses by itself');
      });
    let pointsRevoked: number;
    try {
      ({ pointsRevoked } = await recommendations.withdraw(recipeId, memberId));
    } catch (err) {
      await releaseHold();
      throw unavailable('the recommendation service could not confirm the point deduction; nothing was changed', retryAfterSeconds, err);
    }
    const deletedAt = clock().toISOString();
    let attempt = 0;
    try {
      await retryOnConflict(async () => {
        const firstAttempt = attempt++ === 0;
        const recipe = await store.getRecipe(recipeId);
        // Deleted by the time of a later attempt: an earlier attempt committed
        // (its answer was lost), or a concurrent DELETE by the same owner did.
        if (recipe && isDeleted(recipe.value) && !firstAttempt) return;
        if (!recipe || isDeleted(recipe.value) || recipe.value.memberId !== memberId) throw recipeNotFound();
        const ledger = await store.getLedger(memberId);
        const next = withoutRecipe(ledger?.value ?? emptyLedger(memberId), recipeId);
        await events.commit(
          [store.ops.markDeleted(deleted(recipe.value, deletedAt), recipe.etag), store.ops.putLedger(next, ledger?.etag)],
          deletedEvent({ recipeId, memberId, pointsRevoked, deletedAt }),
        );
      });
    } catch (err) {
      if (err instanceof AppError) {
        await releaseHold();
        throw err;
      }
      // The commit may have succeeded with only its answer lost. If that cannot
      // be told, keep the hold: a Deleted event confirms it, or it lapses.
      const committed = await store.getRecipe(recipeId).then((r) => r !== undefined && isDeleted(r.value), () => undefined);
      if (committed === undefined) throw outcomeUnknown(retryAfterSeconds, err);
      if (committed) return { recipeId, pointsRevoked };
      await releaseHold();
      throw unavailable('the recipe could not be deleted right now; nothing was changed', retryAfterSeconds, err);
    }
    return { recipeId, pointsRevoked };
  }

  /** Credits the author; a deleted recipe earns nothing (its Recommended may arrive late). */
  async function creditRecommendation(event: Recommended) {
    await retryOnConflict(async () => {
      const recipe = await store.getRecipe(event.recipeId);
      if (!recipe || isDeleted(recipe.value) || recipe.value.memberId !== event.authorId) return;
      const ledger = await store.getLedger(event.authorId);
      const next = applyRecommendation(ledger?.value ?? emptyLedger(event.authorId), event.recipeId, event.recipePoints);
      if (next) await store.saveLedger(next, ledger?.etag);
    });
  }

  return {
    register(memberId: string, input: NewRecipe, idempotencyKey?: string) {
      const recipe = newRecipe(memberId, input, idempotencyKey, clock());
      return withLock(`recipe:${recipe.recipeId}`, () => register(recipe, idempotencyKey));
    },

    async get(memberId: string, recipeId: string) {
      const [recipe, ledger] = await Promise.all([loadOwn(memberId, recipeId), store.getLedger(memberId)]);
      return recipeView(recipe.value, ledger?.value);
    },

    remove: (memberId: string, recipeId: string) => withLock(`member:${memberId}`, () => remove(memberId, recipeId)),

    onRecommended: (event: Recommended) => withLock(`member:${event.authorId}`, () => creditRecommendation(event)),

    async balance(memberId: string) {
      const ledger = (await store.getLedger(memberId))?.value ?? emptyLedger(memberId);
      return { memberId, balance: balanceOf(ledger), recipes: ledger.points };
    },
  };
}

export type MyRecipes = ReturnType<typeof createMyRecipes>;
