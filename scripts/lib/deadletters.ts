// Dead letters: the events a subscriber dropped (answered DROP or 404, or
// that exhausted the inbound retry policy), which Dapr published to the
// subscription's `<topic>-deadletter` topic. Nothing subscribes to those
// topics; this lists them and re-drives chosen ones after a fix.
//
// Supported broker: Redis Streams (components/pubsub.yaml, the local default),
// read directly: each dead-letter topic is a stream whose entries carry the
// CloudEvent, as delivered, in their `data` field.
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { createClient } from 'redis';
import { parse, parseAllDocuments } from 'yaml';
import { ROOT } from './sidecar.js';

export interface DeadLetter {
  /** The topic the event was published to, and the dead-letter topic it landed on. */
  topic: string;
  deadLetterTopic: string;
  /** The stream entry (its first part is when it was dead-lettered, in ms since the epoch). */
  entryId: string;
  deadLetteredAt: Date;
  /** The CloudEvent's id: derived from what happened (`Registered:<recipeId>`), or an outbox attempt's. */
  eventId: string;
  type?: string;
  /** The CloudEvent as it was delivered. */
  raw: string;
}

/** The dead-letter topic of every subscription (components/subscriptions.yaml). */
export function deadLetterTopics(file = path.join(ROOT, 'components/subscriptions.yaml')): { topic: string; deadLetterTopic: string }[] {
  const topics = new Map<string, string>();
  for (const doc of parseAllDocuments(readFileSync(file, 'utf8'))) {
    const spec = (doc.toJS() as { spec?: { topic?: string; deadLetterTopic?: string } } | null)?.spec;
    if (spec?.topic && spec.deadLetterTopic) topics.set(spec.deadLetterTopic, spec.topic);
  }
  return [...topics].map(([deadLetterTopic, topic]) => ({ topic, deadLetterTopic }));
}

/**
 * The one app allowed to publish each topic, from the pub/sub component's
 * `publishingScopes` ("app=t1,t2;app2=t3"): a dead letter is re-driven
 * through its owner's sidecar, like any event of that topic.
 */
export function topicOwners(file = path.join(ROOT, 'components/pubsub.yaml')): Map<string, string> {
  const component = parse(readFileSync(file, 'utf8')) as { spec: { metadata: { name: string; value: string }[] } };
  const scopes = component.spec.metadata.find((m) => m.name === 'publishingScopes')?.value ?? '';
  const owners = new Map<string, string>();
  for (const part of scopes.split(';')) {
    const [app, topics = ''] = part.trim().split('=');
    for (const topic of topics.split(',').map((t) => t.trim())) {
      if (!app || !topic || topic.endsWith('-deadletter')) continue;
      if (owners.has(topic))
        throw new Error(`topic ${topic} has two publishers (${owners.get(topic)}, ${app}): no single owner to re-drive it`);
      owners.set(topic, app.trim());
    }
  }
  return owners;
}

type Redis = ReturnType<typeof createClient>;

async function withRedis<T>(url: string, use: (redis: Redis) => Promise<T>): Promise<T> {
  const redis = createClient({ url });
  await redis.connect();
  try {
    return await use(redis);
  } finally {
    await redis.quit();
  }
}

/** Every dead letter on the broker, oldest first. */
export function listDeadLetters(redisUrl: string): Promise<DeadLetter[]> {
  return withRedis(redisUrl, (redis) => readDeadLetters(redis));
}

async function readDeadLetters(redis: Redis): Promise<DeadLetter[]> {
  const letters: DeadLetter[] = [];
  for (const { topic, deadLetterTopic } of deadLetterTopics()) {
    if ((await redis.type(deadLetterTopic)) !== 'stream') continue;
    for (const entry of await redis.xRange(deadLetterTopic, '-', '+')) {
      const raw = entry.message.data ?? '';
      let event: { id?: unknown; type?: unknown } = {};
      try {
        event = JSON.parse(raw) as typeof event;
      } catch {
        // not a CloudEvent: listed by its entry id alone
      }
      letters.push({
        topic,
        deadLetterTopic,
        entryId: entry.id,
        deadLetteredAt: new Date(Number(entry.id.split('-')[0])),
        eventId: typeof event.id === 'string' ? event.id : `(no event id; entry ${entry.id})`,
        type: typeof event.type === 'string' ? event.type : undefined,
        raw,
      });
    }
  }
  return letters.sort((a, b) => a.deadLetteredAt.getTime() - b.deadLetteredAt.getTime());
}

/** Where to publish: each app's sidecar URL and that app's own Dapr API token. */
export interface Publishers {
  sidecars: Record<string, string>;
  tokens: Record<string, string | undefined>;
}

export interface Redriven {
  topic: string;
  eventId: string;
  owner: string;
  /** Dead-letter entries of this event removed (one per subscriber that dropped it). */
  entries: number;
}

/**
 * Publishes each chosen event again, unchanged (same CloudEvent, same id), to
 * its original topic through its owner's sidecar, then removes its
 * dead-letter entries. Every subscriber of the topic gets it again; each
 * handles an event it already handled as a no-op (the handlers are
 * idempotent per event), so re-driving twice, or dying between the publish
 * and the removal and re-driving again, changes nothing more.
 */
export async function redrive(
  redisUrl: string,
  eventIds: string[],
  publishers: Publishers,
): Promise<{ redriven: Redriven[]; missing: string[] }> {
  const owners = topicOwners();
  return withRedis(redisUrl, async (redis) => {
    const letters = (await readDeadLetters(redis)).filter((l) => eventIds.includes(l.eventId));
    const groups = new Map<string, DeadLetter[]>();
    for (const letter of letters) {
      const key = `${letter.topic}\n${letter.eventId}`;
      groups.set(key, [...(groups.get(key) ?? []), letter]);
    }
    const redriven: Redriven[] = [];
    for (const group of groups.values()) {
      const { topic, eventId, raw } = group[0]!;
      const owner = owners.get(topic);
      if (!owner) throw new Error(`no app publishes ${topic}: cannot re-drive ${eventId}`);
      const sidecar = publishers.sidecars[owner];
      if (!sidecar) throw new Error(`no sidecar of ${owner} (the publisher of ${topic}) to re-drive ${eventId} through`);
      const token = publishers.tokens[owner];
      const res = await fetch(`${sidecar}/v1.0/publish/pubsub/${encodeURIComponent(topic)}`, {
        method: 'POST',
        // A CloudEvent published as one keeps its id (Dapr sets only topic, pub/sub name and trace fields).
        headers: { 'content-type': 'application/cloudevents+json', ...(token ? { 'dapr-api-token': token } : {}) },
        body: raw,
        signal: AbortSignal.timeout(15_000),
      });
      if (!res.ok) throw new Error(`re-driving ${eventId} to ${topic} through ${owner}'s sidecar: ${res.status} ${await res.text()}`);
      await redis.xDel(
        group[0]!.deadLetterTopic,
        group.map((l) => l.entryId),
      );
      redriven.push({ topic, eventId, owner, entries: group.length });
    }
    return { redriven, missing: eventIds.filter((id) => !letters.some((l) => l.eventId === id)) };
  });
}

/**
 * Why an event was dropped, when a log says so: the first line of the local
 * run's logs (apps and sidecars) that names the event id and a drop. The
 * broker does not keep the reason.
 */
export function reasonFromLogs(logDir: string, eventId: string): string | undefined {
  if (!existsSync(logDir)) return undefined;
  for (const file of readdirSync(logDir).filter((f) => f.endsWith('.log'))) {
    for (const line of readFileSync(path.join(logDir, file), 'utf8').split('\n')) {
      if (!line.includes(eventId) || !/drop|dead.?letter|non-retriable|rejected/i.test(line)) continue;
      let text = line;
      try {
        const parsed = JSON.parse(line) as { msg?: string; err?: { message?: string } };
        text = [parsed.msg, parsed.err?.message].filter(Boolean).join(': ') || line;
      } catch {
        // a plain text line (daprd)
      }
      return `${file.replace(/\.log$/, '')}: ${text.slice(0, 300)}`;
    }
  }
  return undefined;
}
