// `npx tsx bench/profile.ts <register|recommend|read> [seconds] [rate]`: runs
// one operation at a steady rate against the Dapr system with every app
// under `node --cpu-prof`, then prints where the apps spent their CPU (self
// time by function), from the profiles written when they stop. Profiles stay
// in PROFILE_DIR (default .tmp/profiles) for Chrome DevTools.
import { mkdirSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { ROOT } from '../scripts/lib/sidecar.js';
import { sampleRecipe } from '../test/support/client.js';
import { eventually, sleep } from '../test/support/processes.js';
import { openLoop, type Call } from './lib/load.js';
import { daprSystem } from './lib/targets.js';

const [op = 'register', seconds = '20', rate = '25'] = process.argv.slice(2);
const dir = path.resolve(ROOT, process.env.PROFILE_DIR ?? '.tmp/profiles');
rmSync(dir, { recursive: true, force: true });
mkdirSync(dir, { recursive: true });
process.env.TEST_APP_NODE_ARGS = `--cpu-prof --cpu-prof-dir=${dir}`;
const target = await daprSystem();
const names = new Map<number, string>();

try {
  const author = await target.token('author');
  const auth = (t: string) => ({ authorization: `Bearer ${t}` });
  const recipes: string[] = [];
  for (let i = 0; i < 100; i++) {
    const res = await fetch(`${target.url}/myrecipes`, {
      method: 'POST',
      headers: { ...auth(author), 'content-type': 'application/json' },
      body: JSON.stringify(sampleRecipe(`P ${i}`)),
    });
    recipes.push(((await res.json()) as { recipeId: string }).recipeId);
  }
  const members = await Promise.all(Array.from({ length: 100 }, (_, i) => target.token(`m${i}`)));
  await eventually(async () => (await fetch(`${target.url}/recipes/${recipes.at(-1)}`, { headers: auth(members[0]!) })).ok, {
    what: 'ready',
  });
  let n = 0;
  const calls: Record<string, () => Call> = {
    register: () => ({
      method: 'POST',
      path: '/myrecipes',
      headers: { ...auth(members[n++ % 100]!), 'idempotency-key': randomUUID() },
      body: JSON.stringify(sampleRecipe('Profiled')),
    }),
    recommend: () => {
      const i = n++;
      return { method: 'POST', path: `/recipes/${recipes[i % 100]}/recommendations`, headers: auth(members[Math.floor(i / 100) % 100]!) };
    },
    read: () => ({ method: 'GET', path: '/mypages/me', headers: auth(members[n++ % 100]!) }),
  };
  for (const proc of target.procs) if (proc.name.endsWith(' app')) names.set(proc.pids()[0]!, proc.name);
  const before = await sidecarCalls(target);
  const result = await openLoop(target.url, calls[op]!, Number(rate), Number(seconds));
  console.log(`${op}: ${result.ok} ok, ${result.failed} failed, p50 ${result.p50} ms`);
  await sleep(5_000);
  // What each app asked of its sidecar, per operation (daprd's own request counters).
  const after = await sidecarCalls(target);
  for (const [key, count] of after) {
    const per = (count - (before.get(key) ?? 0)) / Math.max(1, result.ok);
    if (per >= 0.05) console.log(`${per.toFixed(2).padStart(6)} per op  ${key}`);
  }
} finally {
  await target.stop();
}

async function sidecarCalls(t: { sidecarMetrics: string[] }) {
  const counts = new Map<string, number>();
  for (const url of t.sidecarMetrics) {
    const text = await (await fetch(url)).text();
    for (const line of text.split('\n')) {
      const m = /^dapr_http_server_request_count\{(.*)\} (\d+(\.\d+)?)/.exec(line);
      if (!m) continue;
      const labels = Object.fromEntries([...m[1]!.matchAll(/(\w+)="([^"]*)"/g)].map((x) => [x[1], x[2]]));
      const key = `${labels.app_id} ${labels.method} ${labels.path}`;
      counts.set(key, (counts.get(key) ?? 0) + Number(m[2]));
    }
  }
  return counts;
}

// Self time by function, per app profile.
for (const file of readdirSync(dir).filter((f) => f.endsWith('.cpuprofile'))) {
  const profile = JSON.parse(readFileSync(path.join(dir, file), 'utf8')) as {
    nodes: { id: number; callFrame: { functionName: string; url: string; lineNumber: number } }[];
    samples: number[];
    timeDeltas: number[];
  };
  const byNode = new Map(profile.nodes.map((n) => [n.id, n]));
  const self = new Map<string, number>();
  let total = 0;
  profile.samples.forEach((id, i) => {
    const frame = byNode.get(id)!.callFrame;
    const where = `${frame.functionName || '(anonymous)'} ${frame.url.replace(/^.*node_modules\//, '').replace(/^file:\/\/.*\/work\/main\//, '')}:${frame.lineNumber}`;
    const ms = (profile.timeDeltas[i] ?? 0) / 1000;
    if (frame.functionName === '(idle)') return;
    total += ms;
    self.set(where, (self.get(where) ?? 0) + ms);
  });
  const pid = Number(file.split('.')[3]);
  console.log(`\n== ${names.get(pid) ?? file}: ${total.toFixed(0)} ms busy`);
  // By package (or Node's own subsystem), then the top functions.
  const byPackage = new Map<string, number>();
  for (const [where, ms] of self) {
    const pkg = /^\S+ (@[^/]+\/[^/]+|[^/:]+)/.exec(where)?.[1] ?? where;
    byPackage.set(pkg, (byPackage.get(pkg) ?? 0) + ms);
  }
  console.log(
    [...byPackage]
      .sort((a, b) => b[1] - a[1])
      .slice(0, 14)
      .map(([pkg, ms]) => `${pkg} ${ms.toFixed(0)}`)
      .join(' | '),
  );
  for (const [where, ms] of [...self].sort((a, b) => b[1] - a[1]).slice(0, 12)) console.log(`${ms.toFixed(0).padStart(6)} ms  ${where}`);
}
