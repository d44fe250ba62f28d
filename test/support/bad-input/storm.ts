import type { ExecutionContext } from 'ava';
import fc from 'fast-check';
import { send, type Address, type Probe } from './raw-http.js';
import { describe, problemsWith } from './verdict.js';

// Running a storm: a fast-check property over batches of IN_FLIGHT requests
// sent concurrently; all failures of a storm are collected and reported
// together with the seed. Reproduce a run with BAD_INPUT_SEED=<seed>; change
// the seed to explore further.

const BASE_SEED = Number(process.env.BAD_INPUT_SEED ?? 20261125);
const IN_FLIGHT = 12;

export interface StormReport {
  name: string;
  sent: number;
  ms: number;
  histogram: Map<string, number>;
}
export const histogramText = (histogram: Map<string, number>) =>
  [...histogram.entries()]
    .sort(([a], [b]) => a.localeCompare(b))
    .map(([status, n]) => `${status}×${n}`)
    .join('  ');

/** Sends `runs` batches of probes to the gateway; its report goes to `reports`. */
export async function runStorm(
  t: ExecutionContext,
  { gateway, reports }: { gateway: Address; reports: StormReport[] },
  name: string,
  seedOffset: number,
  runs: number,
  probes: fc.Arbitrary<Probe>,
) {
  const seed = BASE_SEED + seedOffset;
  const histogram = new Map<string, number>();
  const failures = new Map<string, { count: number; run: number; example: string }>();
  let sent = 0;
  let run = 0;
  const started = performance.now();
  const details = await fc.check(
    fc.asyncProperty(fc.array(probes, { minLength: IN_FLIGHT, maxLength: IN_FLIGHT }), async (batch) => {
      const thisRun = run++;
      const replies = await Promise.all(batch.map((probe) => send(gateway, probe)));
      sent += batch.length;
      batch.forEach((probe, i) => {
        const reply = replies[i]!;
        const status = reply.status ? String(reply.status) : 'no answer';
        histogram.set(status, (histogram.get(status) ?? 0) + 1);
        for (const problem of problemsWith(probe, reply)) {
          const key = `${probe.group ?? probe.label}: ${problem}`;
          const seen = failures.get(key);
          if (seen) seen.count++;
          else failures.set(key, { count: 1, run: thisRun, example: describe(probe, reply) });
        }
      });
      return true;
    }),
    { seed, numRuns: runs, endOnFailure: true },
  );
  const ms = performance.now() - started;
  reports.push({ name, sent, ms, histogram });
  t.log(`${sent} requests in ${(ms / 1000).toFixed(1)} s (seed ${seed}): ${histogramText(histogram)}`);
  if (details.failed) t.fail(`the storm itself failed (seed ${seed}): ${String(details.errorInstance)}`);
  if (failures.size === 0) {
    t.pass();
    return;
  }
  const lines = [...failures.entries()]
    .slice(0, 40)
    .map(([key, f]) => `  ✗ ${key} (${f.count}×; first in run ${f.run})\n      ${f.example}`);
  if (failures.size > 40) lines.push(`  … and ${failures.size - 40} more kinds`);
  t.fail(
    `${failures.size} kinds of bad answers; fast-check seed ${seed} (BAD_INPUT_SEED=${BASE_SEED}, ${runs} runs of ${IN_FLIGHT}):\n${lines.join('\n')}`,
  );
}

/** The requests of every storm of the file, and what they were answered. */
export function logReports(t: ExecutionContext, reports: StormReport[]) {
  const sent = reports.reduce((n, r) => n + r.sent, 0);
  const ms = reports.reduce((n, r) => n + r.ms, 0);
  const total = new Map<string, number>();
  for (const r of reports) for (const [status, n] of r.histogram) total.set(status, (total.get(status) ?? 0) + n);
  t.log(`${sent} requests in ${(ms / 1000).toFixed(1)} s over ${reports.length} storms; statuses: ${histogramText(total)}`);
  for (const r of reports) t.log(`  ${r.name}: ${r.sent} in ${(r.ms / 1000).toFixed(1)} s: ${histogramText(r.histogram)}`);
}
