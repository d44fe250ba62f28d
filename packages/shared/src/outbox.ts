import { z } from 'zod';
import { RetryLater, type Delivery } from './cloudevent.js';
import type { Sidecar, StateOperation } from './dapr.js';
import { AppError } from './errors.js';
import type { OutgoingEvent } from './events.js';
import type { Logger } from './log.js';

/**
 * The transactional outbox, done in the app with Dapr's state transactions
 * and pub/sub. Dapr 1.18.3's built-in outbox is not used: when its
 * transaction fails (an ETag conflict, a database outage) daprd retries its
 * internal message forever in a tight loop (pkg/runtime/pubsub/outbox.go
 * builds backoff.ExponentialBackOff without `Stop`), it holds every event a
 * second, and it has one topic per store. The algorithm is the same:
 *
 * 1. publish an intent (the key of the outbox record to come) to the app's own
 *    outbox topic;
 * 2. commit the state change and the outbox record (the event) in one
 *    transaction;
 * 3. publish the event directly: the fast path.
 *
 * The app's subscription to its outbox topic (relay) publishes the event of
 * every committed record again (same event id: subscribers drop duplicates)
 * and drops intents whose transaction never committed. A crash after 2 still
 * gets the event out; a crash before 2 leaves an intent that is dropped.
 */
export const outboxTopic = (appId: string) => `${appId}-outbox`;

export const outboxIntentSchema = z.object({
  key: z.string().regex(/^outbox:/),
  createdAt: z.iso.datetime(),
});

type OutboxIntent = z.infer<typeof outboxIntentSchema>;

interface OutboxRecord {
  topic: string;
  id: string;
  data: Record<string, unknown>;
}

export interface OutboxOptions {
  sidecar: Sidecar;
  store: string;
  pubsub: string;
  appId: string;
  log: Logger;
  /** Topics this app's events may go to. */
  topics: readonly string[];
  /** Publish right after the commit too, so subscribers need not wait for the relay. */
  directPublish: boolean;
  clock?: () => Date;
  /** An intent with no record after this long belongs to a transaction that failed. */
  discardAfterMs?: number;
  /** Outbox records expire after this (long after the relay has used them). */
  recordTtlSeconds?: number;
}

export interface Outbox {
  /** Commits `operations` and `event` atomically (see above). */
  commit(operations: StateOperation[], event: OutgoingEvent): Promise<void>;
  /** Handles the app's outbox topic. */
  relay(delivery: Delivery<OutboxIntent>): Promise<void>;
}

export function createOutbox(options: OutboxOptions): Outbox {
  const { sidecar, store, pubsub, appId, log, topics, directPublish } = options;
  const clock = options.clock ?? (() => new Date());
  const discardAfterMs = options.discardAfterMs ?? 60_000;
  const recordTtl = String(options.recordTtlSeconds ?? 86_400);

  return {
    async commit(operations, event) {
      const key = `outbox:${event.id}`;
      const record: OutboxRecord = { topic: event.topic, id: event.id, data: event.data };
      await sidecar.publish(pubsub, outboxTopic(appId), { key, createdAt: clock().toISOString() } satisfies OutboxIntent);
      await sidecar.transaction(store, [...operations, { operation: 'upsert', key, value: record, metadata: { ttlInSeconds: recordTtl } }]);
      if (!directPublish) return;
      // Safe to lose: the relay publishes the same event (same id) shortly.
      await sidecar.publish(pubsub, event.topic, event.data, { id: event.id }).catch((err) => {
        log.warn({ err, eventId: event.id }, 'direct publish failed; the outbox relay will deliver the event');
      });
    },

    async relay({ data: intent }) {
      const record = (await sidecar.getState<OutboxRecord>(store, intent.key))?.value;
      if (!record) {
        if (clock().getTime() - Date.parse(intent.createdAt) < discardAfterMs) throw new RetryLater(`${intent.key} not committed yet`);
        log.info({ key: intent.key }, 'outbox intent without a record: its transaction never committed, dropped');
        return;
      }
      if (!topics.includes(record.topic)) throw new AppError(400, 'OUTBOX.UNKNOWN_TOPIC', `outbox record for unexpected topic ${record.topic}`);
      await sidecar.publish(pubsub, record.topic, record.data, { id: record.id });
    },
  };
}
