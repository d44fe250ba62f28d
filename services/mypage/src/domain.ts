import type { RecipeRow } from './store.js';

const recipeSummary = (row: RecipeRow) => ({
  recipeId: row.recipe_id,
  title: row.title,
  registeredAt: row.registered_at?.toISOString() ?? null,
  points: row.points,
});

export const catalogueItem = (row: RecipeRow) => ({ ...recipeSummary(row), authorId: row.member_id });

export const auditRow = (row: RecipeRow) => ({ ...catalogueItem(row), deleted: row.deleted_at !== null });

export function memberPageView(memberId: string, view: { rows: RecipeRow[]; balance: number; page: object }) {
  return { memberId, balance: view.balance, recipes: view.rows.map(recipeSummary), ...view.page };
}
