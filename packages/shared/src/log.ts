import { pino, type Logger } from 'pino';
import { currentTrace } from './trace.js';

export type { Logger };

/** JSON logs on stdout; every line carries the trace id of the work in hand. */
export function createLogger(service: string, level: string): Logger {
  return pino({
    level,
    base: { service },
    timestamp: pino.stdTimeFunctions.isoTime,
    formatters: { level: (label) => ({ level: label }) },
    mixin() {
      const trace = currentTrace();
      return trace ? { traceId: trace.traceId } : {};
    },
  });
}
