import { AsyncLocalStorage } from 'node:async_hooks';
import { randomBytes } from 'node:crypto';

/** W3C trace context of the request or event being handled. */
export interface TraceContext {
  traceparent: string;
  traceId: string;
}

const storage = new AsyncLocalStorage<TraceContext>();
const TRACEPARENT = /^00-([0-9a-f]{32})-([0-9a-f]{16})-([0-9a-f]{2})$/;

export function parseTraceparent(value: unknown): TraceContext | undefined {
  if (typeof value !== 'string') return undefined;
  const match = TRACEPARENT.exec(value.trim());
  if (!match || /^0+$/.test(match[1]!)) return undefined;
  return { traceparent: value.trim(), traceId: match[1]! };
}

export function newTraceContext(): TraceContext {
  const traceId = randomBytes(16).toString('hex');
  return { traceId, traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` };
}

export function runWithTrace<T>(trace: TraceContext, fn: () => T): T {
  return storage.run(trace, fn);
}

export function currentTrace(): TraceContext | undefined {
  return storage.getStore();
}
