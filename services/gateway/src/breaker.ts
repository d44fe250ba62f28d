import { AppError, DaprError, invocationOutcome } from '@recipe/shared';

export interface BreakerOptions {
  /** Consecutive failures that open it. */
  failures: number;
  /** How long it stays open before one trial call may go through. */
  openMs: number;
  /** The answer while it is open (Retry-After is the time it stays open). */
  code: string;
  message: string;
  clock?: () => number;
}

export type CallVerdict = 'success' | 'failure' | 'neutral';

/**
 * What a call's outcome says about the service: a failure only if the
 * service failed (a 5xx it answered, a timeout, a refusal by Dapr). A
 * member's 4xx is the service working: neutral, so that nothing one member
 * sends can open the breaker for everyone. (Dapr's own breakers count every
 * non-2xx answer, 4xx included, which is why the gateway keeps its own.)
 */
export function verdictOf(err: unknown): CallVerdict {
  if (err === undefined) return 'success';
  if (err instanceof DaprError && invocationOutcome(err) === 'answered') return (err.status ?? 500) >= 500 ? 'failure' : 'neutral';
  if (err instanceof AppError) return err.status >= 500 ? 'failure' : 'neutral';
  return 'failure';
}

/**
 * A circuit breaker for one kind of call, in this replica: after `failures`
 * failures in a row, calls are refused at once for `openMs` (503 with a
 * Retry-After that covers it), then one trial call decides: success closes
 * it, failure opens it again.
 */
export function createBreaker({ failures, openMs, code, message, clock = Date.now }: BreakerOptions) {
  let consecutive = 0;
  let openUntil = 0;
  let trialOut = false;

  const refuse = (retryAfterMs: number) =>
    new AppError(503, code, message, { retryAfterSeconds: Math.max(1, Math.ceil(retryAfterMs / 1000)) });

  return {
    /** Admits a call or throws the 503; the returned function takes the call's verdict. */
    admit(): (verdict: CallVerdict) => void {
      const now = clock();
      const trial = openUntil > 0;
      if (trial && now < openUntil) throw refuse(openUntil - now);
      // Half-open: one trial at a time; the others are told when the trial must be over.
      if (trial && trialOut) throw refuse(1_000);
      if (trial) trialOut = true;
      return (verdict) => {
        if (trial) trialOut = false;
        if (verdict === 'failure') {
          consecutive++;
          if (trial || consecutive >= failures) {
            openUntil = clock() + openMs;
            consecutive = 0;
          }
        } else if (verdict === 'success' || trial) {
          // A 4xx from a trial call still shows the service is answering.
          consecutive = 0;
          openUntil = 0;
        }
      };
    },
    get state(): 'closed' | 'open' | 'half-open' {
      if (openUntil === 0) return 'closed';
      return clock() < openUntil ? 'open' : 'half-open';
    },
  };
}

export type Breaker = ReturnType<typeof createBreaker>;
