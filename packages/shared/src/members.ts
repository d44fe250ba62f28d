import { z } from 'zod';

/**
 * Members as other members see them: by a display name, never by their login
 * subject. And the write side's listing of one's own recipes. The gateway
 * validates with these schemas, and the OpenAPI document is built from them.
 */

/** Control characters (C0, DEL, C1) and the line and paragraph separators: a name is one plain line. */
// eslint-disable-next-line no-control-regex
const CONTROL = /[\u0000-\u001f\u007f-\u009f\u2028\u2029]/;

export const DISPLAY_NAME_MAX = 50;

/** A display name as a member sets it: 1–50 characters once trimmed, one line, no control characters. */
export const displayNameSchema = z
  .string()
  .trim()
  .min(1, 'must not be empty')
  .refine((s) => [...s].length <= DISPLAY_NAME_MAX, `must be at most ${DISPLAY_NAME_MAX} characters`)
  .refine((s) => !CONTROL.test(s), 'must be one line without control characters');

/** PUT /members/me */
export const profileUpdateSchema = z.strictObject({ displayName: displayNameSchema });
export type ProfileUpdate = z.infer<typeof profileUpdateSchema>;

/** Where a shown name comes from: set by the member, the identity token's name claim, or generated. */
export const nameSourceSchema = z.enum(['member', 'token', 'generated']);
export type NameSource = z.infer<typeof nameSourceSchema>;

/** GET and PUT /members/me */
export const profileSchema = z.object({ displayName: z.string(), source: nameSourceSchema });
export type Profile = z.infer<typeof profileSchema>;

/** The author of a recipe as anyone sees it (catalogue, recipe page, recommendation answer). */
export const authorSchema = z.object({ displayName: z.string() });

/**
 * The name an identity token's `name` (or else `nickname`) claim gives, made
 * fit to show: control characters and line breaks become spaces, runs of
 * spaces one, cut to 50 characters. Nothing usable, or a claim that is just
 * the login subject again (some providers put the e-mail in both): undefined.
 */
export function nameFromClaims(claims: { sub?: unknown; name?: unknown; nickname?: unknown }): string | undefined {
  const subject = typeof claims.sub === 'string' ? claims.sub.toLowerCase() : undefined;
  for (const claim of [claims.name, claims.nickname]) {
    if (typeof claim !== 'string') continue;
    const cleaned = [...claim.replace(new RegExp(CONTROL.source, 'g'), ' ').replace(/\s+/g, ' ').trim()]
      .slice(0, DISPLAY_NAME_MAX)
      .join('')
      .trim();
    if (cleaned && cleaned.toLowerCase() !== subject) return cleaned;
  }
  return undefined;
}

/**
 * How the gateway passes the caller's token name on to a service. Header
 * values are Latin-1: the name travels percent-encoded (Hangul and all).
 */
export const MEMBER_NAME_HEADER = 'x-member-name';
export const encodeNameHeader = (name: string) => encodeURIComponent(name);
export function decodeNameHeader(value: string | undefined): string | undefined {
  if (!value) return undefined;
  try {
    const parsed = displayNameSchema.safeParse(decodeURIComponent(value));
    return parsed.success ? parsed.data : undefined;
  } catch {
    return undefined;
  }
}

/** GET /myrecipes: at most 50 a page (each one a read of the write side's store). */
export const MY_RECIPES_MAX_LIMIT = 50;
export const myRecipesQuerySchema = z.strictObject({
  limit: z.coerce.number().int().min(1).max(MY_RECIPES_MAX_LIMIT).default(20),
  /** Opaque, from the previous page's `nextCursor`. */
  cursor: z
    .string()
    .regex(/^[A-Za-z0-9_-]{1,200}\.[A-Za-z0-9_-]{43}$/, 'cursor must be a nextCursor this API returned')
    .optional(),
});
export type MyRecipesQuery = z.infer<typeof myRecipesQuerySchema>;

export const myRecipeSummarySchema = z.object({
  recipeId: z.uuid(),
  title: z.string(),
  registeredAt: z.string(),
  points: z.number().int().min(0),
});

/**
 * One page of GET /myrecipes, newest first: pass `nextCursor` back for the
 * next page; it is null (and `hasMore` false) on the last one. A page may
 * hold fewer than `limit` items and still have more (see DESIGN.md).
 */
export const myRecipesPageSchema = z.object({
  items: z.array(myRecipeSummarySchema),
  limit: z.number().int(),
  hasMore: z.boolean(),
  nextCursor: z.string().nullable(),
});
export type MyRecipesPage = z.infer<typeof myRecipesPageSchema>;
