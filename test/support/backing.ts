import { appendFileSync, existsSync, mkdirSync, readFileSync } from 'node:fs';
import { execFileSync } from 'node:child_process';
import net from 'node:net';
import path from 'node:path';
import pg from 'pg';
import { GenericContainer, getContainerRuntimeClient, type StartedTestContainer } from 'testcontainers';
import { currentRun, eventually, freePort, onStaleRun, spawnTracked, stopProcess, type Spawned } from './processes.js';
import { DAPR_METADATA_TABLE } from '../../scripts/lib/database.js';

/**
 * Redis and PostgreSQL for tests. Here (no Docker engine) they are throwaway
 * redis-server processes on free ports and throwaway databases on the local
 * PostgreSQL; on a laptop with Docker, TEST_BACKING=containers starts them
 * with testcontainers instead. Tests see the same interface either way.
 */
const mode = process.env.TEST_BACKING ?? (hasCommand('redis-server') ? 'local' : 'containers');
const localPostgres = process.env.TEST_POSTGRES_URL ?? 'postgres://postgres@127.0.0.1:5432/postgres';

function hasCommand(name: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v ${name}`], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}

export interface RedisServer {
  host: string;
  port: number;
  /** SIGKILL: what is not yet on disk is gone. */
  kill(): Promise<void>;
  /** Starts it again on the same port (with its append-only file, if enabled). */
  start(): Promise<void>;
  stop(): Promise<void>;
  /** Its process id, for measurements (none in a container). */
  pid(): number | undefined;
}

export async function startRedis({ appendOnly = false } = {}): Promise<RedisServer> {
  if (mode === 'containers') return startRedisContainer(appendOnly);
  const run = await currentRun();
  const port = await freePort();
  const dir = path.join(run.dir, `redis-${port}`);
  mkdirSync(dir, { recursive: true });
  let proc: Spawned | undefined;
  const start = async () => {
    proc = await spawnTracked(
      `redis-${port}`,
      'redis-server',
      [
        '--port',
        String(port),
        '--bind',
        '127.0.0.1',
        '--save',
        '',
        '--dir',
        dir,
        '--appendonly',
        appendOnly ? 'yes' : 'no',
        '--appendfsync',
        'always',
      ],
      process.env,
    );
    await eventually(() => ping(port), { what: `redis on ${port}`, timeoutMs: 10_000, intervalMs: 50 });
  };
  await start();
  return {
    host: '127.0.0.1',
    port,
    kill: async () => proc && stopProcess(proc, 'SIGKILL'),
    start,
    stop: async () => proc && stopProcess(proc, 'SIGTERM'),
    pid: () => proc?.child.pid,
  };
}

async function startRedisContainer(appendOnly: boolean): Promise<RedisServer> {
  // A fixed host port: the sidecars keep pointing at it across a kill and a start
  // (a randomly mapped port may change when the container starts again).
  const port = await freePort();
  const container = await new GenericContainer('redis:7-alpine')
    .withCommand(['redis-server', '--save', '', '--appendonly', appendOnly ? 'yes' : 'no', '--appendfsync', 'always'])
    .withExposedPorts({ container: 6379, host: port })
    .start();
  return {
    host: container.getHost(),
    port,
    // Through the engine: `kill -9 1` inside the container cannot kill its own PID 1.
    // The container is stopped, not removed, so start() runs it again with its data.
    kill: async () => {
      const engine = await getContainerRuntimeClient();
      await engine.container.getById(container.getId()).kill({ signal: 'SIGKILL' });
    },
    start: async () => {
      await container.restart();
    },
    stop: async () => {
      await container.stop();
    },
    pid: () => undefined,
  };
}

function ping(port: number, host = '127.0.0.1'): Promise<boolean> {
  return new Promise((resolve) => {
    const socket = net.connect(port, host);
    socket.setTimeout(1_000, () => socket.destroy());
    socket.once('connect', () => socket.write('PING\r\n'));
    socket.once('data', (data) => {
      socket.end();
      resolve(data.toString().startsWith('+PONG'));
    });
    socket.once('error', () => resolve(false));
    socket.once('close', () => resolve(false));
  });
}

export interface Database {
  name: string;
  host: string;
  port: number;
  url: string;
  /** libpq key/value form, as Dapr's state.postgresql wants it. */
  connectionString: string;
  drop(): Promise<void>;
}

let postgresContainer: Promise<StartedTestContainer> | undefined;

/** A fresh database, dropped at the end (or by the next run, if this one dies). */
export async function createDatabase(label: string, server?: { adminUrl: string }): Promise<Database> {
  const run = await currentRun();
  const name = `rr_${run.id}_${label}`.toLowerCase().replace(/[^a-z0-9_]/g, '_');
  let adminUrl = server?.adminUrl ?? localPostgres;
  if (!server && mode === 'containers') {
    postgresContainer ??= new GenericContainer('postgres:15-alpine')
      .withEnvironment({ POSTGRES_HOST_AUTH_METHOD: 'trust' })
      .withExposedPorts(5432)
      .start();
    const c = await postgresContainer;
    adminUrl = `postgres://postgres@${c.getHost()}:${c.getMappedPort(5432)}/postgres`;
    await eventually(() => query(adminUrl, 'SELECT 1').then(() => true), { what: 'postgres container', timeoutMs: 30_000 });
  }
  await query(adminUrl, `CREATE DATABASE ${name}`);
  appendFileSync(path.join(run.dir, 'databases'), `${adminUrl} ${name}\n`);
  const url = new URL(adminUrl);
  url.pathname = `/${name}`;
  await query(url.toString(), DAPR_METADATA_TABLE);
  return {
    name,
    host: url.hostname,
    port: Number(url.port || 5432),
    url: url.toString(),
    connectionString: `host=${url.hostname} port=${url.port || 5432} user=${url.username || 'postgres'} database=${name}`,
    drop: () => dropDatabase(adminUrl, name),
  };
}

async function dropDatabase(adminUrl: string, name: string): Promise<void> {
  await query(adminUrl, `DROP DATABASE IF EXISTS ${name} WITH (FORCE)`);
}

async function query(url: string, sql: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(sql);
  } finally {
    await client.end();
  }
}

onStaleRun(async (_id, dir) => {
  const file = path.join(dir, 'databases');
  if (!existsSync(file)) return;
  for (const line of readFileSync(file, 'utf8').split('\n').filter(Boolean)) {
    const [adminUrl, name] = line.split(' ');
    await dropDatabase(adminUrl!, name!).catch(() => undefined);
  }
});
