import { createClient } from 'redis';
import { checkInvariants } from '../../scripts/invariants.js';
import { memberClient } from './client.js';
import { eventually } from './processes.js';
import { checkTargets, type System } from './system.js';
import type { TrafficRecord } from './traffic.js';

/**
 * After the system has gone quiet: every acknowledged write is present
 * everywhere it should be, every refused one changed nothing, nothing exists
 * that no client asked for, balances reconcile, and no message is left
 * pending in the broker (nor dead-lettered).
 */
export async function verifyQuiet(system: System, record: TrafficRecord, { point = 1, timeoutMs = 90_000 } = {}): Promise<string[]> {
  await eventually(
    async () => {
      const report = await checkInvariants(checkTargets(system, point));
      return report.ok ? report : Promise.reject(new Error(report.problems.slice(0, 10).join('\n')));
    },
    { what: 'invariants after the system went quiet', timeoutMs, intervalMs: 1_000 },
  );

  const problems: string[] = [];
  const tokens = new Map<string, string>();
  const as = async (member: string) => {
    if (!tokens.has(member)) tokens.set(member, await system.token(member));
    return memberClient(system.gatewayUrl, tokens.get(member)!);
  };
  const reader = await as('verifier');
  const uncertain = (id: string) => record.maybeDeleted.has(id);

  const pages = new Map<string, Set<string>>();
  for (const member of new Set(record.registered.values())) {
    // My page comes a page at a time: follow the cursor to the end.
    const ids = new Set<string>();
    const client = await as(member);
    for (let cursor: string | null = null, first = true; first || cursor; first = false) {
      const page = await client.get(`/mypages/me?limit=100${cursor ? `&cursor=${encodeURIComponent(cursor)}` : ''}`);
      if (page.status !== 200) throw new Error(`${member}'s page: ${page.status} ${page.text}`);
      for (const r of page.body.recipes as { recipeId: string }[]) ids.add(r.recipeId);
      cursor = page.body.nextCursor as string | null;
    }
    pages.set(member, ids);
  }

  for (const [id, author] of record.registered) {
    if (uncertain(id)) continue;
    const live = !record.deleted.has(id);
    const [own, catalogue] = await Promise.all([(await as(author)).get(`/myrecipes/${id}`), reader.get(`/recipes/${id}`)]);
    const onPage = pages.get(author)!.has(id);
    const expected = live ? 200 : 404;
    if (own.status !== expected || catalogue.status !== expected || onPage !== live) {
      problems.push(
        `recipe ${id} (${live ? 'acknowledged' : 'deleted'}): myrecipe ${own.status}, recipe ${catalogue.status}, on my page ${onPage}`,
      );
      continue;
    }
    if (!live) continue;
    const confirmed = [...record.recommended].filter((k) => k.startsWith(`${id} `)).length;
    const maybe = [...record.maybeRecommended].filter((k) => k.startsWith(`${id} `)).length;
    const points = catalogue.body.points as number;
    if (points < confirmed * point || points > (confirmed + maybe) * point) {
      problems.push(`recipe ${id}: ${points} points for ${confirmed} acknowledged (+${maybe} uncertain) recommendations`);
    }
  }

  for (const id of record.refusedRegistrations) {
    const res = await reader.get(`/recipes/${id}`);
    if (res.status !== 404) problems.push(`recipe ${id}: its registration was refused, yet it exists (${res.status})`);
  }

  const known = new Set([...record.registered.keys(), ...record.maybeRegistered]);
  for (const member of new Set(record.registered.values())) {
    for (const id of pages.get(member)!) if (!known.has(id)) problems.push(`phantom recipe ${id} on the page of ${member}`);
  }

  // Redundant outbox copies of events may still be draining: give them time.
  const leftovers = await eventually(
    async () => {
      const found = await brokerLeftovers(system);
      return found.some((p) => p.includes('pending')) ? undefined : found;
    },
    { what: 'the broker to drain', timeoutMs, intervalMs: 1_000 },
  ).catch(async () => brokerLeftovers(system));
  problems.push(...leftovers);
  return problems;
}

/** Messages still pending in a consumer group, or sitting in a dead-letter topic. */
export async function brokerLeftovers(system: System): Promise<string[]> {
  const client = createClient({ socket: { host: system.backing.redis.host, port: system.backing.redis.port } });
  await client.connect();
  const problems: string[] = [];
  try {
    for await (const keys of client.scanIterator({ TYPE: 'stream', COUNT: 100 })) {
      for (const stream of keys) {
        if (stream.endsWith('-deadletter')) {
          const length = await client.xLen(stream);
          if (length > 0) problems.push(`${length} message(s) dead-lettered in ${stream}`);
          continue;
        }
        const groups = (await client.xInfoGroups(stream)) as { name: string; pending: number }[];
        for (const group of groups) {
          if (group.pending === 0) continue;
          const detail = await client.xPendingRange(stream, group.name, '-', '+', 5);
          const sample = detail
            .map((d) => `${d.id} idle ${Math.round(d.millisecondsSinceLastDelivery / 1000)} s, delivered ${d.deliveriesCounter}x`)
            .join('; ');
          problems.push(`${group.pending} message(s) pending in ${stream} for ${group.name} (${sample})`);
        }
      }
    }
  } finally {
    await client.quit();
  }
  return problems;
}
