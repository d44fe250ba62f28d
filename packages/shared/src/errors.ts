import { inspect } from 'node:util';
import type { Context, Next } from 'koa';
import { DaprError } from './dapr-errors.js';
import type { Logger } from './log.js';

export interface ErrorBody {
  error: { code: string; message: string; details?: unknown };
}

interface AppErrorOptions {
  details?: unknown;
  retryAfterSeconds?: number;
  cause?: unknown;
}

/**
 * The one error type services throw. `code` is a string (e.g. RECIPE.NOT_FOUND)
 * because codes must survive the hop through Dapr, where instanceof does not.
 */
export class AppError extends Error {
  readonly details?: unknown;
  readonly retryAfterSeconds?: number;

  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    options: AppErrorOptions = {},
  ) {
    super(message, { cause: options.cause });
    this.name = 'AppError';
    this.details = options.details;
    this.retryAfterSeconds = options.retryAfterSeconds;
  }

  toBody(): ErrorBody {
    return { error: { code: this.code, message: this.message, ...(this.details === undefined ? {} : { details: this.details }) } };
  }
}

export const notFound = (code: string, message: string) => new AppError(404, code, message);
export const unavailable = (message: string, retryAfterSeconds: number, cause?: unknown) =>
  new AppError(503, 'SERVICE.UNAVAILABLE', message, { retryAfterSeconds, cause });
/** A write failed and could not be checked afterwards: it may or may not have happened. */
export const outcomeUnknown = (retryAfterSeconds: number, cause?: unknown) =>
  new AppError(504, 'SERVICE.OUTCOME_UNKNOWN', 'the change may or may not have been applied: retry the same request to find out', {
    retryAfterSeconds,
    cause,
  });

/** Statuses Koa's body parser and router raise, mapped to stable codes. */
const HTTP_ERROR_CODES: Record<number, string> = {
  400: 'REQUEST.MALFORMED',
  404: 'ROUTE.NOT_FOUND',
  405: 'ROUTE.METHOD_NOT_ALLOWED',
  413: 'REQUEST.TOO_LARGE',
  415: 'REQUEST.UNSUPPORTED_MEDIA_TYPE',
};

function toAppError(err: unknown, retryAfterSeconds: number, isDependencyError: (err: unknown) => boolean): AppError | undefined {
  if (err instanceof AppError) return err;
  // A sidecar, store or callee that failed is a dependency outage, not a bug here.
  if (err instanceof DaprError || isDependencyError(err))
    return unavailable('a service this request needs is unavailable, please retry', retryAfterSeconds, err);
  const status = (err as { status?: unknown })?.status;
  if (typeof status === 'number' && status >= 400 && status < 500 && (err as { expose?: boolean }).expose) {
    const message = status === 413 ? 'the request body is too large' : (err as Error).message;
    return new AppError(status, HTTP_ERROR_CODES[status] ?? 'REQUEST.INVALID', message);
  }
  return undefined;
}

/** The single catcher at the top of every middleware chain: JSON errors, never a stack trace. */
export function errorMiddleware(log: Logger, retryAfterSeconds = 5, isDependencyError: (err: unknown) => boolean = () => false) {
  return async (ctx: Context, next: Next) => {
    try {
      await next();
      if (ctx.status === 404 && ctx.body === undefined) {
        throw new AppError(404, 'ROUTE.NOT_FOUND', `no route for ${ctx.method} ${ctx.path}`);
      }
    } catch (err) {
      const appError = toAppError(err, retryAfterSeconds, isDependencyError);
      if (appError) {
        ctx.status = appError.status;
        ctx.body = appError.toBody();
        if (appError.retryAfterSeconds !== undefined) ctx.set('Retry-After', String(Math.ceil(appError.retryAfterSeconds)));
        const level = appError.status >= 500 ? 'warn' : 'debug';
        log[level]({ code: appError.code, status: appError.status, cause: describeCause(appError.cause) }, appError.message);
        return;
      }
      log.error({ err }, 'unhandled error');
      ctx.status = 500;
      ctx.body = { error: { code: 'INTERNAL', message: 'internal error' } } satisfies ErrorBody;
    }
  };
}

/** The chain of causes, outermost first: what a log reader needs to find the root. */
function describeCause(cause: unknown): string | undefined {
  const messages: string[] = [];
  for (let c = cause; c !== undefined && messages.length < 5; c = c instanceof Error ? c.cause : undefined) {
    messages.push(c instanceof Error ? c.message : inspect(c));
  }
  return messages.length ? messages.join(' <- ') : undefined;
}
