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
  ) {
    super(message);
    this.name = 'DaprError';
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

/** The SDK throws Error(JSON.stringify({ error, error_msg, status })) for non-2xx answers. */
export function toDaprError(what: string, err: unknown): DaprError {
  if (err instanceof DaprError) return err;
  const message = err instanceof Error ? err.message : String(err);
  let parsed: { status?: number; error_msg?: string } | undefined;
  try {
    parsed = JSON.parse(message) as typeof parsed;
  } catch {
    parsed = undefined;
  }
  if (parsed && typeof parsed.status === 'number') {
    const body = parseJson(parsed.error_msg);
    const fromApp = typeof body === 'object' && body !== null && 'error' in body;
    const kind: DaprErrorKind = fromApp ? 'app' : 'dapr';
    return new DaprError(kind, parsed.status, body, `${what}: ${parsed.status} ${truncate(parsed.error_msg ?? '')}`);
  }
  const code = (err as { code?: string }).code;
  return new DaprError('unreachable', undefined, undefined, `${what}: ${code ?? ''} ${truncate(message)}`.trim());
}

function parseJson(text: string | undefined): unknown {
  if (!text) return undefined;
  try {
    return JSON.parse(text);
  } catch {
    return text;
  }
}

function truncate(text: string, max = 300): string {
  return text.length > max ? `${text.slice(0, max)}…` : text;
}

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
