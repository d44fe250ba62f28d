import type { RecipeDraft } from './recipe-form.js';

/**
 * The registration form as typed, kept in sessionStorage on every change, so
 * an expired sign-in loses nothing: it is restored after signing in again (by
 * the same member only). With it, the Idempotency-Key of the last submission
 * and the body it was sent with: a retry of that same body reuses the key.
 */
export interface StoredDraft {
  memberId: string | undefined;
  draft: RecipeDraft;
  submission?: { key: string; body: string };
}

const KEY = 'recipe.draft';

export function loadDraft(memberId: string | undefined): StoredDraft | undefined {
  try {
    const stored = JSON.parse(sessionStorage.getItem(KEY) ?? 'null') as StoredDraft | null;
    return stored && stored.memberId === memberId ? stored : undefined;
  } catch {
    return undefined;
  }
}

export const saveDraft = (stored: StoredDraft) => sessionStorage.setItem(KEY, JSON.stringify(stored));
export const clearDraft = () => sessionStorage.removeItem(KEY);
