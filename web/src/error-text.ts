import type { RetryNotice } from './api/client.js';
import { ApiError } from './api/errors.js';
import type { Messages } from './messages/en.js';
import type { Problem } from './recipe-form.js';

/** What to tell the member about a failed call. */
export function errorText(t: Messages, error: unknown): string {
  if (!(error instanceof ApiError)) return t.errorUnexpected;
  switch (error.kind) {
    case 'unavailable':
      return t.errorUnavailable;
    case 'outcome-unknown':
      return t.errorOutcomeUnknown;
    case 'too-many-requests':
      return t.errorTooMany;
    case 'network':
      return t.errorNetwork;
    case 'forbidden':
      return t.errorForbidden;
    case 'not-found':
      return t.errorNotFound;
    case 'conflict':
      return t.errorConflict;
    case 'validation':
      return t.errorInvalid(error.message);
    default:
      return t.errorUnexpected;
  }
}

/** The countdown line while the client waits to try again. */
export function retryText(t: Messages, notice: RetryNotice, secondsLeft: number): string {
  switch (notice.error.kind) {
    case 'unavailable':
      return t.retryUnavailable(secondsLeft);
    case 'outcome-unknown':
      return t.retryOutcomeUnknown(secondsLeft);
    case 'too-many-requests':
      return t.retryTooMany(secondsLeft);
    default:
      return t.retryNetwork(secondsLeft);
  }
}

/** A form field's problem, in words. */
export function problemText(t: Messages, problem: Problem): string {
  switch (problem.kind) {
    case 'required':
      return t.problemRequired;
    case 'tooLong':
      return t.problemTooLong(problem.max);
    case 'oneLine':
      return t.problemOneLine;
    case 'controlChars':
      return t.problemControlChars;
    case 'tooFewItems':
      return t.problemTooFewItems;
    case 'tooManyItems':
      return t.problemTooManyItems(problem.max);
    case 'api':
      return t.problemFromApi(problem.message);
  }
}
