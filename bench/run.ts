// `npm run bench`: measures the system on this machine, with real sidecars,
// and writes bench/RESULTS.md. Numbers are machine-dependent: compare the
// ratios within one run, not runs across machines.
import { writeFileSync } from 'node:fs';
import os from 'node:os';
import { memberClient, sampleRecipe, type MemberClient } from '../test/support/client.js';
import { sleep } from '../test/support/processes.js';
import { startSystem, type System } from '../test/support/system.js';

const quick = process.argv.includes('--quick');
const VISIBILITY_SAMPLES = quick ? 10 : 60;
const LOAD_SECONDS = quick ? 3 : 10;
const CONCURRENCY = 8;

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))]!;
}

function summary(samples: number[]) {
  const sorted = [...samples].sort((a, b) => a - b);
  return { n: sorted.length, p50: percentile(sorted, 50), p95: percentile(sorted, 95), p99: percentile(sorted, 99), max: sorted.at(-1)! };
}

const ms = (v: number) => `${v.toFixed(1)} ms`;

/** Time from a 201 for POST /myrecipes until the recipe is on the member's page (the read model). */
async function visibility(system: System): Promise<number[]> {
  const member = memberClient(system.gatewayUrl, await system.token(`visible-${Date.now()}`));
  const samples: number[] = [];
  for (let i = 0; i < VISIBILITY_SAMPLES; i++) {
    const started = performance.now();
    const { body } = await member.post('/myrecipes', sampleRecipe(`Visible ${i}`));
    for (;;) {
      const page = await member.get('/mypages/me');
      if (page.body.recipes.some((r: { recipeId: string }) => r.recipeId === body.recipeId)) break;
      await sleep(2);
    }
    samples.push(performance.now() - started);
  }
  return samples;
}

/** A closed loop of CONCURRENCY clients for LOAD_SECONDS: throughput and latency of one operation. */
async function load(name: string, op: (client: MemberClient, i: number) => Promise<number>, clients: MemberClient[]) {
  const latencies: number[] = [];
  let errors = 0;
  const deadline = performance.now() + LOAD_SECONDS * 1000;
  await Promise.all(
    clients.map(async (client, c) => {
      for (let i = 0; performance.now() < deadline; i++) {
        const started = performance.now();
        const status = await op(client, c * 1_000_000 + i).catch(() => 0);
        latencies.push(performance.now() - started);
        if (status >= 400 || status === 0) errors++;
      }
    }),
  );
  return { name, throughput: latencies.length / LOAD_SECONDS, errors, ...summary(latencies) };
}

async function apiLoad(system: System) {
  const clients = await Promise.all(Array.from({ length: CONCURRENCY }, async (_, i) => memberClient(system.gatewayUrl, await system.token(`load-${i}`))));
  const author = memberClient(system.gatewayUrl, await system.token('load-author'));
  const recipes: string[] = [];
  for (let i = 0; i < 200; i++) recipes.push((await author.post('/myrecipes', sampleRecipe(`Target ${i}`))).body.recipeId);
  await sleep(2_000);
  return [
    await load('POST /myrecipes', async (c, i) => (await c.post('/myrecipes', sampleRecipe(`Load ${i}`))).status, clients),
    await load('POST /recipes/{id}/recommendations', async (c, i) => (await c.post(`/recipes/${recipes[i % recipes.length]}/recommendations`)).status, clients),
    await load('GET /recipes/{id}', async (c, i) => (await c.get(`/recipes/${recipes[i % recipes.length]}`)).status, clients),
    await load('GET /recipes (read model)', async (c) => (await c.get('/recipes?page=1&size=20')).status, clients),
    await load('GET /mypages/me (read model)', async (c) => (await c.get('/mypages/me')).status, clients),
  ];
}

async function withSystem<T>(env: Record<string, string>, fn: (system: System) => Promise<T>): Promise<T> {
  const system = await startSystem({ env: { myrecipe: env, recipe: env } });
  try {
    return await fn(system);
  } finally {
    await system.stop();
  }
}

console.error('[bench] registration -> my page…');
const relay = summary(await withSystem({}, visibility));
console.error('[bench] API load…');
const api = await withSystem({}, apiLoad);

const cpu = os.cpus()[0]?.model ?? 'unknown CPU';
const lines = [
  '# Benchmark results',
  '',
  `Measured by \`npm run bench\`${quick ? ' (--quick)' : ''} on ${new Date().toISOString().slice(0, 10)}: ${os.cpus().length} × ${cpu}, Node.js ${process.version},`,
  'daprd 1.18.3, every app with its real sidecar (mTLS, API tokens, access control),',
  'Redis Streams pub/sub, PostgreSQL 15 and Redis 7 on the same machine. The machine',
  'is shared and noisy: compare the ratios within this run, not absolute numbers',
  'across runs.',
  '',
  '## Registration until it shows on my page',
  '',
  `Time from sending \`POST /myrecipes\` until \`GET /mypages/me\` lists the recipe (the CQRS read model, fed by the \`Registered\` event), ${VISIBILITY_SAMPLES} sequential registrations each:`,
  '',
  '| events | p50 | p95 | p99 | max |',
  '|---|---|---|---|---|',
  `| published once, by the outbox relay, built from the committed state | ${ms(relay.p50)} | ${ms(relay.p95)} | ${ms(relay.p99)} | ${ms(relay.max)} |`,
  '',
  `## API through the gateway`,
  '',
  `${CONCURRENCY} clients in a closed loop for ${LOAD_SECONDS} s per operation:`,
  '',
  '| operation | requests/s | p50 | p95 | p99 | errors |',
  '|---|---|---|---|---|---|',
  ...api.map((r) => `| ${r.name} | ${r.throughput.toFixed(0)} | ${ms(r.p50)} | ${ms(r.p95)} | ${ms(r.p99)} | ${r.errors} |`),
  '',
  'Writes go through more hops than reads: the gateway, myrecipe or recipe, the outbox intent, the state write, and the relay publishing the event, each through a sidecar with mTLS.',
  '',
];
writeFileSync(new URL('./RESULTS.md', import.meta.url), lines.join('\n'));
console.log(lines.join('\n'));
