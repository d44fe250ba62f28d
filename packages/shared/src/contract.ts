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

/** An opaque paging cursor as the client got it (the service checks its signature). */
const cursor = z
  .string()
  .regex(/^[A-Za-z0-9_-]{1,6000}\.[A-Za-z0-9_-]{1,100}$/, 'cursor must be a nextCursor this API returned, unchanged');
/** Entries per page; 20 when not given. */
const limit = z.coerce.number().int().min(1).max(100);
export const DEFAULT_PAGE_LIMIT = 20;
const searchText = (what: string) => text(200).refine((s) => !/[\n\t]/.test(s), `${what} must be a single line`);

/** The deprecated OFFSET form's bound: its cost grows with the page, so it stops at the first 1000 entries. */
export const MAX_OFFSET_ENTRIES = 1000;

/**
 * GET /recipes: `limit` and `cursor` (keyset paging), `q` (full-text search
 * over titles and ingredients), `ingredient` (exact, case-insensitive), or
 * the deprecated OFFSET form `page` and `size` (capped at MAX_OFFSET_ENTRIES,
 * and not combined with the others). The gateway checks it and passes on
 * only these fields; mypage checks it again.
 */
export const catalogueQuerySchema = z
  .strictObject({
    limit: limit.optional(),
    cursor: cursor.optional(),
    q: searchText('q').optional(),
    ingredient: searchText('ingredient').optional(),
    page: z.coerce.number().int().min(1).max(MAX_OFFSET_ENTRIES).optional(),
    size: z.coerce.number().int().min(1).max(100).optional(),
  })
  .superRefine((v, ctx) => {
    const offset = v.page !== undefined || v.size !== undefined;
    const keyset = v.limit !== undefined || v.cursor !== undefined || v.q !== undefined || v.ingredient !== undefined;
    if (offset && keyset)
      ctx.addIssue({
        code: 'custom',
        path: ['page'],
        message: 'page and size (deprecated) cannot be combined with limit, cursor, q or ingredient',
      });
    if (offset && (v.page ?? 1) * (v.size ?? 20) > MAX_OFFSET_ENTRIES)
      ctx.addIssue({
        code: 'custom',
        path: ['page'],
        message: `page * size must be at most ${MAX_OFFSET_ENTRIES}: page further with limit and cursor`,
      });
  });

export type CatalogueQuery = z.infer<typeof catalogueQuerySchema>;

/** GET /mypages/me: keyset paging of the member's recipes, newest first. */
export const myPageQuerySchema = z.strictObject({ limit: limit.default(DEFAULT_PAGE_LIMIT), cursor: cursor.optional() });

export type MyPageQuery = z.infer<typeof myPageQuerySchema>;

/** The paging fields of a keyset page's answer (GET /recipes without page/size, GET /mypages/me). */
export const keysetPageSchema = z.object({
  limit: z.number().int().min(1).max(100),
  hasMore: z.boolean(),
  /** Pass it back as `cursor` for the next page; null on the last one. */
  nextCursor: z.string().nullable(),
});
