// What `npm start` runs, where: read from the multi-app run file (dapr.yaml),
// shifted by LOCAL_PORT_OFFSET when asked, with the ports checked before
// anything starts.
import { execFileSync } from 'node:child_process';
import { readFileSync } from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { parse } from 'yaml';
import { ROOT } from '../lib/sidecar.js';

export interface AppPlan {
  appId: string;
  dir: string;
  command: string[];
  env: Record<string, string>;
  appPort: number;
  httpPort: number;
  grpcPort: number;
  internalGrpcPort: number;
  metricsPort: number;
  /** The app's own metrics listener (METRICS_PORT), if it has one. */
  appMetricsPort?: number;
  maxConcurrency?: number;
}

export interface RunPlan {
  apps: AppPlan[];
  logLevel: string;
  sentry: { port: number; healthzPort: number; metricsPort: number };
}

interface RunFileApp {
  appID: string;
  appDirPath: string;
  appPort: number;
  daprHTTPPort: number;
  daprGRPCPort: number;
  daprInternalGRPCPort: number;
  metricsPort: number;
  appMaxConcurrency?: number;
  env?: Record<string, string>;
  command: string[];
}

/** Where our Sentry listens (the dapr CLI's 50001 is inside the usual ephemeral port range). */
const SENTRY = { port: 31001, healthzPort: 31081, metricsPort: 31091 };

export function readPlan(offset = 0): RunPlan {
  const file = parse(readFileSync(path.join(ROOT, 'dapr.yaml'), 'utf8')) as {
    common?: { logLevel?: string; env?: Record<string, string> };
    apps: RunFileApp[];
  };
  const shift = (port: number) => port + offset;
  return {
    logLevel: file.common?.logLevel ?? 'warn',
    sentry: { port: shift(SENTRY.port), healthzPort: shift(SENTRY.healthzPort), metricsPort: shift(SENTRY.metricsPort) },
    apps: file.apps.map((app) => {
      const env = { ...file.common?.env, ...app.env };
      const appMetricsPort = env.METRICS_PORT ? shift(Number(env.METRICS_PORT)) : undefined;
      if (appMetricsPort) env.METRICS_PORT = String(appMetricsPort);
      return {
        appId: app.appID,
        dir: path.resolve(ROOT, app.appDirPath),
        command: app.command,
        env,
        appMetricsPort,
        appPort: shift(app.appPort),
        httpPort: shift(app.daprHTTPPort),
        grpcPort: shift(app.daprGRPCPort),
        internalGrpcPort: shift(app.daprInternalGRPCPort),
        metricsPort: shift(app.metricsPort),
        maxConcurrency: app.appMaxConcurrency,
      };
    }),
  };
}

/** Every port of the plan, with what uses it. */
export function portsOf(plan: RunPlan): { port: number; use: string }[] {
  return [
    { port: plan.sentry.port, use: 'Dapr Sentry (mTLS certificates)' },
    { port: plan.sentry.healthzPort, use: 'Dapr Sentry health' },
    { port: plan.sentry.metricsPort, use: 'Dapr Sentry metrics' },
    ...plan.apps.flatMap((app) => [
      { port: app.appPort, use: `the ${app.appId} app` },
      { port: app.httpPort, use: `${app.appId}'s sidecar (HTTP API)` },
      { port: app.grpcPort, use: `${app.appId}'s sidecar (gRPC API)` },
      { port: app.internalGrpcPort, use: `${app.appId}'s sidecar (internal gRPC)` },
      { port: app.metricsPort, use: `${app.appId}'s sidecar (metrics)` },
      ...(app.appMetricsPort ? [{ port: app.appMetricsPort, use: `the ${app.appId} app (metrics)` }] : []),
    ]),
  ];
}

/** The kernel's range for outgoing connections' local ports: any of them may be held by one at any moment. */
export function ephemeralRange(): [number, number] {
  try {
    const [low, high] = readFileSync('/proc/sys/net/ipv4/ip_local_port_range', 'utf8').trim().split(/\s+/).map(Number);
    return [low!, high!];
  } catch {
    return [32768, 60999];
  }
}

function free(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const server = net.createServer();
    server.once('error', () => resolve(false));
    server.listen(port, '0.0.0.0', () => server.close(() => resolve(true)));
  });
}

/** Who holds a port ("node (pid 1234)"), as far as `ss` can tell. */
export function holderOf(port: number): string {
  try {
    const out = execFileSync('ss', ['-Htanp', `sport = :${port}`], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'ignore'] });
    const line = out.split('\n').find(Boolean);
    if (!line) return 'another process';
    const state = line.split(/\s+/)[0];
    const user = /users:\(\("([^"]+)",pid=(\d+)/.exec(line);
    const who = user ? `${user[1]} (pid ${user[2]})` : 'a process this user cannot see';
    return state === 'LISTEN' ? who : `a connection of ${who} (${state})`;
  } catch {
    return 'another process';
  }
}

/** Every port of the plan that is taken, with what holds it. */
export async function takenPorts(plan: RunPlan): Promise<string[]> {
  const problems: string[] = [];
  for (const { port, use } of portsOf(plan)) {
    if (!(await free(port))) problems.push(`port ${port} (${use}) is taken by ${holderOf(port)}`);
  }
  return problems;
}
