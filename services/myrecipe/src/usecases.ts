import {
  AppError,
  DaprError,
  TOPICS,
  confirmAfterFailure,
  createKeyedLock,
  deletedEvent,
  isBreakerRefusal,
  notFound,
  registeredEvent,
  retryOnConflict,
  unavailable,
  type Intent,
  type IntentResolver,
  type Logger,
  type NewRecipe,
  type Outbox,
  type Recommended,
  type Settlement,
} from '@recipe/shared';
import {
  applyRecommendation,
  balanceOf,
  deleted,
  emptyLedger,
  isDeleted,
  isLive,
  isVoid,
  newRecipe,
  recipeSummary,
  recipeView,
  voided,
  withAbortedDeletion,
  withoutRecipe,
  type DeletedRecipe,
  type Recipe,
  type StoredRecipe,
} from './domain.js';
import { z } from 'zod';
import type { Cursors } from './cursor.js';
import { chunkOf, INDEX_CHUNK_SIZE, pageOfIds, withoutEntry, withRegistered } from './listing.js';
import type { MyRecipeStore } from './store.js';

/** The recommendation service as myrecipe sees it (Dapr service invocation). */
export interface RecommendationService {
  /**
   * Holds the recipe's points for this delete attempt (idempotent): while any
   * hold is on, the recipe takes no recommendation. Refused (held: false) if
   * the attempt's hold was released already.
   */
  withdraw(recipeId: string, memberId: string, attempt: string): Promise<{ held: boolean; pointsRevoked?: number }>;
  /** Releases this attempt's hold (idempotent); a withdrawal for the attempt arriving later is refused. */
  releaseHold(recipeId: string, memberId: string, attempt: string): Promise<void>;
}

export interface MyRecipesDeps {
  store: MyRecipeStore;
  outbox: Pick<Outbox, 'intend' | 'finished'>;
  recommendations: RecommendationService;
  clock: () => Date;
  /** Retry-After of a 503 caused by an unavailable dependency. */
  retryAfterSeconds: number;
  /** How long the deduction's circuit breaker stays open: the Retry-After of the 503 it causes. */
  deductionBreakerSeconds: number;
  log: Logger;
  /** Seals and opens GET /myrecipes cursors. */
  cursors: Cursors;
  /** Ids per record of a member's list of recipes (tests make it small). */
  indexChunkSize?: number;
}

const listPosition = z.strictObject({ below: z.number().int().min(0) });

const recipeNotFound = () => notFound('RECIPE.NOT_FOUND', 'no such recipe');
const nothingChanged = 'the recipe could not be deleted right now; nothing was changed';
const committed = (event: Extract<Settlement, { kind: 'committed' }>['event']): Settlement => ({ kind: 'committed', event });
const VOID: Settlement = { kind: 'void' };
const PENDING: Settlement = { kind: 'pending' };

export function createMyRecipes({
  store,
  outbox,
  recommendations,
  clock,
  retryAfterSeconds,
  deductionBreakerSeconds,
  log,
  cursors,
  indexChunkSize = INDEX_CHUNK_SIZE,
}: MyRecipesDeps) {
  // Credits to one author take turns in this replica: fewer lost ETag races.
  // An optimisation only; the ETags are the guarantee.
  const withLock = createKeyedLock();
  const isConflict = (err: unknown) => err instanceof DaprError && err.isConflict;

  /** What an earlier registration with the same key left: that recipe (a replay), a void to register over, or a conflict. */
  function earlier(existing: StoredRecipe, candidate: Recipe): Recipe | 'void' {
    if (isVoid(existing) && existing.memberId === candidate.memberId) return 'void';
    if (isVoid(existing) || existing.memberId !== candidate.memberId || existing.requestHash !== candidate.requestHash) {
      throw new AppError(409, 'IDEMPOTENCY.KEY_REUSED', 'this Idempotency-Key was already used with a different recipe');
    }
    // The key maps to one recipe id for good: registering "again" would bring a
    // deleted recipe back under an id the other services know as deleted.
    if (isDeleted(existing)) {
      throw new AppError(
        409,
        'IDEMPOTENCY.KEY_USED',
        'the recipe registered with this Idempotency-Key was deleted; use a new key to register it again',
      );
    }
    return existing;
  }

  /**
   * Registers under the id the Idempotency-Key gives: a first write, so a
   * retried or concurrent POST with the same key finds the first recipe. The
   * member's list gets the id in the same transaction (guarded by the list's
   * ETag: a lost race with another registration of the member is tried again).
   */
  async function register(memberId: string, input: NewRecipe, idempotencyKey: string | undefined, authorName?: string) {
    const fresh = newRecipe(memberId, input, idempotencyKey, clock(), authorName);
    const intent = await outbox.intend(TOPICS.registered, { recipeId: fresh.recipeId, memberId });
    try {
      return await withLock(`list:${memberId}`, async () => {
        let etag: string | undefined;
        for (let attempt = 1; ; attempt++) {
          const head = await store.getIndexHead(memberId).catch((err: unknown) => {
            throw unavailable('the recipe could not be registered right now; nothing was stored, please retry', retryAfterSeconds, err);
          });
          const index = withRegistered(head?.value, memberId, fresh.recipeId, indexChunkSize);
          const recipe: Recipe = { ...fresh, seq: index.seq };
          try {
            await store.saveRegistration(recipe, etag, index, head?.etag);
            return { recipe: recipeView(recipe, undefined), replayed: false };
          } catch (err) {
            if (!isConflict(err)) return await confirmRegistration(recipe, intent, err);
            if (attempt >= 10) throw err;
            // Lost to the same key (a replay, or a void to register over), or
            // to another registration of the member (the list moved on).
            const existing = await store.getRecipe(recipe.recipeId);
            const prior = existing && earlier(existing.value, recipe);
            if (prior && prior !== 'void') return { recipe: recipeView(prior, undefined), replayed: true };
            etag = existing?.etag;
          }
        }
      });
    } finally {
      outbox.finished(intent);
    }
  }

  /**
   * A write whose answer was lost: the recipe is there (a success), or it is
   * not, and voiding the id makes sure the write never lands (a truthful 503).
   */
  function confirmRegistration(recipe: Recipe, intent: Intent, cause: unknown) {
    return confirmAfterFailure(
      async () => {
        const found = await store.getRecipe(recipe.recipeId);
        if (found && !isVoid(found.value)) {
          const prior = earlier(found.value, recipe) as Recipe;
          return { recipe: recipeView(prior, undefined), replayed: prior.registeredAt !== recipe.registeredAt };
        }
        await store.saveRecipe(voided(recipe.recipeId, recipe.memberId, intent.id, clock().toISOString()), found?.etag);
        return undefined;
      },
      { cause, retryAfterSeconds, nothingChanged: 'the recipe could not be registered right now; nothing was stored, please retry' },
    );
  }

  const deletionResult = (recipeId: string, tombstone: DeletedRecipe) => ({ recipeId, pointsRevoked: tombstone.pointsRevoked ?? 0 });

  /**
   * Makes sure a delete attempt never commits, unless it (or another attempt)
   * already has: an ETag-guarded write of the recipe naming the attempt. The
   * attempt's transaction is guarded by the ETag it read, so it can no longer
   * land, and a new try of it finds its id and stops.
   */
  async function fenceDeletionOnce(
    recipeId: string,
    attempt: string,
  ): Promise<{ kind: 'deleted'; tombstone: DeletedRecipe } | { kind: 'fenced' | 'gone' }> {
    const found = await store.getRecipe(recipeId);
    if (!found || isVoid(found.value)) return { kind: 'gone' };
    if (isDeleted(found.value)) return { kind: 'deleted', tombstone: found.value };
    if (!found.value.abortedDeletions?.includes(attempt)) await store.saveRecipe(withAbortedDeletion(found.value, attempt), found.etag);
    return { kind: 'fenced' };
  }
  const fenceDeletion = (recipeId: string, attempt: string) => retryOnConflict(() => fenceDeletionOnce(recipeId, attempt));

  /**
   * Deletes a recipe and takes its points back:
   * 1. an outbox intent names this attempt, so that whatever happens next is
   *    settled by a relay even if this process dies;
   * 2. the recipe service holds the recipe's points for this attempt and says
   *    how many (no recommendation gets in while any hold is on);
   * 3. one atomic transaction replaces the recipe by its tombstone (naming
   *    the attempt and the points) and takes the recipe out of the ledger.
   * If 2 fails, or 3 fails for good, the attempt is fenced off (it can never
   * commit) and the answer is 503: nothing changed. The relay then releases
   * the hold, which is only ever released once it is known that the delete did
   * not commit; when the delete did commit, the relay publishes Deleted, which
   * makes the withdrawal final.
   */
  async function remove(memberId: string, recipeId: string) {
    const found = await store.getRecipe(recipeId);
    // Someone else's recipe is "not found" too: existence is not leaked.
    if (!found || found.value.memberId !== memberId || isVoid(found.value)) throw recipeNotFound();
    // A retried delete that succeeded answers as the first did.
    if (isDeleted(found.value)) return deletionResult(recipeId, found.value);
    const intent = await outbox.intend(TOPICS.deleted, { recipeId, memberId });
    try {
      return await deleteAttempt(intent, memberId, recipeId);
    } finally {
      outbox.finished(intent);
    }
  }

  async function deleteAttempt(intent: Intent, memberId: string, recipeId: string) {
    const giveUp = async (cause: unknown, retryAfter = retryAfterSeconds) => {
      const fence = await fenceDeletion(recipeId, intent.id).catch((err) => {
        log.warn({ err, recipeId }, 'could not fence off a failed delete attempt; the outbox relay will');
        return undefined;
      });
      if (fence?.kind === 'deleted') return deletionResult(recipeId, fence.tombstone);
      throw unavailable('the recommendation service could not confirm the point deduction; nothing was changed', retryAfter, cause);
    };

    let hold: { held: boolean; pointsRevoked?: number };
    try {
      hold = await recommendations.withdraw(recipeId, memberId, intent.id);
    } catch (err) {
      // An open deduction breaker stays open for its timeout: say so.
      return giveUp(err, isBreakerRefusal(err) ? deductionBreakerSeconds : ((err as DaprError).retryAfterSeconds ?? retryAfterSeconds));
    }
    if (!hold.held) return giveUp(new Error(`the hold of attempt ${intent.id} was already released`));
    const pointsRevoked = hold.pointsRevoked ?? 0;

    try {
      return await retryOnConflict(async () => {
        const ledger = await store.getLedger(memberId);
        const recipe = await store.getRecipe(recipeId);
        if (!recipe || recipe.value.memberId !== memberId || isVoid(recipe.value)) throw recipeNotFound();
        // Deleted meanwhile: by an earlier try of this attempt whose answer
        // was lost, or by a concurrent DELETE of the same owner.
        if (isDeleted(recipe.value)) return deletionResult(recipeId, recipe.value);
        if (recipe.value.abortedDeletions?.includes(intent.id)) throw unavailable(nothingChanged, retryAfterSeconds);
        const next = withoutRecipe(ledger?.value ?? emptyLedger(memberId), recipeId);
        const tombstone = deleted(recipe.value, { id: intent.id, pointsRevoked, at: clock().toISOString() });
        const listed = await listRecordOf(memberId, recipe.value.seq);
        const index = listed && { record: withoutEntry(listed.value, recipeId), etag: listed.etag };
        await store.saveDeletion(tombstone, recipe.etag, next, ledger?.etag, index);
        return deletionResult(recipeId, tombstone);
      });
    } catch (err) {
      if (err instanceof AppError) throw err;
      // Lost races without end, or a commit whose answer was lost: fencing
      // the attempt off tells which (or fails, and then nobody can know).
      return confirmAfterFailure(
        async () => {
          const fence = await fenceDeletionOnce(recipeId, intent.id);
          return fence.kind === 'deleted' ? deletionResult(recipeId, fence.tombstone) : undefined;
        },
        { cause: err, retryAfterSeconds, nothingChanged },
      );
    }
  }

  /** The record of the member's list that holds registration number `seq`: the head, or a chunk written out. */
  async function listRecordOf(memberId: string, seq: number | undefined) {
    if (seq === undefined) return undefined;
    const head = await store.getIndexHead(memberId);
    if (!head) return undefined;
    const chunk = chunkOf(seq, head.value.chunkSize);
    return chunk === head.value.chunk ? head : store.getIndexChunk(memberId, chunk);
  }

  /**
   * One page of the member's recipes, newest first, from the write side: the
   * list's records (at most MAX_CHUNK_READS), then each recipe on the page
   * and the ledger. The cursor is the registration number to continue below,
   * so recipes registered or deleted meanwhile never shift a later page.
   */
  async function list(memberId: string, limit: number, cursor: string | undefined) {
    const scope = `myrecipes:${memberId}`;
    const below = cursor === undefined ? Number.MAX_SAFE_INTEGER : cursors.open(scope, cursor, listPosition).below;
    const head = await store.getIndexHead(memberId);
    if (!head) return { items: [], limit, hasMore: false, nextCursor: null };
    const { ids, next } = await pageOfIds(head.value, below, limit, async (chunk) => (await store.getIndexChunk(memberId, chunk))?.value);
    const [ledger, recipes] = await Promise.all([store.getLedger(memberId), Promise.all(ids.map((e) => store.getRecipe(e.recipeId)))]);
    const items = recipes
      .map((r) => r?.value)
      .filter((r): r is Recipe => isLive(r) && r.memberId === memberId)
      .map((r) => recipeSummary(r, ledger?.value));
    const nextCursor = next === undefined ? null : cursors.seal(scope, { below: next });
    return { items, limit, hasMore: nextCursor !== null, nextCursor };
  }

  /** Credits the author; a deleted recipe earns nothing (its Recommended may arrive late). */
  async function credit(event: Recommended) {
    await retryOnConflict(async () => {
      // The ledger first. Every delete rewrites its author's ledger in the
      // same transaction as the tombstone, so a delete that commits after this
      // read makes the save below fail, and the next try sees the tombstone.
      // Read the other way round, a delete committing between the two reads
      // would let this credit land on the new ledger and bring the deleted
      // recipe's points back for good.
      const ledger = await store.getLedger(event.authorId);
      const recipe = await store.getRecipe(event.recipeId);
      if (!isLive(recipe?.value) || recipe.value.memberId !== event.authorId) return;
      const next = applyRecommendation(ledger?.value ?? emptyLedger(event.authorId), event.recipeId, event.recipePoints);
      if (next) await store.saveLedger(next, ledger?.etag);
    });
  }

  /** The relay's view of this service's intents: which events the state says happened. */
  const resolver: IntentResolver = {
    async settle(intent) {
      const { recipeId, memberId } = intent.subject as { recipeId: string; memberId: string };
      const found = (await store.getRecipe(recipeId))?.value;
      if (intent.topic === TOPICS.registered) {
        if (!found) return PENDING;
        if (!isLive(found)) return VOID; // abandoned, or deleted already: its Deleted tells the rest
        return committed(
          registeredEvent({
            recipeId,
            memberId: found.memberId,
            title: found.title,
            ingredients: found.ingredients,
            registeredAt: found.registeredAt,
            ...(found.authorName ? { authorName: found.authorName } : {}),
          }),
        );
      }
      // A delete attempt starts from a live recipe, and records are never
      // removed: reading none means the read went wrong. Look again later.
      if (!found) throw new Error(`recipe ${recipeId} of delete attempt ${intent.id} not found`);
      if (isVoid(found)) return VOID;
      if (isDeleted(found) && found.deletion === intent.id) {
        return committed(
          deletedEvent({ recipeId, memberId: found.memberId, pointsRevoked: found.pointsRevoked ?? 0, deletedAt: found.deletedAt }),
        );
      }
      // Another attempt deleted it, or this one was fenced off: this attempt
      // never committed and never will, so its hold can go.
      if (isDeleted(found) || found.abortedDeletions?.includes(intent.id)) {
        await recommendations.releaseHold(recipeId, memberId, intent.id);
        return VOID;
      }
      return PENDING;
    },

    async abandon(intent) {
      const { recipeId, memberId } = intent.subject as { recipeId: string; memberId: string };
      if (intent.topic === TOPICS.registered) {
        await retryOnConflict(async () => {
          const found = await store.getRecipe(recipeId);
          if (!found) await store.saveRecipe(voided(recipeId, memberId, intent.id, clock().toISOString()), undefined);
        });
      } else {
        await fenceDeletion(recipeId, intent.id);
      }
      return resolver.settle(intent);
    },
  };

  return {
    register: (memberId: string, input: NewRecipe, idempotencyKey?: string, authorName?: string) =>
      register(memberId, input, idempotencyKey, authorName),

    list,

    async get(memberId: string, recipeId: string) {
      const [recipe, ledger] = await Promise.all([store.getRecipe(recipeId), store.getLedger(memberId)]);
      if (!isLive(recipe?.value) || recipe.value.memberId !== memberId) throw recipeNotFound();
      return recipeView(recipe.value, ledger?.value);
    },

    /** What any member may read of a live recipe besides its totals (the recommendation service has those). */
    async content(recipeId: string) {
      const recipe = await store.getRecipe(recipeId);
      if (!isLive(recipe?.value)) throw recipeNotFound();
      return { ingredients: recipe.value.ingredients, steps: recipe.value.steps };
    },

    remove,

    onRecommended: (event: Recommended) => withLock(`member:${event.authorId}`, () => credit(event)),

    async balance(memberId: string) {
      const ledger = (await store.getLedger(memberId))?.value ?? emptyLedger(memberId);
      return { memberId, balance: balanceOf(ledger), recipes: ledger.points };
    },

    resolver,
  };
}

export type MyRecipes = ReturnType<typeof createMyRecipes>;
