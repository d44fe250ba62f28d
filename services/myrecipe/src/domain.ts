import { createHash, randomUUID } from 'node:crypto';
import type { NewRecipe } from '@recipe/shared';

export interface Recipe extends NewRecipe {
  recipeId: string;
  memberId: string;
  registeredAt: string;
  /** Fingerprint of the request, to tell a retried POST from a reused Idempotency-Key. */
  requestHash: string;
  /**
   * Delete attempts that were fenced off: they will never commit (their
   * transaction is guarded by this record's ETag, which the fence changed,
   * and a later try of theirs finds its id here).
   */
  abortedDeletions?: string[];
  /** Its number in the member's list of recipes (listing.ts); absent if registered before lists were kept. */
  seq?: number;
  /** The author's name from their identity token when registering: Registered carries it to the read model. */
  authorName?: string;
}

/**
 * What stays of a deleted recipe: enough to refuse its Idempotency-Key, to
 * ignore late events about it and to answer a retried DELETE the same way
 * (which attempt deleted it, the points it took back), none of its content.
 */
export interface DeletedRecipe {
  recipeId: string;
  memberId: string;
  requestHash: string;
  deletedAt: string;
  /** The delete attempt that committed (absent in tombstones written before attempts had ids). */
  deletion?: string;
  pointsRevoked?: number;
}

/**
 * A registration that was given up: its outbox intent found no recipe after
 * the settle time, so the relay put this here to make sure the attempt's
 * insert (a first write) can never land. A retry with the same
 * Idempotency-Key registers over it.
 */
export interface VoidRecipe {
  recipeId: string;
  memberId: string;
  voidedAt: string;
  voided: string;
}

export type StoredRecipe = Recipe | DeletedRecipe | VoidRecipe;

export const isDeleted = (recipe: StoredRecipe): recipe is DeletedRecipe => 'deletedAt' in recipe;
export const isVoid = (recipe: StoredRecipe): recipe is VoidRecipe => 'voidedAt' in recipe;
export const isLive = (recipe: StoredRecipe | undefined): recipe is Recipe => recipe !== undefined && !isDeleted(recipe) && !isVoid(recipe);

export function deleted(recipe: Recipe, deletion: { id: string; pointsRevoked: number; at: string }): DeletedRecipe {
  return {
    recipeId: recipe.recipeId,
    memberId: recipe.memberId,
    requestHash: recipe.requestHash,
    deletedAt: deletion.at,
    deletion: deletion.id,
    pointsRevoked: deletion.pointsRevoked,
  };
}

/** Fences a delete attempt off (see Recipe.abortedDeletions). */
export function withAbortedDeletion(recipe: Recipe, attempt: string): Recipe {
  return { ...recipe, abortedDeletions: [...(recipe.abortedDeletions ?? []), attempt] };
}

export const voided = (recipeId: string, memberId: string, attempt: string, at: string): VoidRecipe => ({
  recipeId,
  memberId,
  voidedAt: at,
  voided: attempt,
});

/** Points per live recipe, from Recommended events; a member's balance is their sum. */
export interface Ledger {
  memberId: string;
  points: Record<string, number>;
}

/**
 * With an Idempotency-Key the recipe id is derived from the member and the key,
 * so a retried POST finds the recipe it created, even when the first answer
 * was lost after the commit.
 */
export function recipeIdFor(memberId: string, idempotencyKey: string | undefined): string {
  if (!idempotencyKey) return randomUUID();
  const hex = createHash('sha256').update(`${memberId}\n${idempotencyKey}`).digest('hex');
  // Shape the hash as an RFC 4122 version-5-style UUID (variant 10xx).
  const variant = ((parseInt(hex[16]!, 16) & 0x3) | 0x8).toString(16);
  return `${hex.slice(0, 8)}-${hex.slice(8, 12)}-5${hex.slice(13, 16)}-${variant}${hex.slice(17, 20)}-${hex.slice(20, 32)}`;
}

export function requestHash(input: NewRecipe): string {
  return createHash('sha256')
    .update(JSON.stringify([input.title, input.ingredients, input.steps]))
    .digest('base64url');
}

export function newRecipe(memberId: string, input: NewRecipe, idempotencyKey: string | undefined, now: Date, authorName?: string): Recipe {
  return {
    recipeId: recipeIdFor(memberId, idempotencyKey),
    memberId,
    ...input,
    registeredAt: now.toISOString(),
    requestHash: requestHash(input),
    ...(authorName ? { authorName } : {}),
  };
}

export const emptyLedger = (memberId: string): Ledger => ({ memberId, points: {} });

export const balanceOf = (ledger: Ledger): number => Object.values(ledger.points).reduce((sum, p) => sum + p, 0);

/**
 * Recommended carries the recipe's total points, so applying it is a max():
 * a duplicate or an older event arriving late changes nothing.
 */
export function applyRecommendation(ledger: Ledger, recipeId: string, recipePoints: number): Ledger | undefined {
  const current = ledger.points[recipeId] ?? 0;
  if (recipePoints <= current) return undefined;
  return { ...ledger, points: { ...ledger.points, [recipeId]: recipePoints } };
}

export function withoutRecipe(ledger: Ledger, recipeId: string): Ledger {
  const { [recipeId]: _removed, ...points } = ledger.points;
  return { ...ledger, points };
}

/** What GET /myrecipes/{id} shows: the recipe and the points it earned so far. */
export function recipeView(recipe: Recipe, ledger: Ledger | undefined) {
  const { requestHash: _hash, abortedDeletions: _aborted, seq: _seq, authorName: _name, ...visible } = recipe;
  return { ...visible, points: ledger?.points[recipe.recipeId] ?? 0 };
}

/** One line of GET /myrecipes: the full recipe is one GET /myrecipes/{id} away. */
export const recipeSummary = (recipe: Recipe, ledger: Ledger | undefined) => ({
  recipeId: recipe.recipeId,
  title: recipe.title,
  registeredAt: recipe.registeredAt,
  points: ledger?.points[recipe.recipeId] ?? 0,
});
