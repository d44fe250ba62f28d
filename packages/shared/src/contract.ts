import { z } from 'zod';

/** C0 control characters but tab and line feed, and DEL. */
const hasControlChars = (s: string) => [...s].some((c) => (c < ' ' && c !== '\t' && c !== '\n') || c === '\u007f');

/**
 * The public registration contract: the gateway rejects what does not match
 * before calling anyone (a flood of bad input must not count as failures of
 * the registration circuit), and myrecipe checks again as the owner.
 */
const text = (max: number) =>
  z
    .string()
    .trim()
    .min(1)
    .max(max)
    .refine((s) => !hasControlChars(s), 'must not contain control characters');

/** What a member sends to register a recipe; unknown fields are rejected, never stored. */
export const newRecipeSchema = z.strictObject({
  title: text(200).refine((s) => !/[\n\t]/.test(s), 'must be a single line'),
  ingredients: z.array(text(200)).min(1).max(100),
  steps: z.array(text(2000)).min(1).max(100),
});

export type NewRecipe = z.infer<typeof newRecipeSchema>;

export const IDEMPOTENCY_HEADER = 'idempotency-key';
export const idempotencyKeySchema = z.string().regex(/^[\x21-\x7e]{1,128}$/, 'Idempotency-Key must be 1-128 visible ASCII characters');

/** GET /recipes paging: the gateway checks it and passes on only these two. */
export const catalogueQuerySchema = z.strictObject({
  page: z.coerce.number().int().min(1).max(10_000).default(1),
  size: z.coerce.number().int().min(1).max(100).default(20),
});
