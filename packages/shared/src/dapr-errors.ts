/**
 * Why a Dapr call failed: the callee app answered non-2xx (`app`), the sidecar
 * itself refused or failed (`dapr`: unknown app, open circuit, store error,
 * ETag conflict…), the sidecar could not be reached, or it did not answer in time.
 */
export type DaprErrorKind = 'app' | 'dapr' | 'unreachable' | 'timeout';

export class DaprError extends Error {
  constructor(
    readonly kind: DaprErrorKind,
    readonly status: number | undefined,
    readonly body: unknown,
    message: string,
    /** The callee's Retry-After, when it sent one. */
    readonly retryAfterSeconds?: number,
  ) {
    super(message);
    this.name = 'DaprError';
  }

  /** The error text Dapr gave, for classifying it: its message and body. */
  get detail(): string {
    return `${this.message} ${JSON.stringify(this.body ?? '')}`;
  }

  /** An ETag mismatch or first-write collision: re-read and try again. */
  get isConflict(): boolean {
    if (this.status === 409) return true;
    // Transactions report every store error as 500 ERR_STATE_TRANSACTION; the
    // store's message is the only way to tell a lost optimistic race
    // (PostgreSQL: "etag mismatch" / "no item was updated"; Redis's Lua
    // script: "failed to set key" / "failed to delete").
    const text = JSON.stringify(this.body ?? '');
    return /etag mismatch|no item was updated|ERR_STATE_ETAG|failed to set key|failed to delete/i.test(text);
  }
}

/** A call that got no answer from the sidecar: refused, cut, or not answered within the pool's timeouts. */
export function transportFailure(what: string, err: unknown, timeoutMs: number): DaprError {
  const {
    name = '',
    message = String(err),
    code = '',
    cause,
  } = err as { name?: string; message?: string; code?: string; cause?: { code?: string } };
  // undici's headersTimeout / bodyTimeout (no timer per request).
  if (/Timeout/.test(name)) return new DaprError('timeout', undefined, undefined, `${what}: no answer within ${timeoutMs} ms`);
  // undici names a refused connection in the cause, like fetch does.
  const refused = /ECONNREFUSED/.test(`${code} ${cause?.code ?? ''} ${message}`);
  return new DaprError('unreachable', undefined, undefined, `${what}: ${refused ? 'ECONNREFUSED ' : ''}${code} ${message}`.trim());
}

/**
 * Dapr's refusals of a service invocation that cannot have reached the
 * callee app: a circuit breaker that is open (or half-open and already
 * trying a call), no sidecar registered for the app id, an app its sidecar
 * knows to be unhealthy, or a connection to the app that was never made.
 * Dapr reports them all as 500 ERR_DIRECT_INVOKE; only the text tells them
 * apart (gobreaker's ErrOpenState/ErrTooManyRequests, the resolvers' "no
 * host", daprd's ErrAppUnhealthy/ErrChannelNotFound, Go's dial error).
 */
const NOT_SENT = [
  /circuit breaker is open/,
  /too many requests/,
  /no host found/,
  /couldn't find service/,
  /app is not in a healthy state/,
  /app channel is not initialized/,
  /dial tcp [^"]*connection refused/,
];
const BREAKER = /circuit breaker is open|too many requests/;

/**
 * How a failed service invocation ended, as far as the caller can know:
 * 'answered' (the callee app answered non-2xx: its answer stands),
 * 'not-sent' (refused before the app could see it: nothing was attempted),
 * or 'unknown' (a timeout, a connection lost mid-call: it may have been applied).
 */
export type InvocationOutcome = 'answered' | 'not-sent' | 'unknown';

export function invocationOutcome(err: unknown): InvocationOutcome {
  if (!(err instanceof DaprError)) return 'unknown';
  if (err.kind === 'app') return 'answered';
  // Our own sidecar refused the connection: nothing left this process.
  if (err.kind === 'unreachable' && /ECONNREFUSED/.test(err.message)) return 'not-sent';
  // Access control denies before the callee app is reached.
  if (err.kind === 'dapr' && err.status === 403) return 'not-sent';
  if (err.kind === 'dapr' && NOT_SENT.some((re) => re.test(err.detail))) return 'not-sent';
  return 'unknown';
}

/** A refusal by one of Dapr's circuit breakers (open, or half-open with its trial call out). */
export const isBreakerRefusal = (err: unknown): boolean => err instanceof DaprError && err.kind === 'dapr' && BREAKER.test(err.detail);

/**
 * Pauses between tries of a call Dapr refused before sending it: 3.5 s in
 * all, longer than name resolution keeps a sidecar that went away (2 s in the
 * local and test runs), so a call lands on a replica that is there; and many
 * short ones, since name resolution picks a replica at random each time.
 */
export const NOT_SENT_PAUSES_MS = [50, 100, 200, 300, 400, 500, 600, 650, 700];

/**
 * Makes a service invocation again while Dapr refuses it before sending it
 * (a replica that just went away, its app restarting): always safe, since the
 * callee never saw it. A read is made again too when the replica died while
 * answering it. A refusal by an open circuit breaker, and a timeout, are final.
 */
export async function retryNotSent<T>(
  call: () => Promise<T>,
  { read = false, pausesMs = NOT_SENT_PAUSES_MS }: { read?: boolean; pausesMs?: readonly number[] } = {},
): Promise<T> {
  for (let attempt = 0; ; attempt++) {
    try {
      return await call();
    } catch (err) {
      const outcome = invocationOutcome(err);
      const again = outcome === 'not-sent' || (read && outcome === 'unknown' && !isTimeout(err));
      if (attempt >= pausesMs.length || !again || isBreakerRefusal(err)) throw err;
      await new Promise((resolve) => setTimeout(resolve, pausesMs[attempt]));
    }
  }
}

/** No answer in time: ours (the fetch timed out) or Dapr's (its resiliency timeout). */
const isTimeout = (err: unknown) => err instanceof DaprError && (err.kind === 'timeout' || /deadline exceeded|timeout/i.test(err.detail));

/**
 * Runs a read-modify-write until it stops losing optimistic races (ETag
 * conflicts), with a short jittered pause between attempts.
 */
export async function retryOnConflict<T>(attempt: () => Promise<T>, maxAttempts = 10): Promise<T> {
  for (let i = 1; ; i++) {
    try {
      return await attempt();
    } catch (err) {
      if (!(err instanceof DaprError && err.isConflict) || i >= maxAttempts) throw err;
      await new Promise((resolve) => setTimeout(resolve, Math.random() * 20 * i));
    }
  }
}
