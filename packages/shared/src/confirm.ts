import { retryOnConflict } from './dapr-errors.js';
import { AppError, outcomeUnknown, unavailable } from './errors.js';

export interface LostAnswer {
  /** Why the write failed: the cause of the 503 or 504. */
  cause: unknown;
  retryAfterSeconds: number;
  /** The 503's message when the write turns out not to have happened. */
  nothingChanged: string;
}

/**
 * A write failed, but not on a lost race: it may have committed all the same
 * (its answer was lost). `settle` reads the state and returns what the write
 * committed, or, when it did not, makes sure it never will (an ETag-guarded
 * write that fences it off) and returns undefined. Committed: its result.
 * Fenced off: 503, nothing changed. Could not tell: 504, outcome unknown.
 * An AppError thrown by `settle` is the answer as it is.
 */
export async function confirmAfterFailure<T>(
  settle: () => Promise<T | undefined>,
  { cause, retryAfterSeconds, nothingChanged }: LostAnswer,
): Promise<T> {
  let committed: T | undefined;
  try {
    committed = await retryOnConflict(settle);
  } catch (err) {
    throw err instanceof AppError ? err : outcomeUnknown(retryAfterSeconds, cause);
  }
  if (committed === undefined) throw unavailable(nothingChanged, retryAfterSeconds, cause);
  return committed;
}
