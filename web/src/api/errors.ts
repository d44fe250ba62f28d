/** What the API answers on failure: `{"error": {"code", "message", "details"?}}`. */
export interface ErrorBody {
  error: { code: string; message: string; details?: FieldProblem[] };
}

/** One field at fault in a 400 REQUEST.INVALID: `title`, `ingredients.0`, `steps`, `displayName`, … */
export interface FieldProblem {
  field: string;
  message: string;
}

export type ApiErrorKind =
  | 'validation'
  | 'unauthenticated'
  | 'forbidden'
  | 'not-found'
  | 'conflict'
  | 'too-many-requests'
  | 'unavailable'
  | 'outcome-unknown'
  | 'network'
  | 'unexpected';

/** Every failure of an API call; branch on `kind` (or instanceof the subclasses). */
export class ApiError extends Error {
  constructor(
    readonly kind: ApiErrorKind,
    /** The HTTP status; 0 when no answer came. */
    readonly status: number,
    /** The API's stable code (RECIPE.NOT_FOUND, …), or '' when there was no error body. */
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** 400: `details` names each field at fault. */
export class ValidationError extends ApiError {
  constructor(
    code: string,
    message: string,
    readonly details: FieldProblem[],
  ) {
    super('validation', 400, code, message);
  }
}

/** 401, or no (unexpired) token to send: the member has to sign in again. */
export class UnauthenticatedError extends ApiError {
  constructor(code = 'AUTH.UNAUTHENTICATED', message = 'not signed in') {
    super('unauthenticated', 401, code, message);
  }
}

/** An answer that says to wait: 429, 503 (nothing changed) and 504 (outcome unknown). */
export class RetryableError extends ApiError {
  constructor(
    kind: 'too-many-requests' | 'unavailable' | 'outcome-unknown',
    status: number,
    code: string,
    message: string,
    /** Seconds to wait before trying again (Retry-After). */
    readonly retryAfter: number,
  ) {
    super(kind, status, code, message);
  }
}

/** No answer at all: offline, connection reset, DNS. For a write, its outcome is unknown. */
export class NetworkError extends ApiError {
  constructor(message: string) {
    super('network', 0, '', message);
  }
}

/** Seconds to wait when a 429/503/504 has no usable Retry-After. */
export const DEFAULT_RETRY_AFTER = 2;

/** Retry-After is either delta-seconds or an HTTP date. */
export function parseRetryAfter(value: string | null, now: number): number {
  if (value === null) return DEFAULT_RETRY_AFTER;
  const trimmed = value.trim();
  if (/^\d+$/.test(trimmed)) return Math.max(1, Number(trimmed));
  const date = Date.parse(trimmed);
  if (Number.isNaN(date)) return DEFAULT_RETRY_AFTER;
  return Math.max(1, Math.ceil((date - now) / 1000));
}

function isErrorBody(body: unknown): body is ErrorBody {
  if (typeof body !== 'object' || body === null) return false;
  const error = (body as { error?: unknown }).error;
  return typeof error === 'object' && error !== null && typeof (error as { code?: unknown }).code === 'string';
}

/** The typed error for a non-2xx answer, from its status, its Retry-After and its JSON body (if any). */
export function errorFromResponse(status: number, retryAfterHeader: string | null, body: unknown, now: number): ApiError {
  const error = isErrorBody(body) ? body.error : undefined;
  const code = error?.code ?? '';
  const message = error?.message ?? `HTTP ${status}`;
  switch (status) {
    case 400:
      return new ValidationError(code, message, Array.isArray(error?.details) ? error.details : []);
    case 401:
      return new UnauthenticatedError(code || undefined, message);
    case 403:
      return new ApiError('forbidden', status, code, message);
    case 404:
      return new ApiError('not-found', status, code, message);
    case 409:
      return new ApiError('conflict', status, code, message);
    case 429:
      return new RetryableError('too-many-requests', status, code, message, parseRetryAfter(retryAfterHeader, now));
    case 503:
      return new RetryableError('unavailable', status, code, message, parseRetryAfter(retryAfterHeader, now));
    case 504:
      return new RetryableError('outcome-unknown', status, code, message, parseRetryAfter(retryAfterHeader, now));
    default:
      return new ApiError('unexpected', status, code, message);
  }
}
