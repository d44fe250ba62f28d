import { memberIdSchema, nameSourceSchema, recipeIdSchema } from '@recipe/shared';
import { z } from 'zod';

// What the gateway answers, as zod schemas: the OpenAPI document is generated
// from them (openapi.ts), and the end-to-end suite checks every answer it
// receives against that document (test/support/contract.ts). They describe
// what the services really send (services/*/src/domain.ts), and they are
// strict: a field a service adds without documenting it fails the contract.

const timestamp = z.iso.datetime({ offset: true }).meta({ description: 'ISO 8601 date-time (UTC)', example: '2026-12-02T08:00:00.000Z' });
const points = z.number().int().min(0);
const recipeId = recipeIdSchema.meta({ description: 'the recipe id (a UUID)', example: '3f1c2a4e-8d7b-4c1e-9f0a-1b2c3d4e5f60' });
const memberId = memberIdSchema.meta({ description: "a member's id: the token's `sub`", example: 'alice' });

export const errorSchema = z
  .strictObject({
    error: z.strictObject({
      code: z
        .string()
        .regex(/^[A-Z_]+(\.[A-Z_]+)+$/)
        .meta({
          description:
            'A stable code to branch on, e.g. REQUEST.INVALID, REQUEST.MALFORMED, REQUEST.TOO_LARGE, REQUEST.HEADERS_TOO_LARGE, REQUEST.UNSUPPORTED_MEDIA_TYPE, ' +
            'AUTH.UNAUTHENTICATED, AUTH.NOT_READY, AUTH.UNAVAILABLE, RECIPE.NOT_FOUND, RECOMMENDATION.OWN_RECIPE, ' +
            'IDEMPOTENCY.KEY_REUSED, RATE.LIMITED, ROUTE.NOT_FOUND, ROUTE.METHOD_NOT_ALLOWED, SERVICE.UNAVAILABLE, ' +
            'SERVICE.OVERLOADED, SERVICE.OUTCOME_UNKNOWN',
          example: 'RECIPE.NOT_FOUND',
        }),
      message: z.string().meta({ description: 'for people, not for programs: it may change', example: 'recipe not found' }),
      details: z
        .array(z.strictObject({ field: z.string(), message: z.string() }))
        .max(20)
        .optional()
        .meta({ description: 'with REQUEST.INVALID: each field at fault (at most 20)' }),
    }),
  })
  .meta({ id: 'Error', description: 'Every error, whatever its status' });

/** POST /myrecipes, GET /myrecipes/{recipeId}: one of the member's own recipes. */
export const myRecipeSchema = z
  .strictObject({
    recipeId,
    memberId,
    title: z.string(),
    ingredients: z.array(z.string()),
    steps: z.array(z.string()),
    registeredAt: timestamp,
    points: points.meta({ description: 'points it earned so far (a registration answers 0)' }),
  })
  .meta({ id: 'MyRecipe', description: 'A recipe of yours, with the points it earned' });

export const deletionSchema = z
  .strictObject({
    recipeId,
    pointsRevoked: points.meta({ description: 'the points taken back from you; the same again for a repeated delete' }),
  })
  .meta({ id: 'Deletion' });

/** An author as every member sees them: by display name, never by login subject. */
const authorSchema = z
  .strictObject({ displayName: z.string().meta({ description: 'the name the author set, or their token gave, or one generated' }) })
  .meta({ id: 'Author' });

/** A recommendable recipe: its totals. */
const recipeTotals = {
  recipeId,
  title: z.string(),
  registeredAt: timestamp,
  points,
  recommendations: z.number().int().min(0).meta({ description: 'how many members recommended it' }),
};

/** GET /recipes/{recipeId}: a recommendable recipe as every member sees it. */
export const recipeSchema = z
  .strictObject({ ...recipeTotals, author: authorSchema, ingredients: z.array(z.string()), steps: z.array(z.string()) })
  .meta({ id: 'Recipe' });

export const recommendationSchema = z
  .strictObject({
    ...recipeTotals,
    alreadyRecommended: z.boolean().meta({ description: 'true for a repeat (200): no points were added' }),
  })
  .meta({ id: 'Recommendation', description: 'The recipe after your recommendation (its author is not named)' });

const recipeSummary = {
  recipeId,
  title: z.string(),
  registeredAt: timestamp.nullable().meta({ description: 'null while the read model has not seen its registration yet' }),
  points,
};

export const catalogueItemSchema = z.strictObject({ ...recipeSummary, author: authorSchema }).meta({ id: 'CatalogueItem' });

const nextCursor = z.string().nullable().meta({ description: 'pass it as `cursor` for the next page; null on the last page' });
const hasMore = z.boolean().meta({ description: 'whether there is a next page' });

export const cataloguePageSchema = z
  .union([
    z.strictObject({ items: z.array(catalogueItemSchema), limit: z.number().int().min(1), hasMore, nextCursor }),
    z
      .strictObject({ items: z.array(catalogueItemSchema), page: z.number().int().min(1), size: z.number().int().min(1), hasMore })
      .meta({ description: 'the deprecated OFFSET form (with `page` or `size`)', deprecated: true }),
  ])
  .meta({ id: 'CataloguePage' });

export const myPageSchema = z
  .strictObject({
    memberId,
    balance: points.meta({ description: 'the points all your recipes earned (all of them, not only this page)' }),
    recipes: z.array(z.strictObject(recipeSummary)).meta({ description: 'newest first' }),
    limit: z.number().int().min(1),
    hasMore,
    nextCursor,
  })
  .meta({ id: 'MyPage' });

/** GET /myrecipes: your recipes from the write side, newest first. */
export const myRecipesPageSchema = z
  .strictObject({
    items: z.array(z.strictObject({ recipeId, title: z.string(), registeredAt: timestamp, points })),
    limit: z.number().int().min(1),
    hasMore,
    nextCursor,
  })
  .meta({ id: 'MyRecipesPage' });

export const profileSchema = z
  .strictObject({
    displayName: z.string().meta({ description: 'what other members see as the author of your recipes' }),
    source: nameSourceSchema.meta({ description: "member: you set it; token: your identity token's name claim; generated: neither" }),
  })
  .meta({ id: 'Profile' });

export const healthSchema = z.strictObject({ status: z.literal('ok') }).meta({ id: 'Health' });
export const readinessSchema = z
  .union([
    z.strictObject({ status: z.literal('ready') }),
    z.strictObject({ status: z.literal('not ready'), failing: z.array(z.string()).meta({ description: 'what is not ready' }) }),
  ])
  .meta({ id: 'Readiness' });
