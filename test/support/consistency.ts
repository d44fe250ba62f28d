import { randomUUID } from 'node:crypto';
import pg from 'pg';
import { checkInvariants, readCatalogue } from '../../scripts/invariants.js';
import { recipeIdFor } from '../../services/myrecipe/src/domain.js';
import { sampleRecipe } from './client.js';
import { createHistory, send, type Answer, type History, type Op, type OpKind } from './history.js';
import { eventually, sleep } from './processes.js';
import { checkTargets, APP_IDS, type AppId, type System } from './system.js';
import { brokerLeftovers } from './verify.js';

/**
 * A consistency run in the style of Jepsen's bank and set checkers: members
 * register, recommend the same few recipes and delete their own, through
 * either gateway replica, retrying as a careful client would (the same
 * Idempotency-Key, a delete again through the other gateway after a 504),
 * while a nemesis kills (SIGKILL) and restarts one replica of each service
 * in turn, and one sidecar. Every request goes into a history; the checker
 * then compares the history with what the stores hold once the system is
 * quiet, and watches one rule continuously: no recommendation of a recipe
 * is accepted after its delete was acknowledged.
 */
export interface RunOptions {
  durationMs: number;
  members?: number;
  log?: (line: string) => void;
  /** Where members send their requests (default: straight to the gateway replicas). */
  entry?: () => string[];
  /** What goes wrong during the run (default: replicas and a sidecar killed in turn); returns what it did. */
  nemesis?: (durationMs: number, log: (line: string) => void) => Promise<string[]>;
}

export interface RunResult {
  history: History;
  faults: string[];
  anomalies: Map<string, string[]>;
  summary: string;
}

const pick = <T>(items: readonly T[]): T | undefined => items[Math.floor(Math.random() * items.length)];

export async function consistencyRun(
  system: System,
  { durationMs, members = 10, log = () => undefined, entry, nemesis = (ms, say) => killInTurn(system, ms, say) }: RunOptions,
): Promise<RunResult> {
  const history = createHistory();
  const gateways = entry ?? (() => system.gatewayUrls);
  const people = await Promise.all(
    Array.from({ length: members }, async (_, i) => ({ id: `cons-${randomUUID().slice(0, 6)}-${i}`, token: '' })),
  );
  for (const p of people) p.token = await system.token(p.id);
  /** Recipes each member believes live (acknowledged, not deleted). */
  const own = new Map(people.map((p) => [p.id, new Set<string>()]));
  /** Recently registered recipes: everybody recommends these. */
  const hot: { recipeId: string; author: string }[] = [];
  const keys: { key: string; member: string; recipeId: string }[] = [];
  let running = true;

  async function request(
    kind: OpKind,
    member: { id: string; token: string },
    recipeId: string,
    method: string,
    path: string,
    options: { body?: unknown; headers?: Record<string, string>; key?: string; gateway?: number } = {},
  ): Promise<Answer & { gateway: number }> {
    const gateway = options.gateway ?? Math.floor(Math.random() * gateways().length);
    const start = Date.now();
    const answer = await send(`${gateways()[gateway]}${path}`, method, member.token, options);
    const op: Op = {
      kind,
      member: member.id,
      recipeId,
      gateway,
      start,
      end: Date.now(),
      status: answer.status,
      outcome: answer.outcome,
      body: answer.body,
      key: options.key,
      error: answer.error,
    };
    history.add(op);
    return { ...answer, gateway };
  }
  const other = (gateway: number) => (gateway + 1) % gateways().length;
  // (With one entry point, "the other gateway" is the same load balancer.)
  const backoff = (answer: Answer) => sleep(Math.min((answer.retryAfter ?? 0.2) * 1000, 1_500));

  async function register(member: { id: string; token: string }) {
    // Now and then a key that already worked, as a client retrying after a lost answer would.
    const reused = Math.random() < 0.1 ? pick(keys.filter((k) => k.member === member.id)) : undefined;
    const key = reused?.key ?? randomUUID();
    const recipeId = recipeIdFor(member.id, key);
    let gateway: number | undefined;
    for (let attempt = 0; attempt < 20 && (running || attempt === 0); attempt++) {
      const answer = await request('register', member, recipeId, 'POST', '/myrecipes', {
        body: sampleRecipe(`Run ${key.slice(0, 6)}`),
        headers: { 'idempotency-key': key },
        key,
        gateway,
      });
      if (answer.outcome === 'ok') {
        if (!reused) {
          own.get(member.id)!.add(recipeId);
          keys.push({ key, member: member.id, recipeId });
          hot.push({ recipeId, author: member.id });
          if (hot.length > 8) hot.shift();
        }
        return;
      }
      if (answer.outcome === 'rejected') return;
      // Unknown, or refused: the same key again, through the other gateway when this one did not answer.
      gateway = answer.notSent || answer.outcome === 'unknown' ? other(answer.gateway) : answer.gateway;
      if (!answer.notSent) await backoff(answer);
    }
  }

  async function recommend(member: { id: string; token: string }) {
    const target = pick(hot.filter((h) => h.author !== member.id));
    if (!target) return;
    let gateway: number | undefined;
    for (let attempt = 0; attempt < 3; attempt++) {
      const answer = await request('recommend', member, target.recipeId, 'POST', `/recipes/${target.recipeId}/recommendations`, {
        gateway,
      });
      if (answer.outcome !== 'unknown' && !answer.notSent) return;
      gateway = other(answer.gateway);
    }
  }

  async function remove(member: { id: string; token: string }) {
    const mine = own.get(member.id)!;
    const recipeId = pick([...mine]);
    if (!recipeId) return;
    let gateway: number | undefined;
    for (let attempt = 0; attempt < 10 && (running || attempt === 0); attempt++) {
      const answer = await request('delete', member, recipeId, 'DELETE', `/myrecipes/${recipeId}`, { gateway });
      if (answer.outcome === 'ok' || answer.outcome === 'rejected') {
        mine.delete(recipeId);
        return;
      }
      if (answer.outcome === 'refused' && !answer.notSent) return; // nothing changed: maybe later
      // No answer, or a 504: the same delete again, through the other gateway replica.
      gateway = other(answer.gateway);
      await sleep(200);
    }
  }

  async function read(member: { id: string; token: string }) {
    await request('read', member, '', 'GET', '/mypages/me');
  }

  const loops = people.map(async (member) => {
    while (running) {
      const dice = Math.random();
      if (dice < 0.3) await register(member);
      else if (dice < 0.75) await recommend(member);
      else if (dice < 0.9) await remove(member);
      else await read(member);
      await sleep(20 + Math.random() * 30);
    }
  });

  const faults = await nemesis(durationMs, log);
  running = false;
  await Promise.all(loops);
  log(`traffic stopped after ${history.ops.length} operations`);
  const anomalies = await check(system, history, log);
  const summary = [
    `operations by outcome:\n${history.summary()}`,
    `faults injected:\n${faults.map((f) => `  ${f}`).join('\n')}`,
    `anomalies: ${anomalies.size === 0 ? 'none' : ''}`,
    ...[...anomalies].map(
      ([kind, list]) =>
        `  ${kind}: ${list.length}\n${list
          .slice(0, 5)
          .map((l) => `    ${l}`)
          .join('\n')}`,
    ),
  ].join('\n');
  return { history, faults, anomalies, summary };
}

/**
 * Kills (SIGKILL) and restarts one replica of each service in turn, and
 * once a sidecar, spread over the run; then waits for the rest of it.
 */
async function killInTurn(system: System, durationMs: number, log: (line: string) => void): Promise<string[]> {
  const order: AppId[] = ['recipe', 'myrecipe', 'mypage', 'gateway'];
  const steps: Step[] = [];
  for (const [round, replica] of [0, 1].entries()) {
    for (const appId of order) {
      steps.push({
        what: `${appId} replica ${replica}: app SIGKILLed, restarted`,
        act: async () => {
          const target = system.replicas[appId][replica]!;
          await target.stopApp('SIGKILL');
          await sleep(2_000);
          await target.startApp();
        },
      });
    }
    if (round === 0) {
      steps.push({
        what: 'recipe replica 1: sidecar SIGKILLed, restarted',
        act: async () => {
          const target = system.replicas.recipe[1]!;
          await target.stopSidecar('SIGKILL');
          await sleep(2_000);
          await target.startSidecar();
        },
      });
    }
  }
  return runSpread(steps, durationMs, log);
}

export interface Step {
  what: string;
  act: () => Promise<void>;
}

/** Runs the steps one after another, spread evenly over the run; returns what was done. */
export async function runSpread(steps: Step[], durationMs: number, log: (line: string) => void): Promise<string[]> {
  const started = Date.now();
  const every = durationMs / (steps.length + 1);
  const done: string[] = [];
  for (const [i, step] of steps.entries()) {
    const at = started + every * (i + 1);
    if (at > Date.now()) await sleep(at - Date.now());
    log(`fault: ${step.what}`);
    await step.act();
    done.push(step.what);
  }
  if (started + durationMs > Date.now()) await sleep(started + durationMs - Date.now());
  return done;
}

export interface Written {
  recipeId: string;
  memberId: string;
  deletedAt?: string;
  voidedAt?: string;
  pointsRevoked?: number;
}

export interface Catalogued {
  recipeId: string;
  points: number;
  recommendations: { by: string; points: number }[];
  deletedAt?: string;
  holds?: Record<string, string>;
}

async function readMyrecipe(system: System): Promise<Map<string, Written>> {
  const client = new pg.Client({ connectionString: system.backing.db.url });
  await client.connect();
  try {
    const { rows } = await client.query<{ value: Buffer }>("SELECT value FROM myrecipe_state WHERE key LIKE 'myrecipe||recipe:%'");
    return new Map(rows.map((r) => JSON.parse(r.value.toString('utf8')) as Written).map((w) => [w.recipeId, w]));
  } finally {
    await client.end();
  }
}

/** Waits for the system to go quiet, then compares the history with the stores. */
export async function check(system: System, history: History, log: (line: string) => void): Promise<Map<string, string[]>> {
  const anomalies = new Map<string, string[]>();
  const flag = (kind: string, detail: string) => anomalies.set(kind, [...(anomalies.get(kind) ?? []), detail]);

  // Quiet: every replica running, every intent settled, every event applied.
  for (const appId of APP_IDS)
    for (const replica of system.replicas[appId])
      if (replica.app.child.exitCode !== null || replica.app.child.signalCode) await replica.startApp();
  const report = await eventually(
    async () => {
      const r = await checkInvariants(checkTargets(system)).catch((err) => ({ ok: false, problems: [String(err)] }));
      return r.ok ? r : undefined;
    },
    { what: 'the invariants to hold once quiet', timeoutMs: 180_000, intervalMs: 2_000 },
  ).catch(async () => checkInvariants(checkTargets(system)));
  for (const problem of report.problems) flag('invariant', problem);
  const leftovers = await eventually(
    async () => {
      const found = await brokerLeftovers(system);
      return found.length === 0 ? found : undefined;
    },
    { what: 'the broker to drain', timeoutMs: 120_000, intervalMs: 2_000 },
  ).catch(() => brokerLeftovers(system));
  for (const leftover of leftovers) flag('pending or dead-lettered', leftover);

  const [written, catalogue] = await Promise.all([readMyrecipe(system), readCatalogue(system.backing.recipeRedis)]);
  for (const [kind, list] of analyse(history.ops, written, catalogue)) for (const detail of list) flag(kind, detail);
  log(`checked ${history.ops.length} operations: ${anomalies.size === 0 ? 'no anomaly' : [...anomalies.keys()].join(', ')}`);
  return anomalies;
}

/**
 * The checks of a history against the stores once quiet, with no I/O:
 * anomalies by kind (empty when the run was correct).
 */
export function analyse(ops: Op[], written: Map<string, Written>, catalogue: Map<string, Catalogued>): Map<string, string[]> {
  const anomalies = new Map<string, string[]>();
  const flag = (kind: string, detail: string) => anomalies.set(kind, [...(anomalies.get(kind) ?? []), detail]);
  const byRecipe = (kind: OpKind) => {
    const groups = new Map<string, Op[]>();
    for (const op of ops.filter((o) => o.kind === kind)) groups.set(op.recipeId, [...(groups.get(op.recipeId) ?? []), op]);
    return groups;
  };
  const happened = (attempts: Op[]) => attempts.some((o) => o.outcome === 'ok');
  const mayHave = (attempts: Op[]) => attempts.some((o) => o.outcome === 'ok' || o.outcome === 'unknown');

  // Registrations: acknowledged ones exist; ones only ever refused do not; a retried key returns the same recipe.
  for (const [recipeId, attempts] of byRecipe('register')) {
    const stored = written.get(recipeId);
    const exists = stored !== undefined && stored.voidedAt === undefined;
    if (happened(attempts) && !exists) flag('acknowledged registration lost', recipeId);
    if (exists && !mayHave(attempts))
      flag('refused registration happened anyway', `${recipeId}: ${attempts.map((o) => o.status ?? o.error).join(', ')}`);
    for (const op of attempts)
      if (op.outcome === 'ok' && op.body?.recipeId !== recipeId)
        flag('retried key answered another recipe', `${recipeId} -> ${op.body?.recipeId}`);
  }

  // Deletes: acknowledged ones happened, refused ones did not, every answer names the same points, and those points are the recipe's.
  const deletedAt = new Map<string, number>();
  for (const [recipeId, attempts] of byRecipe('delete')) {
    const stored = written.get(recipeId);
    const deleted = stored?.deletedAt !== undefined;
    const acknowledged = attempts.filter((o) => o.outcome === 'ok');
    if (acknowledged.length) deletedAt.set(recipeId, Math.min(...acknowledged.map((o) => o.end)));
    if (acknowledged.length && !deleted) flag('acknowledged delete lost', recipeId);
    if (deleted && !mayHave(attempts))
      flag('refused delete happened anyway', `${recipeId}: ${attempts.map((o) => o.status ?? o.error).join(', ')}`);
    const revoked = new Set(acknowledged.map((o) => o.body?.pointsRevoked));
    if (revoked.size > 1) flag('a retried delete answered differently', `${recipeId}: ${[...revoked].join(' vs ')}`);
    const catalogued = catalogue.get(recipeId);
    if (deleted && catalogued && stored?.pointsRevoked !== catalogued.points)
      flag(
        "points revoked differ from the recipe's points",
        `${recipeId}: revoked ${stored?.pointsRevoked}, recipe has ${catalogued.points}`,
      );
    for (const points of revoked)
      if (deleted && points !== stored?.pointsRevoked)
        flag('a delete answered other points than it took', `${recipeId}: answered ${points}, took ${stored?.pointsRevoked}`);
  }

  // Recommendations: acknowledged ones are counted, refused ones are not, and none lands after its recipe's delete was acknowledged.
  const recommendations = new Map<string, Op[]>();
  for (const op of ops.filter((o) => o.kind === 'recommend')) {
    const key = `${op.recipeId} ${op.member}`;
    recommendations.set(key, [...(recommendations.get(key) ?? []), op]);
  }
  for (const [key, attempts] of recommendations) {
    const [recipeId, member] = key.split(' ') as [string, string];
    const counted = catalogue.get(recipeId)?.recommendations.some((r) => r.by === member) ?? false;
    if (happened(attempts) && !counted) flag('acknowledged recommendation lost', key);
    if (counted && !mayHave(attempts))
      flag('refused recommendation counted anyway', `${key}: ${attempts.map((o) => o.status ?? o.error).join(', ')}`);
    const deleteAcknowledged = deletedAt.get(recipeId);
    for (const op of attempts) {
      if (deleteAcknowledged !== undefined && op.start > deleteAcknowledged && op.outcome === 'ok')
        flag(
          'deleted recipe recommended',
          `${key} at ${new Date(op.start).toISOString()}, delete acknowledged ${new Date(deleteAcknowledged).toISOString()}`,
        );
    }
  }
  return anomalies;
}
