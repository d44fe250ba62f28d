import { OpenApiGeneratorV31 } from '@asteasolutions/zod-to-openapi';
import {
  catalogueQuerySchema,
  idempotencyKeySchema,
  myPageQuerySchema,
  myRecipesQuerySchema,
  newRecipeSchema,
  profileUpdateSchema,
  recipeIdSchema,
} from '@recipe/shared';
import { z } from 'zod';
import {
  cataloguePageSchema,
  deletionSchema,
  healthSchema,
  myPageSchema,
  myRecipeSchema,
  myRecipesPageSchema,
  profileSchema,
  readinessSchema,
  recipeSchema,
  recommendationSchema,
} from './openapi-schemas.js';
import { ERROR_STATUSES, html, json, operation, registry } from './openapi-registry.js';
import './openapi-web.js';

export { ERROR_STATUSES, UNROUTED_STATUSES, errorResponse, type ErrorStatus } from './openapi-registry.js';

const recipePath = z.strictObject({ recipeId: recipeIdSchema.meta({ description: 'the recipe id (a UUID)' }) });

operation({
  method: 'post',
  path: '/myrecipes',
  summary: 'Register a recipe',
  description:
    'With an Idempotency-Key, a retry of the same request (after a lost answer, a 503 or a 504) answers the same recipe, ' +
    'and never registers a second one.',
  request: {
    headers: z.object({
      'Idempotency-Key': idempotencyKeySchema.optional().meta({ description: '1-128 visible ASCII characters, unique per registration' }),
    }),
    body: { required: true, content: { 'application/json': { schema: newRecipeSchema.meta({ id: 'NewRecipe' }) } } },
  },
  responses: { 201: json(myRecipeSchema, 'Registered (or, for a retry with the same Idempotency-Key, the recipe it registered)') },
  errors: {
    409: 'The Idempotency-Key was used with another body, or its recipe was deleted (IDEMPOTENCY.KEY_REUSED).',
    503: 'Nothing was registered: registration is busy (SERVICE.OVERLOADED) or unavailable. Retry after Retry-After seconds.',
    504: ERROR_STATUSES[504],
  },
});

operation({
  method: 'get',
  path: '/myrecipes/{recipeId}',
  summary: 'One of your recipes, with its points',
  request: { params: recipePath },
  responses: { 200: json(myRecipeSchema, 'Your recipe') },
  errors: { 404: 'No such recipe of yours (someone else’s is not found either).' },
});

operation({
  method: 'delete',
  path: '/myrecipes/{recipeId}',
  summary: 'Delete one of your recipes and take its points back',
  description: 'Synchronous: the points are taken back before the answer. A repeated delete answers the same again.',
  request: { params: recipePath },
  responses: { 200: json(deletionSchema, 'Deleted') },
  errors: [404, 504],
});

operation({
  method: 'get',
  path: '/recipes',
  summary: 'The catalogue, most recommended first; search it with q and ingredient',
  description:
    'Paged by `limit` and `cursor` (pass `nextCursor` back, with the same `q` and `ingredient`, until it is null). ' +
    'Paging to the end, no recipe comes twice, and every recipe listed when the first page was fetched and not deleted meanwhile ' +
    'comes exactly once, whatever is registered, recommended or deleted meanwhile: the order is by points as of the first page ' +
    '(each item shows its points now); recipes registered since do not appear.\n\n' +
    '`q` matches whole words of titles and ingredients (English stemmed, websearch syntax: `"kimchi stew"`, `kimchi -pork`, `a or b`), ' +
    'Korean anywhere inside a word (`찌개` finds 김치찌개), and from three characters on any substring. `ingredient` matches one whole ' +
    'ingredient, ignoring case and spacing. Results come best match first (title above ingredients, substring-only last), ' +
    'then most recommended, then newest.\n\n' +
    'The OFFSET form (`page`, `size`) is deprecated: capped at the first 1000 entries, not combinable with the others.',
  request: { query: catalogueQuerySchema },
  responses: { 200: json(cataloguePageSchema, 'A page of the catalogue') },
});

operation({
  method: 'get',
  path: '/recipes/{recipeId}',
  summary: 'One recommendable recipe, with its points',
  request: { params: recipePath },
  responses: { 200: json(recipeSchema, 'The recipe') },
  errors: [404],
});

operation({
  method: 'post',
  path: '/recipes/{recipeId}/recommendations',
  summary: 'Recommend a recipe (once per member, never your own)',
  request: { params: recipePath },
  responses: {
    201: json(recommendationSchema, 'Recommended: its author earned points'),
    200: json(recommendationSchema, 'You had recommended it already: nothing changed'),
  },
  errors: { 403: 'It is your own recipe (RECOMMENDATION.OWN_RECIPE).', 404: ERROR_STATUSES[404], 504: ERROR_STATUSES[504] },
});

operation({
  method: 'get',
  path: '/mypages/me',
  summary: 'Your recipes with their points, newest first, a page at a time, and your balance (of all your recipes)',
  request: { query: myPageQuerySchema },
  responses: { 200: json(myPageSchema, 'Your page') },
});

operation({
  method: 'get',
  path: '/myrecipes',
  summary: 'Your recipes, newest first, with their points (from the write side: a recipe is here as soon as it is registered)',
  request: { query: myRecipesQuerySchema },
  responses: { 200: json(myRecipesPageSchema, 'A page of your recipes') },
});

operation({
  method: 'get',
  path: '/members/me',
  summary: 'Your profile: the name other members see',
  responses: { 200: json(profileSchema, 'Your profile') },
});

operation({
  method: 'put',
  path: '/members/me',
  summary: 'Set your display name',
  request: { body: { required: true, content: { 'application/json': { schema: profileUpdateSchema.meta({ id: 'ProfileUpdate' }) } } } },
  responses: { 200: json(profileSchema, 'Your profile, with the name set') },
});

// The gateway's own: health, and this description.
operation({
  method: 'get',
  path: '/healthz',
  summary: 'Liveness',
  public: true,
  responses: { 200: json(healthSchema, 'Alive') },
});

operation({
  method: 'get',
  path: '/readyz',
  summary: 'Readiness: the sidecar and token checking are ready',
  public: true,
  responses: { 200: json(readinessSchema, 'Ready'), 503: json(readinessSchema, 'Not ready (or draining): send traffic elsewhere') },
});

operation({
  method: 'get',
  path: '/openapi.json',
  summary: 'This document (OpenAPI 3.1)',
  public: true,
  responses: {
    200: { description: 'The OpenAPI document', content: { 'application/json': { schema: z.record(z.string(), z.unknown()) } } },
  },
});

operation({
  method: 'get',
  path: '/docs',
  summary: 'A readable reference of this API (Swagger UI, served by the gateway)',
  public: true,
  responses: { 200: html('The reference page') },
});

operation({
  method: 'get',
  path: '/docs/{asset}',
  summary: 'The scripts and styles of the reference page',
  public: true,
  request: { params: z.strictObject({ asset: z.string() }) },
  responses: {
    200: { description: 'The file', content: { 'text/css': { schema: z.string() }, 'application/javascript': { schema: z.string() } } },
  },
  errors: [404],
});

/** What the query parameters mean, wherever an operation takes them (their schemas come from @recipe/shared). */
const QUERY_PARAMETERS: Record<string, { description: string; deprecated?: boolean }> = {
  limit: { description: 'Entries per page (20 when not given).' },
  cursor: {
    description: "The previous page's `nextCursor`, unchanged: the next page. Opaque and tamper-evident (a changed one is a 400).",
  },
  q: { description: 'Full-text search over titles and ingredients.' },
  ingredient: { description: 'Only recipes with this ingredient (exact, case-insensitive).' },
  page: { description: 'Deprecated OFFSET paging (page × size at most 1000): page with `limit` and `cursor` instead.', deprecated: true },
  size: { description: 'Deprecated OFFSET paging, with `page`.', deprecated: true },
};

type Document = ReturnType<OpenApiGeneratorV31['generateDocument']>;
let document: Document | undefined;

function describeParameters(doc: Document): Document {
  for (const item of Object.values(doc.paths ?? {})) {
    for (const op of Object.values(item as Record<string, { parameters?: { name: string; in: string; description?: string }[] }>)) {
      for (const parameter of op.parameters ?? []) {
        const known = parameter.in === 'query' ? QUERY_PARAMETERS[parameter.name] : undefined;
        if (known && parameter.description === undefined) Object.assign(parameter, known);
      }
    }
  }
  return doc;
}

/** The document (built once: the registry is complete once this module and its importers are loaded). */
export function openApiDocument() {
  document ??= describeParameters(
    new OpenApiGeneratorV31(registry.definitions).generateDocument({
      openapi: '3.1.0',
      info: {
        title: 'Recommend Recipe',
        version: '1.0.0',
        description:
          'Members register recipes; others recommend them, and recommendations earn points. ' +
          'Every error is `{"error": {"code", "message", "details"?}}` with a fitting status; there is never a 500 for bad input.',
      },
      security: [{ bearer: [] }],
    }),
  );
  return document;
}
