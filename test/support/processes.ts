import { spawn, type ChildProcess } from 'node:child_process';
import {
  appendFileSync,
  closeSync,
  existsSync,
  openSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  renameSync,
  rmSync,
  statSync,
  writeFileSync,
} from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/**
 * Every test run gets a directory under the OS temp dir holding its owner's
 * pid and the pids of every process it started. A run killed midway (ava
 * interrupted, CI timeout) leaves that directory behind; the next run finds
 * the dead owner and kills what it started, so nothing piles up.
 */
export const RUNS_DIR = path.join(os.tmpdir(), 'recommend-recipe-tests');
const KEEP_LOGS_MS = 3 * 60 * 60 * 1000;

export interface Run {
  id: string;
  dir: string;
}

/** Drops what a dead run created outside its processes (databases). */
export type StaleCleaner = (staleRunId: string, staleDir: string) => Promise<void>;

const cleaners: StaleCleaner[] = [];
export const onStaleRun = (cleaner: StaleCleaner) => cleaners.push(cleaner);

function alive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** Signals a process group, once (a second SIGTERM makes daprd skip its graceful shutdown); the process alone if it has no group. */
function killGroup(pid: number, signal: NodeJS.Signals = 'SIGKILL') {
  try {
    process.kill(-pid, signal);
  } catch {
    try {
      process.kill(pid, signal);
    } catch {
      // already gone
    }
  }
}

export async function cleanStaleRuns(): Promise<number> {
  if (!existsSync(RUNS_DIR)) return 0;
  let cleaned = 0;
  for (const id of readdirSync(RUNS_DIR)) {
    cleaned += await cleanIfStale(id).catch(() => 0);
  }
  return cleaned;
}

async function cleanIfStale(id: string): Promise<number> {
  const dir = path.join(RUNS_DIR, id);
  const ownerFile = path.join(dir, 'owner.pid');
  // Another worker may be creating its directory right now.
  if (!existsSync(ownerFile) && Date.now() - statSync(dir).mtimeMs < 60_000) return 0;
  const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8').trim() || 0) : 0;
  if (owner && alive(owner)) return 0;
  const cleanedMark = path.join(dir, 'cleaned');
  if (!existsSync(cleanedMark)) {
    const pidsFile = path.join(dir, 'pids');
    const pids = existsSync(pidsFile) ? readFileSync(pidsFile, 'utf8').split('\n').filter(Boolean).map(Number) : [];
    pids.forEach((pid) => killGroup(pid));
    for (const clean of cleaners) await clean(id, dir).catch(() => undefined);
    writeFileSync(cleanedMark, new Date().toISOString());
  }
  // Logs stay a while for whoever is looking into a failure.
  if (Date.now() - statSync(cleanedMark).mtimeMs > KEEP_LOGS_MS) rmSync(dir, { recursive: true, force: true });
  return 1;
}

let current: Promise<Run> | undefined;
const children = new Set<ChildProcess>();

/** This process's run: created on first use, after cleaning up after dead runs. */
export function currentRun(): Promise<Run> {
  current ??= createRun();
  return current;
}

async function createRun(): Promise<Run> {
  await cleanStaleRuns();
  const id = `r${Date.now().toString(36)}${process.pid.toString(36)}`;
  const dir = path.join(RUNS_DIR, id);
  mkdirSync(dir, { recursive: true });
  writeFileSync(path.join(dir, 'owner.pid.tmp'), String(process.pid));
  renameSync(path.join(dir, 'owner.pid.tmp'), path.join(dir, 'owner.pid'));
  process.once('exit', () => {
    for (const child of children) if (child.pid) killGroup(child.pid);
  });
  return { id, dir };
}

export interface Spawned {
  name: string;
  child: ChildProcess;
  logFile: string;
  /** Where this process's output starts in its log file (a restarted process appends). */
  logOffset: number;
  exited: Promise<number | null>;
}

/** What this process wrote to its log so far (not what an earlier process of the same name wrote). */
export function logOf(p: Spawned): string {
  try {
    return readFileSync(p.logFile).subarray(p.logOffset).toString('utf8');
  } catch {
    return '';
  }
}

/** Starts a process in its own process group, logging to the run directory. */
export async function spawnTracked(name: string, command: string, args: string[], env: NodeJS.ProcessEnv, cwd?: string): Promise<Spawned> {
  const run = await currentRun();
  const logFile = path.join(run.dir, `${name}.log`);
  const logOffset = existsSync(logFile) ? statSync(logFile).size : 0;
  // The child writes its log file itself: piping it through this process
  // would make a busy test slow every child down (their writes block once
  // the pipe is full).
  const fd = openSync(logFile, 'a');
  const child = spawn(command, args, { env, cwd, detached: true, stdio: ['ignore', fd, fd] });
  closeSync(fd);
  if (child.pid) appendFileSync(path.join(run.dir, 'pids'), `${child.pid}\n`);
  children.add(child);
  const exited = new Promise<number | null>((resolve) => {
    child.once('exit', (code) => {
      children.delete(child);
      resolve(code);
    });
    child.once('error', () => resolve(-1));
  });
  return { name, child, logFile, logOffset, exited };
}

export async function stopProcess(p: Spawned, signal: NodeJS.Signals = 'SIGTERM', graceMs = 5_000): Promise<void> {
  if (p.child.exitCode !== null || p.child.signalCode !== null) return;
  killGroup(p.child.pid!, signal);
  const timedOut = await Promise.race([p.exited.then(() => false), sleep(graceMs).then(() => true)]);
  if (timedOut) {
    killGroup(p.child.pid!, 'SIGKILL');
    await p.exited;
  }
}

export function signalProcess(p: Spawned, signal: NodeJS.Signals) {
  killGroup(p.child.pid!, signal);
}

export const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

const handedOut = new Set<number>();

/**
 * A port nothing listens on right now, never the same twice in this process
 * (a port is free again the moment we close our probe, so two calls in a row
 * could otherwise get the same number).
 */
export async function freePort(): Promise<number> {
  for (;;) {
    const port = await new Promise<number>((resolve, reject) => {
      const server = net.createServer();
      server.unref();
      server.once('error', reject);
      server.listen(0, '127.0.0.1', () => {
        const { port: assigned } = server.address() as net.AddressInfo;
        server.close(() => resolve(assigned));
      });
    });
    if (!handedOut.has(port)) {
      handedOut.add(port);
      return port;
    }
  }
}

export function tail(file: string, lines = 40): string {
  try {
    return readFileSync(file, 'utf8').split('\n').slice(-lines).join('\n');
  } catch {
    return '';
  }
}

/** Thrown inside an `eventually` check: no point waiting any longer. */
export class StopWaiting extends Error {}

/** Polls until `check` passes (returns truthy without throwing) or the time is up. */
export async function eventually<T>(
  check: () => Promise<T>,
  { timeoutMs = 15_000, intervalMs = 100, what = 'condition' } = {},
): Promise<NonNullable<T>> {
  const deadline = Date.now() + timeoutMs;
  let last: unknown;
  for (;;) {
    try {
      const result = await check();
      if (result) return result;
      last = new Error(`${what}: not yet`);
    } catch (err) {
      if (err instanceof StopWaiting) throw err;
      last = err;
    }
    if (Date.now() > deadline) throw new Error(`timed out after ${timeoutMs} ms waiting for ${what}: ${(last as Error)?.message ?? last}`);
    await sleep(intervalMs);
  }
}
