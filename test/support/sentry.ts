import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { daprBin } from './dapr.js';
import { currentRun, eventually, freePort, spawnTracked, stopProcess } from './processes.js';

/** A private Dapr Sentry (certificate authority) for one test system's mTLS. */
export interface Sentry {
  address: string;
  trustAnchors: string;
  pid?: number;
  stop(): Promise<void>;
}

export async function startSentry(label: string): Promise<Sentry> {
  const run = await currentRun();
  const dir = path.join(run.dir, `sentry-${label}`);
  const credentials = path.join(dir, 'credentials');
  mkdirSync(credentials, { recursive: true });
  // Sentry insists on a configuration file; an empty one means the defaults.
  writeFileSync(path.join(dir, 'config.yaml'), '');
  const [port, metricsPort, healthPort] = await Promise.all([freePort(), freePort(), freePort()]);
  const start = () =>
    spawnTracked(
      `sentry-${label}`,
      daprBin('sentry'),
      [
        '--config',
        path.join(dir, 'config.yaml'),
        '--issuer-credentials',
        credentials,
        '--port',
        String(port),
        '--metrics-port',
        String(metricsPort),
        '--healthz-port',
        String(healthPort),
        '--trust-domain',
        'localhost',
      ],
      process.env,
    );
  // Sentry makes its CA on first start, then notices the new files and
  // restarts its server (more than once): a sidecar asking for its identity
  // then fails for good ("failed to retrieve the initial identity"). A first,
  // short run makes the CA, so that the real one finds it in place.
  const first = await start();
  await eventually(async () => existsSync(path.join(credentials, 'issuer.key')), { what: 'sentry to make its CA', timeoutMs: 30_000 });
  await stopProcess(first);
  const proc = await start();
  await eventually(async () => (await fetch(`http://127.0.0.1:${healthPort}/healthz`).catch(() => undefined))?.ok, {
    what: 'sentry healthy',
    timeoutMs: 30_000,
  });
  return {
    address: `127.0.0.1:${port}`,
    trustAnchors: readFileSync(path.join(credentials, 'ca.crt'), 'utf8'),
    pid: proc.child.pid,
    stop: () => stopProcess(proc),
  };
}
