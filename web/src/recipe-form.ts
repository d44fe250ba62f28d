import type { FieldProblem } from './api/errors.js';
import type { NewRecipe } from './api/types.js';

// The registration form's own checks, mirroring the API's limits
// (packages/shared/src/contract.ts), so most mistakes are told before sending.

export const LIMITS = { title: 200, items: 100, ingredient: 200, step: 2000 } as const;

/** The form as typed: ingredients and steps one per line. */
export interface RecipeDraft {
  title: string;
  ingredients: string;
  steps: string;
}

export type FormField = 'title' | 'ingredients' | 'steps';

/** A problem to tell next to a field: a message key of the app's, or the API's own words. */
export type Problem =
  | { kind: 'required' | 'oneLine' | 'controlChars' | 'tooFewItems' }
  | { kind: 'tooLong' | 'tooManyItems'; max: number }
  | { kind: 'api'; message: string };

/** A problem with one line of a list field has its 0-based line. */
export interface FieldIssue {
  field: FormField;
  line?: number;
  problem: Problem;
}

/** C0 controls but tab and line feed, and DEL: what the API refuses inside a text. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u0008\u000b-\u001f\u007f]/;

/** The lines of a one-per-line textarea, trimmed, blank ones left out. */
export const linesOf = (text: string) =>
  text
    .split('\n')
    .map((line) => line.trim())
    .filter((line) => line !== '');

export function toNewRecipe(draft: RecipeDraft): NewRecipe {
  return { title: draft.title.trim(), ingredients: linesOf(draft.ingredients), steps: linesOf(draft.steps) };
}

function checkText(field: FormField, text: string, max: number, line?: number): FieldIssue[] {
  const at = line === undefined ? {} : { line };
  if (text === '') return [{ field, ...at, problem: { kind: 'required' } }];
  if (text.length > max) return [{ field, ...at, problem: { kind: 'tooLong', max } }];
  if (CONTROL.test(text)) return [{ field, ...at, problem: { kind: 'controlChars' } }];
  return [];
}

function checkList(field: 'ingredients' | 'steps', lines: string[], max: number): FieldIssue[] {
  if (lines.length === 0) return [{ field, problem: { kind: 'tooFewItems' } }];
  if (lines.length > LIMITS.items) return [{ field, problem: { kind: 'tooManyItems', max: LIMITS.items } }];
  return lines.flatMap((line, i) => checkText(field, line, max, i));
}

/** Every problem with the draft; none means the API should accept it. */
export function validateRecipe(draft: RecipeDraft): FieldIssue[] {
  const recipe = toNewRecipe(draft);
  const title = checkText('title', recipe.title, LIMITS.title);
  if (title.length === 0 && /[\t\n]/.test(recipe.title)) title.push({ field: 'title', problem: { kind: 'oneLine' } });
  return [...title, ...checkList('ingredients', recipe.ingredients, LIMITS.ingredient), ...checkList('steps', recipe.steps, LIMITS.step)];
}

/**
 * The API's 400 details as issues of the form's fields: `ingredients.3` is the
 * fourth line of the ingredients. Details of no field of the form (`body`, …)
 * come back in `other`.
 */
export function issuesFromApi(details: FieldProblem[]): { issues: FieldIssue[]; other: FieldProblem[] } {
  const issues: FieldIssue[] = [];
  const other: FieldProblem[] = [];
  for (const detail of details) {
    const [head, index] = detail.field.split('.');
    if (head === 'title' || head === 'ingredients' || head === 'steps') {
      const line = index !== undefined && /^\d+$/.test(index) ? Number(index) : undefined;
      issues.push({ field: head, ...(line === undefined ? {} : { line }), problem: { kind: 'api', message: detail.message } });
    } else other.push(detail);
  }
  return { issues, other };
}
