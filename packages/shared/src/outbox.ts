import { randomUUID } from 'node:crypto';
import { z } from 'zod';
import { RetryLater } from './cloudevent.js';
import type { Sidecar } from './dapr.js';
import type { OutgoingEvent, Topic } from './events.js';
import type { Logger } from './log.js';
import type { ServiceDeps } from './service.js';

/**
 * The transactional outbox, without outbox records: every event is derived
 * from the state it describes, so it exists exactly when that state does.
 *
 * 1. Before a change, the app publishes an *intent* to its outbox topic: the
 *    id of this attempt and what it is about (a topic and subject ids).
 * 2. It commits the change: one ETag-guarded write of one record, or one
 *    atomic transaction. Nothing else is written for the event, so a write
 *    that loses its ETag race leaves nothing behind (state.redis applies the
 *    other operations of a transaction whose ETag check failed: Redis has no
 *    rollback).
 * 3. Any replica's relay receives the intent and *settles* it by reading the
 *    state: the change is there, so it publishes the event, built from the
 *    state (every copy of an event carries the same data); the attempt ended
 *    without it, so there is nothing to publish (and whatever the attempt
 *    started elsewhere is undone); or it is still undecided.
 *
 * One delivery per event in the normal case, and no RETRY on the outbox
 * topic: the relay waits a short, bounded time for the commit (in-process,
 * at once, when the intent reaches the replica that is committing). An intent
 * still undecided after that moves to `<app>-outbox-late`, so that a slow or
 * failed attempt never holds up the events behind it (on Kafka a consumer
 * handles a partition one message at a time, retries inline). There it is
 * retried until it settles or its attempt is abandoned: after `settleAfterMs`
 * the resolver fences the attempt off (an ETag-guarded write that makes any
 * write still in flight for it fail) and declares it void.
 */
const outboxTopic = (appId: string) => `${appId}-outbox`;
const lateOutboxTopic = (appId: string) => `${appId}-outbox-late`;

export const intentSchema = z.strictObject({
  /** This attempt; fences and holds name it. */
  id: z.uuid(),
  topic: z.enum(['Registered', 'Recommended', 'Deleted']),
  /** The ids the resolver needs to find the state (recipeId, memberId…). */
  subject: z.record(z.string().regex(/^[a-z][A-Za-z]{0,31}$/), z.string().max(256)),
  createdAt: z.iso.datetime(),
});

export type Intent = z.infer<typeof intentSchema>;

export type Settlement =
  /** The change is in the state: publish this event (built from the state). */
  | { kind: 'committed'; event: OutgoingEvent }
  /** The attempt ended without the change, and nothing it started is left over. */
  | { kind: 'void' }
  /** Not decided yet: the attempt may still commit. */
  | { kind: 'pending' };

/** What an app knows about its own intents. */
export interface IntentResolver {
  /** Reads the state: did this attempt's change commit? May undo what a void attempt left (idempotently). */
  settle(intent: Intent): Promise<Settlement>;
  /**
   * The attempt has had its time: make sure it never commits (fence it off
   * with an ETag-guarded write), undo what it started, and say what it came
   * to. Returns 'committed' if it turns out the change got in first.
   */
  abandon(intent: Intent): Promise<Settlement>;
}

export interface OutboxOptions {
  sidecar: Sidecar;
  pubsub: string;
  appId: string;
  log: Logger;
  resolver: IntentResolver;
  clock?: () => Date;
  /** How long the relay waits on the outbox topic before moving an intent to the late topic. */
  inlineWaitMs?: number;
  /** After this, an undecided attempt is abandoned (fenced off). Longer than any request can run. */
  settleAfterMs?: number;
}

export interface Outbox {
  /** Announces an attempt to change the state (step 1): publish before writing. */
  intend(topic: Topic, subject: Record<string, string>): Promise<Intent>;
  /** The attempt is over (committed or not): a relay in this process waiting for it looks now. */
  finished(intent: Intent): void;
  /** Handles `<app>-outbox`: settles within a bounded wait, else hands the intent to the late topic. */
  relay: (intent: Intent) => Promise<void>;
  /** Handles `<app>-outbox-late`: settles, or abandons the attempt once it is old enough. */
  relayLate: (intent: Intent) => Promise<void>;
}

/** Pauses between the relay's looks at the state while it waits for a commit (ms). */
const POLL_PAUSES = [5, 10, 20, 40, 80, 160, 320];

export function createOutbox(options: OutboxOptions): Outbox {
  const { sidecar, pubsub, appId, log, resolver } = options;
  const clock = options.clock ?? (() => new Date());
  const inlineWaitMs = options.inlineWaitMs ?? 1_000;
  const settleAfterMs = options.settleAfterMs ?? 30_000;
  /** Attempts running in this process, and the relays waiting for them. */
  const running = new Map<string, { done: Promise<void>; finish: () => void }>();

  const publish = (event: OutgoingEvent) => sidecar.publish(pubsub, event.topic, event.data, { id: event.id });

  /** Resolves when the attempt finishes in this process, or after `ms`. */
  const pause = (intent: Intent, ms: number) => {
    const local = running.get(intent.id);
    return Promise.race([new Promise((resolve) => setTimeout(resolve, ms)), local?.done]);
  };

  async function settleWithin(intent: Intent, budgetMs: number): Promise<Settlement> {
    const started = Date.now();
    for (let i = 0; ; i++) {
      // The intent usually arrives before the commit: look after the first pause.
      await pause(intent, POLL_PAUSES[Math.min(i, POLL_PAUSES.length - 1)]!);
      const settlement = await resolver.settle(intent);
      if (settlement.kind !== 'pending' || Date.now() - started >= budgetMs) return settlement;
    }
  }

  async function conclude(intent: Intent, settlement: Settlement): Promise<boolean> {
    if (settlement.kind === 'pending') return false;
    if (settlement.kind === 'committed') await publish(settlement.event);
    return true;
  }

  return {
    async intend(topic, subject) {
      const intent: Intent = { id: randomUUID(), topic, subject, createdAt: clock().toISOString() };
      await sidecar.publish(pubsub, outboxTopic(appId), intent);
      let finish!: () => void;
      const done = new Promise<void>((resolve) => (finish = resolve));
      running.set(intent.id, { done, finish });
      // Forgotten after the settle time even if nobody says it finished.
      setTimeout(() => running.delete(intent.id), settleAfterMs).unref();
      return intent;
    },

    finished(intent) {
      running.get(intent.id)?.finish();
      running.delete(intent.id);
    },

    relay: async (intent) => {
      const settlement = await settleWithin(intent, inlineWaitMs).catch((err) => {
        log.warn({ err, intent }, 'could not settle an outbox intent; handing it to the late topic');
        return { kind: 'pending' } as const;
      });
      if (await conclude(intent, settlement)) return;
      await sidecar.publish(pubsub, lateOutboxTopic(appId), intent);
    },

    relayLate: async (intent) => {
      if (await conclude(intent, await resolver.settle(intent))) return;
      const age = clock().getTime() - Date.parse(intent.createdAt);
      if (age < settleAfterMs) throw new RetryLater(`attempt ${intent.id} (${intent.topic}) undecided after ${age} ms`);
      const outcome = await resolver.abandon(intent);
      log.info({ intent, outcome: outcome.kind }, 'outbox intent settled after its attempt was abandoned');
      if (!(await conclude(intent, outcome))) throw new RetryLater(`attempt ${intent.id} could not be abandoned yet`);
    },
  };
}

/** The settings of a service that runs an outbox (see outboxConfigShape). */
export interface OutboxConfig {
  APP_ID: string;
  PUBSUB_NAME: string;
  OUTBOX_SETTLE_AFTER_SECONDS: number;
}

/**
 * A service's outbox, as its configuration describes it. The resolver is
 * looked up when the relay first needs it: it belongs to the use cases, which
 * are built with the outbox.
 */
export function serviceOutbox(config: OutboxConfig, { sidecar, log }: ServiceDeps, resolver: () => IntentResolver): Outbox {
  return createOutbox({
    sidecar,
    pubsub: config.PUBSUB_NAME,
    appId: config.APP_ID,
    log,
    resolver: { settle: (intent) => resolver().settle(intent), abandon: (intent) => resolver().abandon(intent) },
    settleAfterMs: config.OUTBOX_SETTLE_AFTER_SECONDS * 1000,
  });
}
