// The two systems the benchmark compares, started the same way each time:
// the Dapr system (one replica of every app with its real sidecar, as
// `npm start` runs it) and the monolith baseline (bench/monolith).
import path from 'node:path';
import { signToken, startSystem, APP_IDS } from '../../test/support/system.js';
import { createDatabase, startRedis } from '../../test/support/backing.js';
import { eventually, freePort, spawnTracked, stopProcess } from '../../test/support/processes.js';
import { ROOT } from '../../scripts/lib/sidecar.js';
import { pidsNamed, type Proc } from './procs.js';

export interface Target {
  name: string;
  url: string;
  procs: Proc[];
  token(member: string): Promise<string>;
  /** The database holding mypage's read model (schema mypage). */
  readModelUrl: string;
  /** The sidecars' Prometheus endpoints (Dapr only). */
  sidecarMetrics: string[];
  stop(): Promise<void>;
}

const postgres: Proc = { name: 'PostgreSQL', pids: () => pidsNamed('postgres') };

export async function daprSystem(): Promise<Target> {
  const system = await startSystem({ replicas: 1 });
  const procs: Proc[] = [
    ...APP_IDS.flatMap((id) => [
      { name: `${id} app`, pids: () => [system.services[id].app.child.pid!] },
      { name: `${id} sidecar`, pids: () => [system.services[id].daprd.child.pid!] },
    ]),
    { name: 'Sentry', pids: () => (system.backing.sentry.pid ? [system.backing.sentry.pid] : []) },
    { name: 'Redis', pids: () => [system.backing.redis.pid()].filter((p): p is number => p !== undefined) },
    postgres,
  ];
  const sidecarMetrics = APP_IDS.map((id) => `http://127.0.0.1:${system.services[id].metricsPort}/metrics`);
  return {
    name: 'Dapr',
    url: system.gatewayUrl,
    procs,
    token: (m) => system.token(m),
    readModelUrl: system.backing.db.url,
    sidecarMetrics,
    stop: () => system.stop(),
  };
}

export async function monolith(): Promise<Target> {
  const [db, redis, port] = await Promise.all([createDatabase('monolith'), startRedis(), freePort()]);
  const key = 'monolith-bench-signing-key-of-enough-length';
  const proc = await spawnTracked(
    'monolith',
    process.execPath,
    ['--import', 'tsx', path.join(ROOT, 'bench/monolith/main.ts')],
    {
      ...process.env,
      PORT: String(port),
      DATABASE_URL: db.url,
      REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      RATE_LIMIT_REDIS_URL: `redis://127.0.0.1:${redis.port}`,
      RATE_LIMIT_PER_WINDOW: '1000000',
      JWT_SIGNING_KEY: key,
      NODE_OPTIONS: '--max-semi-space-size=2',
      LOG_LEVEL: process.env.TEST_APP_LOG_LEVEL ?? 'info',
    },
    ROOT,
  );
  const url = `http://127.0.0.1:${port}`;
  await eventually(async () => (await fetch(`${url}/readyz`).catch(() => undefined))?.ok, { what: 'the monolith', timeoutMs: 60_000 });
  return {
    name: 'monolith',
    url,
    procs: [
      { name: 'monolith', pids: () => [proc.child.pid!] },
      { name: 'Redis', pids: () => [redis.pid()].filter((p): p is number => p !== undefined) },
      postgres,
    ],
    token: (m) => signToken(key, m),
    readModelUrl: db.url,
    sidecarMetrics: [],
    async stop() {
      await stopProcess(proc);
      await redis.stop();
      await db.drop();
    },
  };
}
