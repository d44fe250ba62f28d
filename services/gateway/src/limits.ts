import { AppError, type Logger } from '@recipe/shared';
import type { Context, Next } from 'koa';
import { createClient } from 'redis';

/**
 * A bulkhead: at most `max` requests of a kind in flight in this replica. The
 * rest are turned away at once with 503 and Retry-After instead of queueing
 * behind a service that is already saturated.
 */
export function concurrencyLimit(max: number, retryAfterSeconds: number, message: string) {
  let inFlight = 0;
  return async (_ctx: Context, next: Next) => {
    if (inFlight >= max) throw new AppError(503, 'SERVICE.OVERLOADED', message, { retryAfterSeconds });
    inFlight++;
    try {
      await next();
    } finally {
      inFlight--;
    }
  };
}

export interface RateLimiter {
  middleware: (ctx: Context, next: Next) => Promise<void>;
  close: () => Promise<void>;
}

export interface RateLimitOptions {
  redisUrl: string;
  limit: number;
  windowSeconds: number;
  log: Logger;
}

/**
 * Per-member fixed-window rate limit, counted in Redis so that every gateway
 * replica shares it. If Redis is unavailable the limit is not enforced
 * (logged): members keep being served rather than all being refused.
 */
export function createRateLimiter({ redisUrl, limit, windowSeconds, log }: RateLimitOptions): RateLimiter {
  const client = createClient({
    url: redisUrl,
    socket: { connectTimeout: 1_000, reconnectStrategy: (retries) => Math.min(retries * 200, 2_000) },
  });
  client.on('error', (err) => log.debug({ err }, 'rate limit redis error'));
  client.connect().catch((err) => log.warn({ err }, 'rate limit redis not reachable yet'));

  async function count(memberId: string, window: number): Promise<number | undefined> {
    if (!client.isReady) return undefined;
    const key = `gateway:ratelimit:${memberId}:${window}`;
    const replies = await Promise.race([
      client
        .multi()
        .incr(key)
        .expire(key, windowSeconds * 2)
        .exec(),
      new Promise<undefined>((resolve) => setTimeout(resolve, 250)),
    ]);
    return replies ? Number(replies[0]) : undefined;
  }

  return {
    middleware: async (ctx, next) => {
      const now = Date.now() / 1000;
      const window = Math.floor(now / windowSeconds);
      const used = await count(ctx.state.memberId as string, window).catch((err) => {
        log.warn({ err }, 'rate limit not checked');
        return undefined;
      });
      if (used !== undefined && used > limit) {
        const retryAfterSeconds = Math.max(1, Math.ceil((window + 1) * windowSeconds - now));
        throw new AppError(429, 'RATE.LIMITED', `too many requests: at most ${limit} every ${windowSeconds} s, please retry later`, {
          retryAfterSeconds,
        });
      }
      await next();
    },
    close: async () => {
      if (client.isOpen) await client.quit().catch(() => undefined);
    },
  };
}
