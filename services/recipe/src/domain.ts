import type { Recommended, Registered } from '@recipe/shared';

/** One member's recommendation: what it earned, and when. */
export interface Recommendation {
  by: string;
  points: number;
  at: string;
}

/**
 * A recipe in the recommendation catalogue: one record, written whole with
 * its ETag, so every change to it is atomic. It can exist before its
 * Registered event arrives (a withdrawal or Deleted came first): then it has
 * no title and is not recommendable.
 */
export interface CatalogueRecipe {
  recipeId: string;
  authorId: string;
  title?: string;
  registeredAt?: string;
  points: number;
  /** In the order they were made: once per member. */
  recommendations: Recommendation[];
  /** Delete attempts holding the points (attempt id -> when): no recommendation while any is on. */
  holds?: Record<string, string>;
  /** Delete attempts whose hold was released: a withdrawal for them arriving late is refused. */
  released?: string[];
  /** Deleted (the Deleted event arrived): the withdrawal is final. */
  deletedAt?: string;
  /** Recommendation attempts the outbox relay gave up on: they can never commit. */
  fenced?: string[];
}

export interface Rules {
  pointValue: number;
}

const isHeld = (recipe: CatalogueRecipe) => Object.keys(recipe.holds ?? {}).length > 0;

export const isLive = (recipe: CatalogueRecipe) => recipe.title !== undefined && recipe.deletedAt === undefined && !isHeld(recipe);

export function placeholder(recipeId: string, authorId: string): CatalogueRecipe {
  return { recipeId, authorId, points: 0, recommendations: [] };
}

/** Registered fills in a placeholder (keeping a hold or deletion that came first); a duplicate changes nothing. */
export function register(recipe: CatalogueRecipe, e: Pick<Registered, 'title' | 'registeredAt'>): CatalogueRecipe | undefined {
  if (recipe.title !== undefined) return undefined;
  return { ...recipe, title: e.title, registeredAt: e.registeredAt };
}

export const hasRecommended = (recipe: CatalogueRecipe, memberId: string) => recipe.recommendations.some((r) => r.by === memberId);

export type RecommendOutcome =
  | { kind: 'not-found' }
  | { kind: 'own-recipe' }
  | { kind: 'duplicate'; recipe: CatalogueRecipe }
  | { kind: 'recommended'; recipe: CatalogueRecipe };

export function recommend(recipe: CatalogueRecipe | undefined, recommenderId: string, now: Date, rules: Rules): RecommendOutcome {
  if (!recipe || !isLive(recipe)) return { kind: 'not-found' };
  if (recipe.authorId === recommenderId) return { kind: 'own-recipe' };
  if (hasRecommended(recipe, recommenderId)) return { kind: 'duplicate', recipe };
  const recommendation = { by: recommenderId, points: rules.pointValue, at: now.toISOString() };
  return {
    kind: 'recommended',
    recipe: { ...recipe, points: recipe.points + rules.pointValue, recommendations: [...recipe.recommendations, recommendation] },
  };
}

/**
 * The Recommended event of a member's recommendation, as the record says it
 * happened: the points it earned and the recipe's total right after it.
 * Built from the state, so every copy of the event carries the same data.
 */
export function recommendedEvent(recipe: CatalogueRecipe, memberId: string): Recommended | undefined {
  let total = 0;
  for (const r of recipe.recommendations) {
    total += r.points;
    if (r.by === memberId) {
      return { recipeId: recipe.recipeId, authorId: recipe.authorId, recommenderId: memberId, points: r.points, recipePoints: total, recommendedAt: r.at };
    }
  }
  return undefined;
}

export type WithdrawOutcome = { held: true; pointsRevoked: number; recipe?: CatalogueRecipe } | { held: false };

/** Holds the points for a delete attempt (idempotent); refused if that attempt's hold was released already. */
export function withdraw(recipe: CatalogueRecipe, attempt: string, now: Date): WithdrawOutcome {
  if (recipe.deletedAt !== undefined || recipe.holds?.[attempt] !== undefined) return { held: true, pointsRevoked: recipe.points };
  if (recipe.released?.includes(attempt)) return { held: false };
  return { held: true, pointsRevoked: recipe.points, recipe: { ...recipe, holds: { ...recipe.holds, [attempt]: now.toISOString() } } };
}

/** Releases a delete attempt's hold, and remembers it so that a late withdrawal for it is refused. */
export function releaseHold(recipe: CatalogueRecipe, attempt: string): CatalogueRecipe | undefined {
  if (recipe.deletedAt !== undefined || recipe.released?.includes(attempt)) return undefined;
  const { [attempt]: _released, ...holds } = recipe.holds ?? {};
  return { ...recipe, holds, released: [...(recipe.released ?? []), attempt] };
}

/** Deleted arrived: the withdrawal is final, whichever attempt made it. */
export function confirmDeletion(recipe: CatalogueRecipe, deletedAt: string): CatalogueRecipe | undefined {
  if (recipe.deletedAt !== undefined) return undefined;
  return { ...recipe, deletedAt, holds: {} };
}

export function fence(recipe: CatalogueRecipe, attempt: string): CatalogueRecipe {
  return { ...recipe, fenced: [...(recipe.fenced ?? []), attempt] };
}

export function publicView(recipe: CatalogueRecipe) {
  return {
    recipeId: recipe.recipeId,
    authorId: recipe.authorId,
    title: recipe.title,
    registeredAt: recipe.registeredAt,
    points: recipe.points,
    recommendations: recipe.recommendations.length,
  };
}
