import type { Recommended, Registered } from '@recipe/shared';

/**
 * A recipe in the recommendation catalogue. It can exist before its
 * Registered event arrives (a withdrawal or Deleted came first): then it has
 * no title and is not recommendable.
 */
export interface CatalogueRecipe {
  recipeId: string;
  authorId: string;
  title?: string;
  registeredAt?: string;
  points: number;
  /** Who recommended it: once per member, checked and written in one ETag-guarded save. */
  recommenders: string[];
  /** A pending hold (not confirmed) lapses after the hold time; a confirmed one is final. */
  withdrawal?: { at: string; confirmed: boolean };
}

export interface Rules {
  pointValue: number;
  holdMs: number;
}

export function isWithdrawn(recipe: CatalogueRecipe, now: Date, { holdMs }: Rules): boolean {
  const w = recipe.withdrawal;
  return w !== undefined && (w.confirmed || now.getTime() - Date.parse(w.at) < holdMs);
}

export const isLive = (recipe: CatalogueRecipe, now: Date, rules: Rules) => recipe.title !== undefined && !isWithdrawn(recipe, now, rules);

export function placeholder(recipeId: string, authorId: string): CatalogueRecipe {
  return { recipeId, authorId, points: 0, recommenders: [] };
}

/** Registered fills in a placeholder (keeping a withdrawal that came first); a duplicate changes nothing. */
export function register(recipe: CatalogueRecipe, e: Pick<Registered, 'title' | 'registeredAt'>): CatalogueRecipe | undefined {
  if (recipe.title !== undefined) return undefined;
  return { ...recipe, title: e.title, registeredAt: e.registeredAt };
}

export type RecommendOutcome =
  | { kind: 'not-found' }
  | { kind: 'own-recipe' }
  | { kind: 'duplicate'; recipe: CatalogueRecipe }
  | { kind: 'recommended'; recipe: CatalogueRecipe; event: Recommended };

export function recommend(recipe: CatalogueRecipe | undefined, recommenderId: string, now: Date, rules: Rules): RecommendOutcome {
  if (!recipe || !isLive(recipe, now, rules)) return { kind: 'not-found' };
  if (recipe.authorId === recommenderId) return { kind: 'own-recipe' };
  if (recipe.recommenders.includes(recommenderId)) return { kind: 'duplicate', recipe };
  const points = recipe.points + rules.pointValue;
  return {
    kind: 'recommended',
    recipe: { ...recipe, points, recommenders: [...recipe.recommenders, recommenderId] },
    event: {
      recipeId: recipe.recipeId,
      authorId: recipe.authorId,
      recommenderId,
      points: rules.pointValue,
      recipePoints: points,
      recommendedAt: now.toISOString(),
    },
  };
}

/** Holds the points: a confirmed withdrawal stays as it is, a pending one is renewed. */
export function withdraw(recipe: CatalogueRecipe, now: Date): CatalogueRecipe | undefined {
  if (recipe.withdrawal?.confirmed) return undefined;
  return { ...recipe, withdrawal: { at: now.toISOString(), confirmed: false } };
}

export function cancelWithdrawal(recipe: CatalogueRecipe): CatalogueRecipe | undefined {
  if (!recipe.withdrawal || recipe.withdrawal.confirmed) return undefined;
  const { withdrawal: _released, ...rest } = recipe;
  return rest;
}

export function confirmWithdrawal(recipe: CatalogueRecipe, deletedAt: string): CatalogueRecipe | undefined {
  if (recipe.withdrawal?.confirmed) return undefined;
  return { ...recipe, withdrawal: { at: deletedAt, confirmed: true } };
}

export function publicView(recipe: CatalogueRecipe) {
  return {
    recipeId: recipe.recipeId,
    authorId: recipe.authorId,
    title: recipe.title,
    registeredAt: recipe.registeredAt,
    points: recipe.points,
    recommendations: recipe.recommenders.length,
  };
}
