// Turns a benchmark run (bench/results.json, written by bench/run.ts) into
// bench/RESULTS.md: every table, the targets met or not, and the notes of
// bench/NOTES.md (what changed the numbers, where the rest goes).
//   npx tsx bench/report.ts [results.json]
import { readFileSync, writeFileSync } from 'node:fs';

interface Load {
  throughput: number;
  target?: number;
  p50: number;
  p99: number;
  max: number;
  ok: number;
  failed: number;
}
interface Result {
  name: string;
  ops: Record<'register' | 'recommend' | 'read', { saturation: Load; rates: Load[]; cpu: [string, number][] }>;
  idle: [string, number][];
  loaded: [string, number][];
  propagation: { p50: number; p99: number; max: number; missing: number; count: number };
  hot: { at: number; p50: number; p99: number }[];
}
export interface Run {
  date: string;
  machine: string;
  versions: Record<string, string>;
  quick: boolean;
  seconds: number;
  results: Result[];
}

const OPS = { register: 'POST /myrecipes', recommend: 'POST /recipes/{id}/recommendations', read: 'GET /mypages/me' } as const;
const ms = (v: number) => (Number.isFinite(v) ? `${v < 10 ? v.toFixed(1) : v.toFixed(0)} ms` : '–');
const n = (v: number, digits = 1) => (Number.isFinite(v) ? v.toFixed(digits) : '–');
const sum = (pairs: [string, number][], filter: (name: string) => boolean = () => true) =>
  pairs.filter(([name]) => filter(name)).reduce((a, [, v]) => a + v, 0);
const isAppOrSidecar = (name: string) => / (app|sidecar)$/.test(name) || name === 'monolith';

export function report(run: Run, notes: string): string {
  const dapr = run.results.find((r) => r.name === 'Dapr')!;
  const mono = run.results.find((r) => r.name === 'monolith');
  const cpu = (r: Result | undefined, op: keyof typeof OPS) => (r ? sum(r.ops[op].cpu) : NaN);
  const ratio = (a: number, b: number) => (Number.isFinite(a) && Number.isFinite(b) && b > 0 ? `${(a / b).toFixed(1)}×` : '–');
  const hotAt = (r: Result | undefined, at: number) => r?.hot.find((h) => h.at === at);
  const hot = dapr.hot;
  const loadedMb = sum(dapr.loaded, isAppOrSidecar);
  const steady = dapr.ops.register.rates.find((r) => r.target === 100);

  const target = (what: string, goal: string, measured: string, met: boolean | undefined) =>
    `| ${what} | ${goal} | ${measured} | ${met === undefined ? '–' : met ? 'met' : '**not met**'} |`;
  const first = hot[0];
  const last = hot.at(-1);

  const lines = [
    '# Benchmark results',
    '',
    `Measured by \`npm run bench${run.quick ? ' -- --quick' : ''}\` on ${run.date}: ${run.machine}; ${Object.entries(run.versions)
      .map(([k, v]) => `${k} ${v}`)
      .join(', ')}.`,
    'The Dapr system runs one replica of every app with its real sidecar (mTLS, API tokens, access control, tracing sampled at 100%,',
    "Redis Streams pub/sub), as `npm start` runs it; the monolith is the same services' modules in one process, straight to PostgreSQL",
    'and Redis (`bench/monolith/`). Both run on the same machine, one after the other, with every server (PostgreSQL 15, Redis 7) on it too.',
    'The machine is shared and noisy: compare ratios within this run. Reproduce: `npm run bench` (about half an hour), or',
    '`npm run bench -- --quick` (a few minutes, smaller loads and a smaller hot recipe).',
    '',
    '## Targets',
    '',
    '| what | target | measured | |',
    '|---|---|---|---|',
    target(
      'CPU per registration, all processes',
      '≤ 10 ms',
      `${n(cpu(dapr, 'register'))} ms (monolith ${n(cpu(mono, 'register'))} ms)`,
      cpu(dapr, 'register') <= 10,
    ),
    target(
      'CPU per recommendation',
      '≤ 8 ms',
      `${n(cpu(dapr, 'recommend'))} ms (monolith ${n(cpu(mono, 'recommend'))} ms)`,
      cpu(dapr, 'recommend') <= 8,
    ),
    target('CPU per my-page read', '≤ 3 ms', `${n(cpu(dapr, 'read'))} ms (monolith ${n(cpu(mono, 'read'))} ms)`, cpu(dapr, 'read') <= 3),
    ...(['register', 'recommend', 'read'] as const).map((op) =>
      target(
        `CPU per ${op === 'read' ? 'read' : op === 'register' ? 'registration' : 'recommendation'}, against the monolith`,
        '≤ 3×',
        ratio(cpu(dapr, op), cpu(mono, op)),
        mono ? cpu(dapr, op) <= 3 * cpu(mono, op) : undefined,
      ),
    ),
    target(
      '`POST /myrecipes` at saturation',
      '≥ 150/s',
      `${n(dapr.ops.register.saturation.throughput, 0)}/s`,
      dapr.ops.register.saturation.throughput >= 150,
    ),
    target(
      '`POST /myrecipes` at a steady 100/s, p99',
      '< 150 ms',
      steady ? ms(steady.p99) : 'not run (saturation below 100/s)',
      steady ? steady.p99 < 150 && steady.failed === 0 : false,
    ),
    target(
      '`GET /mypages/me` at saturation',
      '≥ 800/s',
      `${n(dapr.ops.read.saturation.throughput, 0)}/s`,
      dapr.ops.read.saturation.throughput >= 800,
    ),
    target(
      'registration → my page at a steady 100/s, p99',
      '< 100 ms',
      ms(dapr.propagation.p99),
      dapr.propagation.p99 < 100 && dapr.propagation.missing === 0,
    ),
    target('four apps and four sidecars, resident after the load', '< 600 MB', `${n(loadedMb, 0)} MB`, loadedMb < 600),
    target(
      `hot recipe: p50 of a recommendation at ${last?.at ?? '–'} against ${first?.at ?? '–'} existing`,
      '≤ 1.2×',
      first && last ? `${ms(last.p50)} / ${ms(first.p50)} = ${ratio(last.p50, first.p50)}` : '–',
      first && last ? last.p50 <= 1.2 * first.p50 : undefined,
    ),
    '',
    '## Throughput and latency',
    '',
    `Saturation: the best of a closed loop with 8 and with 32 clients, ${run.seconds} s each. Fixed rates: an open loop (autocannon, enough`,
    'connections that a slow answer never holds the next request back), latency from the moment each request was sent.',
    '',
    '| operation | system | saturation | fixed rate | achieved | p50 | p99 | max | failed |',
    '|---|---|---|---|---|---|---|---|---|',
    ...(Object.keys(OPS) as (keyof typeof OPS)[]).flatMap((op) =>
      run.results.flatMap((r) =>
        r.ops[op].rates.map(
          (rate, i) =>
            `| ${i === 0 ? OPS[op] : ''} | ${i === 0 ? r.name : ''} | ${i === 0 ? `${n(r.ops[op].saturation.throughput, 0)}/s` : ''} | ${rate.target}/s | ${n(rate.throughput, 0)}/s | ${ms(rate.p50)} | ${ms(rate.p99)} | ${ms(rate.max)} | ${rate.failed} |`,
        ),
      ),
    ),
    '',
    '## CPU per operation, by process',
    '',
    'CPU time (user + system, from `/proc/<pid>/stat`) of every process while one operation ran at the middle fixed rate and until the',
    'system was quiet again (the events and outbox work it set going included), less what each process spends idle, divided by the',
    'operations answered 2xx.',
    '',
    ...(Object.keys(OPS) as (keyof typeof OPS)[]).flatMap((op) => [
      `**${OPS[op]}**: Dapr ${n(cpu(dapr, op))} ms, monolith ${n(cpu(mono, op))} ms (${ratio(cpu(dapr, op), cpu(mono, op))})`,
      '',
      `| ${dapr.ops[op].cpu.map(([name]) => name).join(' | ')} |`,
      `|${dapr.ops[op].cpu.map(() => '---').join('|')}|`,
      `| ${dapr.ops[op].cpu.map(([, v]) => n(v)).join(' | ')} |`,
      '',
    ]),
    '## Memory',
    '',
    'Resident memory (`VmRSS`) in MB, idle after start and after the load.',
    '',
    '| process | idle | after the load |',
    '|---|---|---|',
    ...run.results.flatMap((r) =>
      r.idle.map(([name, idle]) => `| ${r.name}: ${name} | ${n(idle, 0)} | ${n(r.loaded.find(([x]) => x === name)?.[1] ?? NaN, 0)} |`),
    ),
    `| **Dapr: four apps and four sidecars** | ${n(sum(dapr.idle, isAppOrSidecar), 0)} | ${n(loadedMb, 0)} |`,
    '',
    '## Registration until it shows on my page',
    '',
    `Registrations sent at a steady ${100}/s for ${run.seconds} s (open loop); for each, the time from sending it to its row's insertion in`,
    "mypage's read model (the database's clock, on the same machine).",
    '',
    '| system | registrations | p50 | p99 | max | missing |',
    '|---|---|---|---|---|---|',
    ...run.results.map(
      (r) =>
        `| ${r.name} | ${r.propagation.count} | ${ms(r.propagation.p50)} | ${ms(r.propagation.p99)} | ${ms(r.propagation.max)} | ${r.propagation.missing} |`,
    ),
    '',
    '## A hot recipe',
    '',
    'One recipe recommended by ever more distinct members (8 clients in a closed loop): latency of a recommendation around each count.',
    '',
    `| existing recommendations | ${run.results.map((r) => `${r.name} p50 | ${r.name} p99`).join(' | ')} |`,
    `|---|${run.results.map(() => '---|---').join('|')}|`,
    ...hot.map(
      (h) => `| ${h.at} | ${run.results.map((r) => `${ms(hotAt(r, h.at)?.p50 ?? NaN)} | ${ms(hotAt(r, h.at)?.p99 ?? NaN)}`).join(' | ')} |`,
    ),
    '',
    notes.trim(),
    '',
  ];
  return lines.join('\n');
}

if (process.argv[1]?.endsWith('report.ts')) {
  const file = process.argv[2] ?? new URL('./results.json', import.meta.url).pathname;
  const run = JSON.parse(readFileSync(file, 'utf8')) as Run;
  const notes = readFileSync(new URL('./NOTES.md', import.meta.url), 'utf8');
  writeFileSync(new URL('./RESULTS.md', import.meta.url), report(run, notes));
  console.log('bench/RESULTS.md written');
}
