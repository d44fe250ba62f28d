import { OpenAPIRegistry, OpenApiGeneratorV31, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
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
  errorSchema,
  healthSchema,
  myPageSchema,
  myRecipeSchema,
  myRecipesPageSchema,
  profileSchema,
  readinessSchema,
  recipeSchema,
  recommendationSchema,
} from './openapi-schemas.js';

/**
 * The gateway's OpenAPI 3.1 document, built from the zod schemas it validates
 * with (@recipe/shared) and those of its answers (openapi-schemas.ts). Served
 * at GET /openapi.json (docs.ts). A route the router registers without an
 * operation here fails services/gateway/test/openapi.test.ts.
 *
 * Add an operation with `operation({...})`: its errors are the statuses it
 * can answer besides its successes, each with the one error body.
 */
export const registry = new OpenAPIRegistry();

registry.registerComponent('securitySchemes', 'bearer', {
  type: 'http',
  scheme: 'bearer',
  bearerFormat: 'JWT',
  description: 'A JWT whose `sub` is your member id (HS256 locally; `npm run -s token -- <member>` mints one).',
});

const retryAfter = {
  'Retry-After': {
    description: 'Seconds to wait before trying again.',
    required: true,
    schema: { type: 'integer', minimum: 1 } as const,
  },
};

/** What each error status means here; 429, 503 and 504 carry Retry-After. */
export const ERROR_STATUSES = {
  400: 'The request is invalid (REQUEST.INVALID names each field at fault in `details`) or malformed (REQUEST.MALFORMED).',
  401: 'No token, or one that is not valid or has expired (AUTH.UNAUTHENTICATED).',
  403: 'Not allowed for you.',
  404: 'Not found (RECIPE.NOT_FOUND), or not yours.',
  409: 'A conflict with what exists.',
  413: 'The body is larger than the limit (64 KiB) (REQUEST.TOO_LARGE).',
  415: 'The body is not application/json (REQUEST.UNSUPPORTED_MEDIA_TYPE).',
  429: 'Too many requests from you (RATE.LIMITED): wait Retry-After seconds.',
  431: 'The request line and headers are too large (REQUEST.HEADERS_TOO_LARGE).',
  503: 'Nothing changed: a service (or the token check) is busy or unavailable. Retry after Retry-After seconds.',
  504: 'The change may or may not have been applied (SERVICE.OUTCOME_UNKNOWN): retry the same request (with the same Idempotency-Key) to find out.',
} as const;
export type ErrorStatus = keyof typeof ERROR_STATUSES;

/** What any request can be answered: malformed (the HTTP parser, or its input), or with headers too large. */
const ANY: ErrorStatus[] = [400, 431];
/** What every authenticated operation can answer besides its own errors. */
const AUTHENTICATED: ErrorStatus[] = [401, 429, 503];
/** A method with a body (any but GET and HEAD) is read by the one JSON body reader first. */
const WITH_BODY: ErrorStatus[] = [413, 415];

/** What the gateway answers for a path (or method) no operation has: an error body with one of these. */
export const UNROUTED_STATUSES = [400, 404, 405, 413, 415, 431] as const;

export function errorResponse(status: ErrorStatus, description: string = ERROR_STATUSES[status]): ResponseConfig {
  return {
    description,
    ...(status === 429 || status === 503 || status === 504 ? { headers: retryAfter } : {}),
    content: { 'application/json': { schema: errorSchema } },
  };
}

const json = (schema: z.ZodType, description: string): ResponseConfig => ({ description, content: { 'application/json': { schema } } });

export interface Operation {
  method: RouteConfig['method'];
  /** OpenAPI style: "{recipeId}" for a path parameter. */
  path: string;
  summary: string;
  description?: string;
  request?: RouteConfig['request'];
  /** The successful answers. */
  responses: Record<number, ResponseConfig>;
  /** Its own error statuses, with a description of what they mean here where it says more than ERROR_STATUSES. */
  errors?: Partial<Record<ErrorStatus, string>> | ErrorStatus[];
  /** Public: no token needed. */
  public?: boolean;
}

/** Registers an operation: authenticated unless public, with every error status it can answer. */
export function operation(op: Operation): void {
  const own = Array.isArray(op.errors) ? Object.fromEntries(op.errors.map((s) => [s, undefined])) : (op.errors ?? {});
  const statuses = new Set<ErrorStatus>([
    ...ANY,
    ...(op.public ? [] : AUTHENTICATED),
    ...(op.method === 'get' || op.method === 'head' ? [] : WITH_BODY),
    ...(Object.keys(own).map(Number) as ErrorStatus[]),
  ]);
  const errors = Object.fromEntries(
    [...statuses].sort().map((status) => [status, errorResponse(status, (own as Record<number, string | undefined>)[status])]),
  );
  registry.registerPath({
    method: op.method,
    path: op.path,
    summary: op.summary,
    description: op.description,
    request: op.request,
    security: op.public ? [] : [{ bearer: [] }],
    responses: { ...op.responses, ...errors },
  });
}

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

const html = (description: string): ResponseConfig => ({ description, content: { 'text/html': { schema: z.string() } } });

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
