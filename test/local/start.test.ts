import { spawn, execFileSync, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import test from 'ava';
import { ROOT } from '../../scripts/lib/sidecar.js';
import { portsOf, readPlan, takenPorts } from '../../scripts/local/plan.js';
import { startRedis, type RedisServer } from '../support/backing.js';
import { eventually, sleep } from '../support/processes.js';

// The README's run command as a newcomer meets it: `npm start` itself (on
// ports of its own, with a Redis and a database of its own), ready, the
// README's curl journey, quiet logs, Ctrl-C to the terminal's process group,
// nothing left behind, and the same again, three times in a row.
let redis: RedisServer;
let runDir: string;
let offset: number;
const database = `rr_local_${process.pid}`;

test.before(async () => {
  redis = await startRedis();
  runDir = mkdtempSync(path.join(tmpdir(), 'rr-local-'));
  // Ports of our own: an offset that keeps every port free and below the ephemeral range.
  for (offset = 200 + (process.pid % 50) * 20; ; offset += 20) {
    if (offset > 1500) throw new Error('no free port offset for the local run');
    if ((await takenPorts(readPlan(offset))).length === 0) break;
  }
});

test.after.always(async () => {
  await redis?.stop();
  try {
    execFileSync('psql', ['-h', '127.0.0.1', '-U', 'postgres', '-c', `DROP DATABASE IF EXISTS ${database} WITH (FORCE)`], {
      stdio: 'ignore',
    });
  } catch {
    // best effort
  }
  rmSync(runDir, { recursive: true, force: true });
});

const env = () => ({
  ...process.env,
  LOCAL_RUN_DIR: runDir,
  LOCAL_PORT_OFFSET: String(offset),
  LOCAL_REDIS: `127.0.0.1:${redis.port}`,
  LOCAL_DATABASE: database,
});

interface Started {
  process: ChildProcess;
  output: () => string;
  exited: Promise<number | null>;
}

/** `npm start` in a process group of its own, as a terminal's foreground job. */
function npmStart(): Started {
  let output = '';
  const child = spawn('npm', ['start'], { cwd: ROOT, env: env(), detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  child.stdout.on('data', (d) => (output += d));
  child.stderr.on('data', (d) => (output += d));
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  return { process: child, output: () => output, exited };
}

/**
 * The README's curl examples, run as written (against this run's gateway),
 * one command at a time with a short pause, as someone typing them would.
 */
function curlJourney(): string {
  const readme = readFileSync(path.join(ROOT, 'README.md'), 'utf8');
  const api = readme.slice(readme.indexOf('## API'));
  const blocks = [...api.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]!).slice(0, 2);
  // Commands continue over lines ending in \ or |; blank lines and comments separate them.
  const commands = blocks
    .join('\n')
    .replace(/\\\n\s*/g, ' ')
    .replace(/\|\n\s*/g, '| ')
    .split('\n')
    .filter((line) => line.trim() && !line.trim().startsWith('#'));
  const script = [
    'set -euo pipefail',
    ...commands.flatMap((c) => [c.replaceAll('localhost:8080', `localhost:${8080 + offset}`), 'echo', 'sleep 0.5']),
  ].join('\n');
  return execFileSync('bash', ['-c', script], { cwd: ROOT, env: env(), encoding: 'utf8', timeout: 60_000 });
}

/**
 * Warning and error lines logged in steady state (after `since`) by a sidecar
 * or Sentry, by message, when a message comes back.
 */
function repeatedProblems(since: number): string[] {
  const repeated: string[] = [];
  const logs = path.join(runDir, 'logs');
  for (const file of readdirSync(logs).filter((f) => f.endsWith('.dapr.log') || f === 'sentry.log')) {
    const counts = new Map<string, number>();
    for (const line of readFileSync(path.join(logs, file), 'utf8').split('\n')) {
      if (!/level=(warning|error|fatal)/.test(line)) continue;
      const time = Date.parse(/time="([^"]+)"/.exec(line)?.[1] ?? '');
      if (time < since) continue;
      const message = /msg="([^"]*)"/.exec(line)?.[1] ?? line;
      counts.set(message, (counts.get(message) ?? 0) + 1);
    }
    for (const [message, count] of counts) if (count > 1) repeated.push(`${file}: ${count}× ${message}`);
  }
  return repeated;
}

/** After a failure: whatever is left of that npm start goes. */
function killGroup(run: Started) {
  for (const pid of existsSync(path.join(runDir, 'run', 'pids')) ? pidsOfRun() : []) {
    try {
      process.kill(-pid, 'SIGKILL');
    } catch {
      // gone
    }
  }
  try {
    process.kill(-run.process.pid!, 'SIGKILL');
  } catch {
    // gone
  }
}

const pidsOfRun = () =>
  readFileSync(path.join(runDir, 'run', 'pids'), 'utf8')
    .split('\n')
    .filter(Boolean)
    .map(Number);
const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

test.serial(
  'npm start reaches ready, serves the README journey with quiet logs, stops on Ctrl-C (or SIGTERM) leaving nothing behind, and starts again, three times',
  async (t) => {
    t.timeout(12 * 60_000);
    for (let round = 1; round <= 3; round++) {
      const started = Date.now();
      const run = npmStart();
      t.teardown(() => killGroup(run));
      try {
        await eventually(
          async () => {
            if (run.process.exitCode !== null) throw new Error(`npm start exited with ${run.process.exitCode}:\n${run.output()}`);
            return run.output().includes('Recommend Recipe is ready');
          },
          { what: `npm start (round ${round}) to say it is ready`, timeoutMs: 8 * 60_000, intervalMs: 250 },
        );
      } catch (err) {
        killGroup(run);
        throw err;
      }
      t.log(`round ${round}: ready in ${((Date.now() - started) / 1000).toFixed(1)} s`);
      const plan = readPlan(offset);
      for (const app of plan.apps) t.is((await fetch(`http://127.0.0.1:${app.appPort}/readyz`)).status, 200, `${app.appId} ready`);
      t.regex(run.output(), new RegExp(`http://localhost:${8080 + offset}`), 'it says where the gateway is');
      t.regex(run.output(), /npm run -s token -- alice/, 'and how to get a token');
      t.regex(run.output(), /npm run check/, 'and how to check it');
      t.regex(run.output(), /Ctrl-C/, 'and how to stop');

      if (round === 1) {
        const journey = curlJourney();
        t.regex(journey, /"pointsRevoked":1/, 'the journey ends with a delete that took the recommendation point back');
        const page = await fetch(`http://localhost:${8080 + offset}/`);
        t.is(page.status, 200, 'the web app is served at /');
        t.regex(await page.text(), /<script type="module"[^>]* src="\/assets\/index-[\w-]+\.js"/, 'its production build');
        t.regex(run.output(), /npm run seed/, 'the ready message says how to fill it');
        const seeded = execFileSync('npm', ['run', '-s', 'seed'], { cwd: ROOT, env: env(), encoding: 'utf8' });
        t.regex(seeded, /6 recipes of 4 members/, 'npm run seed fills it through the development sign-in');
        const check = execFileSync('npm', ['run', '-s', 'check'], { cwd: ROOT, env: env(), encoding: 'utf8' });
        t.regex(check, /all invariants hold/);
        // Steady state: nothing keeps complaining.
        const steady = Date.now();
        await sleep(10_000);
        t.deepEqual(repeatedProblems(steady), [], 'no warning or error line repeats in the sidecar or Sentry logs');
      }

      const pids = pidsOfRun();
      t.true(pids.length >= 9, 'Sentry, four sidecars and four apps');
      const stopping = Date.now();
      if (round < 3) {
        // Ctrl-C in a terminal: SIGINT to its foreground process group.
        process.kill(-run.process.pid!, 'SIGINT');
      } else {
        // The other way the ready message gives: SIGTERM to the pid it names.
        const pid = Number(/or kill (\d+)/.exec(run.output())?.[1]);
        process.kill(pid, 'SIGTERM');
      }
      await run.exited;
      await eventually(async () => pids.every((pid) => !alive(pid)), { what: 'every process of the run to exit', timeoutMs: 20_000 });
      t.log(`round ${round}: stopped in ${((Date.now() - stopping) / 1000).toFixed(1)} s`);
      t.regex(run.output(), /\[start\] stopped/);
      t.deepEqual(await takenPorts(plan), [], 'no port left listening');
      t.false(existsSync(path.join(runDir, 'run', 'owner.pid')));
      t.true(portsOf(plan).length > 0);
    }
  },
);

test.serial('a taken port stops npm start before anything starts, naming the port and what holds it', async (t) => {
  const net = await import('node:net');
  const blocker = net.createServer();
  await new Promise<void>((resolve) => blocker.listen(8080 + offset, '0.0.0.0', resolve));
  t.teardown(() => blocker.close());
  const run = npmStart();
  t.teardown(() => killGroup(run));
  const code = await run.exited;
  t.is(code, 1);
  t.regex(run.output(), new RegExp(`port ${8080 + offset} \\(the gateway app\\) is taken by node \\(pid ${process.pid}\\)`));
  t.false(existsSync(path.join(runDir, 'run', 'owner.pid')), 'nothing was started');
});
