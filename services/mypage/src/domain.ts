import type { RecipeRow } from './store.js';

const recipeSummary = (row: RecipeRow) => ({
  recipeId: row.recipe_id,
  title: row.title,
  registeredAt: row.registered_at?.toISOString() ?? null,
  points: row.points,
});

export const catalogueItem = (row: RecipeRow) => ({ ...recipeSummary(row), authorId: row.member_id });

export const auditRow = (row: RecipeRow) => ({ ...catalogueItem(row), deleted: row.deleted_at !== null });

export function memberPageView(memberId: string, page: { rows: RecipeRow[]; balance: number }) {
  return { memberId, balance: page.balance, recipes: page.rows.map(recipeSummary) };
}
