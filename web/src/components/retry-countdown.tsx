import type { RetryNotice } from '../api/client.js';
import { retryText } from '../error-text.js';
import { useI18n } from '../i18n.js';
import { Notice } from './notice.js';
import { useNow } from './use-now.js';

/** While the client waits out a Retry-After: what happened, and the seconds left until it tries again. */
export interface Waiting {
  notice: RetryNotice;
  /** When the next try starts (ms since the epoch). */
  until: number;
}

export const waitingFor = (notice: RetryNotice): Waiting => ({ notice, until: Date.now() + notice.seconds * 1000 });

export function RetryCountdown({ waiting }: { waiting: Waiting }) {
  const { t } = useI18n();
  const now = useNow(250);
  const left = Math.max(0, Math.ceil((waiting.until - now) / 1000));
  return <Notice tone="waiting">{retryText(t, waiting.notice, left)}</Notice>;
}
