/**
 * A client-side history of operations, in the style of Jepsen: every request
 * with when it started and ended, where it went and how it ended. An outcome
 * is 'ok' (2xx: it happened), 'refused' (503: by contract nothing changed),
 * 'rejected' (another 4xx: nothing changed), or 'unknown' (504, or no answer
 * after the request may have been sent: it may have happened).
 */
export type OpKind = 'register' | 'recommend' | 'delete' | 'read';
export type Outcome = 'ok' | 'refused' | 'rejected' | 'unknown';

export interface Op {
  kind: OpKind;
  member: string;
  /** The recipe it is about (for a registration: the id its Idempotency-Key gives). */
  recipeId: string;
  gateway: number;
  start: number;
  end: number;
  status?: number;
  outcome: Outcome;
  body?: any;
  /** For a registration: the Idempotency-Key. */
  key?: string;
  error?: string;
}

export interface Answer {
  status?: number;
  body?: any;
  retryAfter?: number;
  outcome: Outcome;
  /** The request never left this process (connection refused): safe to send again. */
  notSent: boolean;
  error?: string;
}

/** One HTTP request, classified. */
export async function send(
  url: string,
  method: string,
  token: string,
  options: { body?: unknown; headers?: Record<string, string>; timeoutMs?: number } = {},
): Promise<Answer> {
  try {
    const res = await fetch(url, {
      method,
      headers: {
        authorization: `Bearer ${token}`,
        ...(options.body === undefined ? {} : { 'content-type': 'application/json' }),
        ...options.headers,
      },
      body: options.body === undefined ? undefined : JSON.stringify(options.body),
      signal: AbortSignal.timeout(options.timeoutMs ?? 30_000),
    });
    const text = await res.text();
    let body: unknown;
    try {
      body = text ? JSON.parse(text) : undefined;
    } catch {
      body = text;
    }
    const outcome: Outcome = res.ok
      ? 'ok'
      : res.status === 503 || res.status === 429
        ? 'refused'
        : res.status >= 500
          ? 'unknown'
          : 'rejected';
    return { status: res.status, body, outcome, notSent: false, retryAfter: Number(res.headers.get('retry-after')) || undefined };
  } catch (err) {
    const code = (err as { cause?: { code?: string } }).cause?.code;
    const notSent = code === 'ECONNREFUSED';
    return { outcome: notSent ? 'refused' : 'unknown', notSent, error: `${code ?? ''} ${(err as Error).message}`.trim() };
  }
}

export function createHistory() {
  const ops: Op[] = [];
  return {
    ops,
    add(op: Op) {
      ops.push(op);
    },
    summary(): string {
      const counts = new Map<string, number>();
      for (const op of ops) {
        const k = `${op.kind} ${op.outcome}${op.status ? ` (${op.status})` : ''}`;
        counts.set(k, (counts.get(k) ?? 0) + 1);
      }
      return [...counts]
        .sort(([a], [b]) => a.localeCompare(b))
        .map(([k, v]) => `  ${k}: ${v}`)
        .join('\n');
    },
  };
}

export type History = ReturnType<typeof createHistory>;
