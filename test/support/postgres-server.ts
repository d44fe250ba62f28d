import { execFileSync } from 'node:child_process';
import { chownSync, existsSync, mkdirSync, readdirSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import pg from 'pg';
import { currentRun, eventually, freePort, spawnTracked, stopProcess, type Spawned } from './processes.js';

/**
 * A PostgreSQL server of this test run's own, for tests that stop and restart
 * it (the machine's shared server must keep running for everyone else).
 * PostgreSQL refuses to run as root, so as root it runs as user postgres.
 */
export interface PostgresServer {
  adminUrl: string;
  /** Stops it: 'fast' is a clean shutdown, 'crash' a SIGKILL. */
  stop(mode?: 'fast' | 'crash'): Promise<void>;
  start(): Promise<void>;
}

function binDir(): string {
  const root = '/usr/lib/postgresql';
  const version = existsSync(root) ? readdirSync(root).sort().at(-1) : undefined;
  if (!version) throw new Error('PostgreSQL server binaries not found under /usr/lib/postgresql');
  return path.join(root, version, 'bin');
}

export async function startPostgresServer(label: string): Promise<PostgresServer> {
  const run = await currentRun();
  const port = await freePort();
  const dir = path.join(run.dir, `pg-${label}`);
  const asRoot = os.userInfo().uid === 0;
  const as = (cmd: string, args: string[]): [string, string[]] =>
    asRoot ? ['runuser', ['-u', 'postgres', '--', cmd, ...args]] : [cmd, args];
  mkdirSync(dir, { recursive: true });
  if (asRoot) {
    const { uid, gid } = userIds('postgres');
    chownSync(dir, uid, gid);
  }
  const [initdb, initArgs] = as(path.join(binDir(), 'initdb'), [
    '-D',
    dir,
    '-U',
    'postgres',
    '--auth=trust',
    '-E',
    'UTF8',
    '--no-instructions',
  ]);
  execFileSync(initdb, initArgs, { stdio: 'ignore' });

  const adminUrl = `postgres://postgres@127.0.0.1:${port}/postgres`;
  let proc: Spawned | undefined;
  const start = async () => {
    const [postgres, args] = as(path.join(binDir(), 'postgres'), [
      '-D',
      dir,
      '-p',
      String(port),
      '-k',
      dir,
      '-c',
      'listen_addresses=127.0.0.1',
    ]);
    proc = await spawnTracked(`pg-${label}`, postgres, args, process.env);
    await eventually(() => ping(adminUrl), { what: `postgres on ${port}`, timeoutMs: 30_000, intervalMs: 100 });
  };
  await start();
  return {
    adminUrl,
    start,
    stop: async (mode = 'fast') => {
      if (proc) await stopProcess(proc, mode === 'crash' ? 'SIGKILL' : 'SIGINT', 15_000);
    },
  };
}

function userIds(name: string): { uid: number; gid: number } {
  const id = (flag: string) => Number(execFileSync('id', [flag, name], { encoding: 'utf8' }).trim());
  return { uid: id('-u'), gid: id('-g') };
}

async function ping(url: string): Promise<boolean> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 1_000 });
  try {
    await client.connect();
    await client.query('SELECT 1');
    return true;
  } finally {
    await client.end().catch(() => undefined);
  }
}
