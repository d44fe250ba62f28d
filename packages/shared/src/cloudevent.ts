import type { Context } from 'koa';
import { z } from 'zod';
import { AppError } from './errors.js';
import type { Logger } from './log.js';
import { parseTraceparent, runWithTrace } from './trace.js';

/** Thrown by a handler that expects to succeed on a later delivery (logged quietly). */
export class RetryLater extends Error {
  override name = 'RetryLater';
}

/** A delivered event, after its envelope and `data` passed validation. */
export interface Delivery<T> {
  id: string;
  topic: string;
  type: string;
  data: T;
}

const envelopeSchema = z.object({
  id: z.string().min(1).max(256),
  topic: z.string().optional(),
  type: z.string().optional(),
  data: z.unknown(),
  traceparent: z.string().optional(),
});

/**
 * Koa handler for a subscription. Dapr's reply contract: SUCCESS acks;
 * DROP sends the message to the dead-letter topic (it can never succeed);
 * RETRY hands it to the inbound retry policy. A handler that throws a 4xx
 * AppError is saying the event is wrong, not that it failed: DROP.
 */
export function topicHandler<T>(schema: z.ZodType<T>, handle: (data: T, delivery: Delivery<T>) => Promise<unknown>, log: Logger) {
  return async (ctx: Context) => {
    ctx.status = 200;
    const envelope = envelopeSchema.safeParse(ctx.request.body);
    const data = envelope.success ? schema.safeParse(envelope.data.data) : undefined;
    if (!envelope.success || !data?.success) {
      const issues = (envelope.success ? data?.error : envelope.error)?.issues.map((i) => `${i.path.join('.')}: ${i.message}`);
      log.warn({ issues, body: preview(ctx.request.body) }, 'malformed event dropped to the dead-letter topic');
      ctx.body = { status: 'DROP' };
      ctx.state.delivery = { topic: envelope.success ? (envelope.data.topic ?? 'unknown') : 'unknown', result: 'DROP' };
      return;
    }
    const { id, topic = '', type = '', traceparent } = envelope.data;
    const run = async () => {
      try {
        await handle(data.data, { id, topic, type, data: data.data });
        ctx.body = { status: 'SUCCESS' };
        ctx.state.delivery = { topic, result: 'SUCCESS' };
      } catch (err) {
        const permanent = err instanceof AppError && err.status < 500;
        if (err instanceof RetryLater) log.debug({ eventId: id, topic, reason: err.message }, 'event to retry later');
        else
          log[permanent ? 'warn' : 'error'](
            { err, eventId: id, topic },
            permanent ? 'event rejected, dropped' : 'event failed, will retry',
          );
        ctx.body = { status: permanent ? 'DROP' : 'RETRY' };
        ctx.state.delivery = { topic, result: permanent ? 'DROP' : 'RETRY' };
      }
    };
    const trace = parseTraceparent(traceparent);
    await (trace ? runWithTrace(trace, run) : run());
  };
}

function preview(body: unknown): string {
  const text = JSON.stringify(body) ?? '';
  return text.length > 500 ? `${text.slice(0, 500)}…` : text;
}
