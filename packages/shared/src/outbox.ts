import { z } from 'zod';
import type { Sidecar, StateOperation } from './dapr.js';
import type { OutgoingEvent } from './events.js';
import type { Logger } from './log.js';
import type { Delivery } from './cloudevent.js';
import { AppError } from './errors.js';

/**
 * Dapr's transactional outbox publishes every upsert of a transaction to the
 * state store's single `outboxPublishTopic` (dapr#7964: one topic per store),
 * about a second after the commit (dapr#8233). So each service's outbox topic
 * carries envelopes naming the real topic, and the service relays them.
 */
export const outboxTopic = (appId: string) => `${appId}-outbox`;

export const outboxEnvelopeSchema = z.object({
  topic: z.string().min(1),
  id: z.string().min(1),
  data: z.record(z.string(), z.unknown()),
});

export interface EventCommitter {
  /**
   * Commits `operations` and `event` atomically. `projectionKey` must be the
   * key of exactly one upsert in `operations`: every upsert in an outbox
   * transaction is published, and the projection replaces that one's payload
   * with the event.
   */
  commit(operations: StateOperation[], projectionKey: string, event: OutgoingEvent): Promise<void>;
}

export interface EventCommitterOptions {
  sidecar: Sidecar;
  store: string;
  pubsub: string;
  log: Logger;
  /** Publish right after the commit too, so subscribers need not wait for the outbox. */
  directPublish: boolean;
}

export function createEventCommitter({ sidecar, store, pubsub, log, directPublish }: EventCommitterOptions): EventCommitter {
  return {
    async commit(operations, projectionKey, event) {
      const upserts = operations.filter((op) => op.operation === 'upsert');
      if (upserts.length !== 1 || upserts[0]!.key !== projectionKey) {
        throw new Error('an outbox transaction needs exactly one upsert, the one the event projects');
      }
      const projection: StateOperation = {
        operation: 'upsert',
        key: projectionKey,
        value: { topic: event.topic, id: event.id, data: event.data },
        // Without a content type Dapr formats the payload with Go's %v, not JSON.
        metadata: { 'outbox.projection': 'true', contentType: 'application/json' },
      };
      // The projection goes last: daprd removes projections from the slice it
      // is ranging over, which skips the element after a removed one.
      await sidecar.transaction(store, [...operations, projection]);
      if (!directPublish) return;
      // Safe to lose: the outbox publishes the same event (same id) shortly.
      await sidecar.publish(pubsub, event.topic, event.data, { id: event.id }).catch((err) => {
        log.warn({ err, eventId: event.id }, 'direct publish failed; the outbox will deliver the event');
      });
    },
  };
}

/** Handles the outbox topic: republish each envelope to its own topic, keeping its id. */
export function outboxRelay(sidecar: Sidecar, pubsub: string, allowedTopics: readonly string[]) {
  return async ({ data: envelope }: Delivery<z.infer<typeof outboxEnvelopeSchema>>) => {
    if (!allowedTopics.includes(envelope.topic)) {
      throw new AppError(400, 'OUTBOX.UNKNOWN_TOPIC', `outbox envelope for unexpected topic ${envelope.topic}`);
    }
    await sidecar.publish(pubsub, envelope.topic, envelope.data, { id: envelope.id });
  };
}
