import { OpenAPIRegistry, type ResponseConfig, type RouteConfig } from '@asteasolutions/zod-to-openapi';
import { z } from 'zod';
import { errorSchema } from './openapi-schemas.js';

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

export const json = (schema: z.ZodType, description: string): ResponseConfig => ({
  description,
  content: { 'application/json': { schema } },
});

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

export const html = (description: string): ResponseConfig => ({ description, content: { 'text/html': { schema: z.string() } } });
