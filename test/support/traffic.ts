import { randomUUID } from 'node:crypto';
import { recipeIdFor } from '../../services/myrecipe/src/domain.js';
import { memberClient, sampleRecipe, type MemberClient, type Reply } from './client.js';
import { sleep } from './processes.js';
import type { System } from './system.js';

/**
 * Background traffic for fault tests, with a client-side record of every
 * request's outcome: what the system acknowledged (2xx), what it refused
 * (4xx/5xx: by contract nothing changed), and what is uncertain (no answer).
 */
export interface TrafficRecord {
  /** recipeId -> author, for every 201. */
  registered: Map<string, string>;
  /** Ids whose registration was never acknowledged but may have committed (no answer). */
  maybeRegistered: Set<string>;
  /** Ids that must not exist: every attempt was refused and none succeeded. */
  refusedRegistrations: Set<string>;
  deleted: Set<string>;
  maybeDeleted: Set<string>;
  /** `${recipeId} ${member}` acknowledged (201/200). */
  recommended: Set<string>;
  maybeRecommended: Set<string>;
  statuses: Map<string, number>;
  requests: number;
}

export interface Traffic {
  record: TrafficRecord;
  /** Stops issuing new requests and waits for those in flight. */
  stop(): Promise<TrafficRecord>;
}

export interface TrafficOptions {
  members?: number;
  /** Pause between one member's requests. */
  pauseMs?: number;
  recommend?: boolean;
  remove?: boolean;
}

export function emptyRecord(): TrafficRecord {
  return {
    registered: new Map(),
    maybeRegistered: new Set(),
    refusedRegistrations: new Set(),
    deleted: new Set(),
    maybeDeleted: new Set(),
    recommended: new Set(),
    maybeRecommended: new Set(),
    statuses: new Map(),
    requests: 0,
  };
}

export async function startTraffic(
  system: System,
  { members = 4, pauseMs = 50, recommend = true, remove = true }: TrafficOptions = {},
): Promise<Traffic> {
  const record = emptyRecord();
  const runId = randomUUID().slice(0, 6);
  // Each member through a gateway replica of its own, as a load balancer would spread them.
  const clients = await Promise.all(
    Array.from({ length: members }, async (_, i) => {
      const id = `traffic-${runId}-${i}`;
      return { id, client: memberClient(system.gatewayUrls[i % system.gatewayUrls.length]!, await system.token(id)) };
    }),
  );
  let running = true;

  const send = async (fn: () => Promise<Reply>): Promise<Reply | undefined> => {
    record.requests++;
    try {
      const reply = await fn();
      const bucket = `${Math.floor(reply.status / 100)}xx:${reply.status}`;
      record.statuses.set(bucket, (record.statuses.get(bucket) ?? 0) + 1);
      return reply;
    } catch {
      record.statuses.set('no answer', (record.statuses.get('no answer') ?? 0) + 1);
      return undefined;
    }
  };

  async function register(member: { id: string; client: MemberClient }) {
    const key = randomUUID();
    const recipeId = recipeIdFor(member.id, key);
    // A client that honours Retry-After: the same key until acknowledged or the run ends.
    let unanswered = false;
    for (let attempt = 0; running || attempt === 0; attempt++) {
      const reply = await send(() =>
        member.client.post('/myrecipes', sampleRecipe(`Traffic ${key.slice(0, 8)}`), { headers: { 'idempotency-key': key } }),
      );
      if (reply?.status === 201) {
        record.registered.set(reply.body.recipeId, member.id);
        record.maybeRegistered.delete(recipeId);
        record.refusedRegistrations.delete(recipeId);
        return;
      }
      if (!reply || (reply.status >= 500 && reply.status !== 503)) unanswered = true;
      (unanswered ? record.maybeRegistered : record.refusedRegistrations).add(recipeId);
      if (unanswered) record.refusedRegistrations.delete(recipeId);
      await sleep(reply?.status === 503 || reply?.status === 429 ? 300 : 100);
    }
  }

  async function recommendOne(member: { id: string; client: MemberClient }) {
    const candidates = [...record.registered].filter(
      ([id, author]) => author !== member.id && !record.deleted.has(id) && !record.maybeDeleted.has(id),
    );
    if (candidates.length === 0) return;
    const [recipeId] = candidates[Math.floor(Math.random() * candidates.length)]!;
    const reply = await send(() => member.client.post(`/recipes/${recipeId}/recommendations`));
    const key = `${recipeId} ${member.id}`;
    if (reply?.status === 201 || reply?.status === 200) {
      record.recommended.add(key);
      record.maybeRecommended.delete(key);
    } else if (!reply || (reply.status >= 500 && reply.status !== 503)) {
      if (!record.recommended.has(key)) record.maybeRecommended.add(key);
    }
  }

  async function removeOne(member: { id: string; client: MemberClient }) {
    const own = [...record.registered].filter(
      ([id, author]) => author === member.id && !record.deleted.has(id) && !record.maybeDeleted.has(id),
    );
    if (own.length < 3) return;
    const [recipeId] = own[Math.floor(Math.random() * own.length)]!;
    const reply = await send(() => member.client.delete(`/myrecipes/${recipeId}`));
    if (reply?.status === 200) record.deleted.add(recipeId);
    else if (!reply || (reply.status >= 500 && reply.status !== 503)) record.maybeDeleted.add(recipeId);
  }

  const loops = clients.map(async (member) => {
    while (running) {
      const dice = Math.random();
      if (recommend && dice < 0.35) await recommendOne(member);
      else if (remove && dice < 0.45) await removeOne(member);
      else await register(member);
      await sleep(pauseMs);
    }
  });

  return {
    record,
    async stop() {
      running = false;
      await Promise.all(loops);
      return record;
    },
  };
}

export function describe(record: TrafficRecord): string {
  const statuses = [...record.statuses]
    .sort()
    .map(([k, v]) => `${k}=${v}`)
    .join(' ');
  return `${record.requests} requests (${statuses}); ${record.registered.size} registered, ${record.deleted.size} deleted, ${record.recommended.size} recommendations; uncertain: ${record.maybeRegistered.size} registrations, ${record.maybeDeleted.size} deletes, ${record.maybeRecommended.size} recommendations`;
}
