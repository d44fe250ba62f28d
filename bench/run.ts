// `npm run bench [-- --quick]`: the Dapr system and the monolith baseline,
// one after the other in one run, under the same load: saturation, latency at
// fixed rates (open loop), CPU per operation of every process, memory,
// registration-to-my-page propagation at a steady rate, and a hot recipe.
// Writes bench/RESULTS.md. Compare ratios within a run: the machine is shared.
import { execFileSync } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import { readFileSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { sampleRecipe } from '../test/support/client.js';
import { eventually, sleep } from '../test/support/processes.js';
import { openLoop, saturation, type Call, type LoadResult } from './lib/load.js';
import { memory, snapshot, spent } from './lib/procs.js';
import { daprSystem, monolith, type Target } from './lib/targets.js';
import { report, type Run } from './report.js';
import { recipeIdFor } from '../services/myrecipe/src/domain.js';

const quick = process.argv.includes('--quick');
const SECONDS = quick ? 3 : 10;
const RATES = { register: quick ? [25] : [25, 50, 100], recommend: quick ? [25] : [25, 50, 100], read: quick ? [50] : [50, 100, 200] };
const PROPAGATION_RATE = 100;
const HOT = process.argv.includes('--no-hot') ? [] : quick ? [100, 500, 1_000] : [1_000, 10_000, 20_000];
const log = (line: string) => process.stderr.write(`[bench] ${line}\n`);

type Op = keyof typeof RATES;
interface OpResult {
  saturation: LoadResult;
  rates: LoadResult[];
  /** CPU ms per operation, by process, at the middle fixed rate. */
  cpu: Map<string, number>;
}
interface TargetResult {
  name: string;
  ops: Record<Op, OpResult>;
  idle: Map<string, number>;
  loaded: Map<string, number>;
  propagation: { p50: number; p99: number; max: number; missing: number; count: number };
  hot: { at: number; p50: number; p99: number }[];
}

const pct = (sorted: number[], q: number) => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] ?? NaN;

/** CPU each process spends per second doing nothing in particular (health probes, timers). */
async function idleRate(target: Target): Promise<Map<string, number>> {
  const before = snapshot(target.procs);
  await sleep(5_000);
  return new Map([...spent(before, snapshot(target.procs))].map(([name, ms]) => [name, ms / 5]));
}

/** Waits until the system is back to idle: what a load left queued (events, outbox intents) is done. */
async function quiet(target: Target, idle: Map<string, number>) {
  const idleTotal = [...idle.values()].reduce((a, b) => a + b, 0);
  for (let i = 0; i < 120; i++) {
    const before = snapshot(target.procs);
    await sleep(1_000);
    const total = [...spent(before, snapshot(target.procs)).values()].reduce((a, b) => a + b, 0);
    if (total < idleTotal * 1.5 + 10) return;
  }
  log(`${target.name}: not quiet after two minutes; measuring anyway`);
}

async function measure(target: Target): Promise<TargetResult> {
  log(`${target.name}: waiting for it to settle`);
  await sleep(5_000);
  const idle = memory(target.procs);
  const idleCpu = await idleRate(target);
  const tokens = new Map<string, string>();
  const token = async (member: string) => {
    if (!tokens.has(member)) tokens.set(member, await target.token(member));
    return tokens.get(member)!;
  };
  const auth = (t: string) => ({ authorization: `Bearer ${t}` });

  // Recipes to recommend, and members to recommend them.
  const author = await token('bench-author');
  const recipes: string[] = [];
  for (let i = 0; i < 200; i++) {
    const res = await fetch(`${target.url}/myrecipes`, {
      method: 'POST',
      headers: { ...auth(author), 'content-type': 'application/json' },
      body: JSON.stringify(sampleRecipe(`Bench ${i}`)),
    });
    recipes.push(((await res.json()) as { recipeId: string }).recipeId);
  }
  const members = await Promise.all(Array.from({ length: 300 }, (_, i) => token(`bench-member-${i}`)));
  await eventually(async () => (await fetch(`${target.url}/recipes/${recipes.at(-1)}`, { headers: auth(members[0]!) })).ok, {
    what: 'recipes recommendable',
    timeoutMs: 60_000,
  });

  let registrations = 0;
  let pairs = 0;
  const calls: Record<Op, () => Call> = {
    register: () => ({
      method: 'POST',
      path: '/myrecipes',
      headers: { ...auth(members[registrations % members.length]!), 'idempotency-key': `bench-${randomUUID()}`, ...(registrations++, {}) },
      body: JSON.stringify(sampleRecipe('Registered under load')),
    }),
    // Every request a new (recipe, member) pair: a real recommendation each time.
    recommend: () => {
      const n = pairs++;
      return {
        method: 'POST',
        path: `/recipes/${recipes[n % recipes.length]}/recommendations`,
        headers: auth(members[Math.floor(n / recipes.length) % members.length]!),
      };
    },
    read: () => ({ method: 'GET', path: '/mypages/me', headers: auth(members[registrations++ % 50]!) }),
  };

  const ops = {} as Record<Op, OpResult>;
  for (const op of Object.keys(RATES) as Op[]) {
    await quiet(target, idleCpu);
    log(`${target.name}: ${op}: saturation`);
    const sat = await saturation(target.url, calls[op], SECONDS);
    const rates: LoadResult[] = [];
    let cpu = new Map<string, number>();
    const usable = RATES[op].filter((r) => r <= sat.throughput * 0.9);
    for (const rate of usable.length ? usable : [Math.max(5, Math.floor(sat.throughput * 0.5))]) {
      await quiet(target, idleCpu);
      log(`${target.name}: ${op}: ${rate}/s`);
      const before = snapshot(target.procs);
      const started = Date.now();
      const result = await openLoop(target.url, calls[op], rate, SECONDS);
      // What the operations set going (events, the outbox relay) finishes too: count it, less the idle CPU.
      await quiet(target, idleCpu);
      const seconds = (Date.now() - started) / 1000;
      const used = spent(before, snapshot(target.procs));
      rates.push(result);
      if (rates.length === Math.ceil((usable.length || 1) / 2)) {
        cpu = new Map([...used].map(([name, ms]) => [name, Math.max(0, ms - (idleCpu.get(name) ?? 0) * seconds) / Math.max(1, result.ok)]));
      }
    }
    ops[op] = { saturation: sat, rates, cpu };
    await sleep(2_000);
  }
  const loaded = memory(target.procs);

  await quiet(target, idleCpu);
  log(`${target.name}: registration -> my page at ${PROPAGATION_RATE}/s`);
  const writers = await Promise.all(
    Array.from({ length: 20 }, async (_, i) => ({ id: `bench-propagation-${i}`, token: await token(`bench-propagation-${i}`) })),
  );
  const sent = new Map<string, number>();
  await openLoop(
    target.url,
    () => {
      const writer = writers[sent.size % writers.length]!;
      const key = randomUUID();
      sent.set(recipeIdFor(writer.id, key), Date.now());
      return {
        method: 'POST',
        path: '/myrecipes',
        headers: { ...auth(writer.token), 'idempotency-key': key },
        body: JSON.stringify(sampleRecipe(`Propagation ${key.slice(0, 6)}`)),
      };
    },
    PROPAGATION_RATE,
    SECONDS,
  );
  await sleep(5_000);
  const propagation = await propagationDelays(target, sent);

  await quiet(target, idleCpu);
  log(`${target.name}: hot recipe`);
  const hot = await hotRecipe(target, token);
  return { name: target.name, ops, idle, loaded, propagation, hot };
}

/** When each registration appeared in mypage's read model (the row's insert time), from when it was sent. */
async function propagationDelays(target: Target, sent: Map<string, number>) {
  const client = new pg.Client({ connectionString: target.readModelUrl });
  await client.connect();
  try {
    const { rows } = await client.query<{ recipe_id: string; updated_at: Date }>(
      'SELECT recipe_id, updated_at FROM mypage.recipes WHERE recipe_id = ANY($1) AND title IS NOT NULL',
      [[...sent.keys()]],
    );
    const delays = rows.map((r) => r.updated_at.getTime() - sent.get(r.recipe_id)!).sort((a, b) => a - b);
    return { p50: pct(delays, 0.5), p99: pct(delays, 0.99), max: delays.at(-1) ?? NaN, missing: sent.size - rows.length, count: sent.size };
  } finally {
    await client.end();
  }
}

/** One recipe recommended by ever more distinct members: the latency of a recommendation as the recipe grows. */
async function hotRecipe(target: Target, token: (m: string) => Promise<string>) {
  if (HOT.length === 0) return [];
  const author = await token('hot-author');
  const res = await fetch(`${target.url}/myrecipes`, {
    method: 'POST',
    headers: { authorization: `Bearer ${author}`, 'content-type': 'application/json' },
    body: JSON.stringify(sampleRecipe('Viral')),
  });
  const { recipeId } = (await res.json()) as { recipeId: string };
  const last = HOT.at(-1)!;
  const latencies: number[] = new Array(last);
  let next = 0;
  await eventually(async () => (await fetch(`${target.url}/recipes/${recipeId}`, { headers: { authorization: `Bearer ${author}` } })).ok, {
    what: 'hot recipe recommendable',
  });
  await Promise.all(
    Array.from({ length: 8 }, async () => {
      for (let i = next++; i < last; i = next++) {
        const member = await token(`hot-${i}`);
        const started = performance.now();
        const reply = await fetch(`${target.url}/recipes/${recipeId}/recommendations`, {
          method: 'POST',
          headers: { authorization: `Bearer ${member}` },
        });
        await reply.arrayBuffer();
        latencies[i] = performance.now() - started;
        if (i % 2_000 === 0) log(`${target.name}: hot recipe at ${i}`);
      }
    }),
  );
  return HOT.map((at) => {
    const window = latencies.slice(Math.max(0, at - Math.max(100, at / 20)), at).sort((a, b) => a - b);
    return { at, p50: pct(window, 0.5), p99: pct(window, 0.99) };
  });
}

const only = process.argv.find((a) => a.startsWith('--only='))?.slice('--only='.length);
const results: TargetResult[] = [];
for (const start of [daprSystem, monolith].filter((s) => !only || (only === 'dapr' ? s === daprSystem : s === monolith))) {
  const target = await start();
  try {
    results.push(await measure(target));
  } finally {
    await target.stop();
  }
}
const run: Run = {
  date: new Date().toISOString().slice(0, 10),
  machine: `${os.cpus().length} × ${os.cpus()[0]?.model ?? 'unknown CPU'}, ${Math.round(os.totalmem() / 2 ** 30)} GiB`,
  versions: {
    'Node.js': process.version,
    daprd: execFileSync(path.join(process.env.DAPR_RUNTIME_PATH ?? '', '.dapr/bin/daprd'), ['--version'], { encoding: 'utf8' }).trim(),
    PostgreSQL: execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-Atc', 'SHOW server_version'], { encoding: 'utf8' })
      .trim()
      .split(' ')[0]!,
    Redis:
      /redis_version:(\S+)/.exec(execFileSync('redis-server', ['--version'], { encoding: 'utf8' }))?.[1] ??
      execFileSync('redis-server', ['--version'], { encoding: 'utf8' }).split(' ')[2]!.replace('v=', ''),
  },
  quick,
  seconds: SECONDS,
  results: results.map((r) => ({
    ...r,
    idle: [...r.idle],
    loaded: [...r.loaded],
    ops: Object.fromEntries(Object.entries(r.ops).map(([k, v]) => [k, { ...v, cpu: [...v.cpu] }])),
  })) as unknown as Run['results'],
};
writeFileSync(new URL('./results.json', import.meta.url), `${JSON.stringify(run, null, 2)}\n`);
writeFileSync(new URL('./RESULTS.md', import.meta.url), report(run, readFileSync(new URL('./NOTES.md', import.meta.url), 'utf8')));
log('bench/RESULTS.md written');
