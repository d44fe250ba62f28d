import { execFileSync } from 'node:child_process';
import path from 'node:path';
import {
  ROOT,
  daprdArgs as sidecarArgs,
  daprdEnv as sidecarEnv,
  nameRegistration,
  renderResources as renderShared,
  type ComponentOverrides,
  type Resources,
} from '../../scripts/lib/sidecar.js';
import { startLink, type Link } from './link.js';
import {
  StopWaiting,
  currentRun,
  eventually,
  freePort,
  logOf,
  spawnTracked,
  stopProcess,
  signalProcess,
  tail,
  type Spawned,
} from './processes.js';

export { ROOT };

let binDir: string | undefined;
/** The real daprd, from dapr/install.sh (built once per machine, then cached). */
export function daprBin(name: 'daprd' | 'sentry' | 'placement' = 'daprd'): string {
  if (!binDir) {
    const runtime =
      process.env.DAPR_RUNTIME_PATH ||
      execFileSync('bash', [path.join(ROOT, 'dapr/install.sh')], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'] }).trim();
    binDir = path.join(runtime, '.dapr/bin');
  }
  return path.join(binDir, name);
}

/**
 * The project's own Dapr resources (components/, dapr/config.yaml) in the run
 * directory, with this test system's connection details, its Sentry, and a
 * name-resolution file of its own, so test sidecars never find a developer's
 * running apps (or another run's).
 */
export async function renderResources(
  label: string,
  overrides: ComponentOverrides,
  sentryAddress: string,
  { pubsubFile = 'components/pubsub.yaml' } = {},
): Promise<Resources> {
  const run = await currentRun();
  return renderShared({
    dir: path.join(run.dir, `resources-${label}`),
    overrides,
    pubsubFile,
    namesFile: path.join(run.dir, `names-${label}.db`),
    sentryAddress,
  });
}

/** One app's pair of tokens; no other app holds them. */
export interface AppTokens {
  /** The app sends it to its sidecar; the sidecar refuses calls without it. */
  daprApiToken: string;
  /** The sidecar sends it to its app; the app refuses calls without it. */
  appApiToken: string;
}

/** What every sidecar of one system shares (its resources and CA), and each app's own tokens, by app id. */
export interface Mesh {
  resources: Resources;
  sentry: { address: string; trustAnchors: string };
  tokens: Readonly<Record<string, AppTokens>>;
}

/** The tokens of one app of the mesh; an app without its own pair does not start. */
export function tokensOf(mesh: Mesh, appId: string): AppTokens {
  const tokens = mesh.tokens[appId];
  if (!tokens) throw new Error(`no API tokens for app ${appId}: every app has its own pair`);
  return tokens;
}

export interface ServiceOptions {
  appId: string;
  /** Names this instance's processes and logs (several replicas share one app id). */
  instance?: string;
  /** Directory under services/ holding the built app; none: a sidecar alone. */
  service?: string;
  mesh: Mesh;
  env?: Record<string, string>;
  daprdEnv?: Record<string, string>;
  daprdArgs?: string[];
  /** Put a faulty link between the sidecar and the app (sidecar -> link -> app). */
  linkApp?: boolean;
  /** Put a faulty link between the app and its sidecar (app -> link -> sidecar). */
  linkSidecar?: boolean;
}

export interface RunningService {
  appId: string;
  /** This app's tokens: to its sidecar (daprApiToken), from its sidecar (appApiToken). */
  daprApiToken: string;
  appApiToken: string;
  /** Unique name of this instance (its logs are <instance>-app.log, <instance>-daprd.log). */
  instance: string;
  appPort: number;
  daprHttpPort: number;
  /** The sidecar's Prometheus metrics port. */
  metricsPort: number;
  /** The app's own Prometheus metrics port (never its app port). */
  appMetricsPort: number;
  appUrl: string;
  daprUrl: string;
  app: Spawned;
  daprd: Spawned;
  startApp(): Promise<void>;
  stopApp(signal?: NodeJS.Signals): Promise<void>;
  startSidecar(): Promise<void>;
  stopSidecar(signal?: NodeJS.Signals): Promise<void>;
  signalApp(signal: NodeJS.Signals): void;
  appLink?: Link;
  sidecarLink?: Link;
  stop(): Promise<void>;
  /**
   * Takes the replica out of service the way a rolling update does: SIGTERM
   * to the app, which finishes its requests (with its sidecar still there),
   * then SIGTERM to the sidecar, which leaves name resolution.
   */
  retire(): Promise<void>;
  logs(): string;
}

/** A start that failed on something outside the app: a taken port, a name resolver that could not initialise. */
const RETRYABLE_START = /EADDRINUSE|address already in use|name resolution failed/;

/** An app and its real daprd sidecar, on free ports. */
export async function startService(options: ServiceOptions): Promise<RunningService> {
  // Another test process may grab one of our free ports before we bind it:
  // a start that fails on a taken port is tried again with new ones.
  for (let attempt = 1; ; attempt++) {
    try {
      return await startServiceOnce(options);
    } catch (err) {
      if (attempt >= 3 || !RETRYABLE_START.test((err as Error).message)) throw err;
    }
  }
}

async function startServiceOnce(options: ServiceOptions): Promise<RunningService> {
  const [appPort, daprHttpPort, daprGrpcPort, internalGrpcPort, metricsPort, appMetricsPort] = await Promise.all(
    Array.from({ length: 6 }, freePort),
  );
  const { mesh } = options;
  const tokens = tokensOf(mesh, options.appId);
  const appLink = options.linkApp ? await startLink(appPort!) : undefined;
  const sidecarLink = options.linkSidecar ? await startLink(daprHttpPort!) : undefined;
  const appEnv = {
    ...process.env,
    PORT: String(appPort),
    HOST: '127.0.0.1',
    DAPR_HTTP_PORT: String(sidecarLink?.port ?? daprHttpPort),
    DAPR_GRPC_PORT: String(daprGrpcPort),
    DAPR_API_TOKEN: tokens.daprApiToken,
    APP_API_TOKEN: tokens.appApiToken,
    METRICS_PORT: String(appMetricsPort),
    LOG_LEVEL: process.env.TEST_APP_LOG_LEVEL ?? 'info',
    // As dapr.yaml, the Dockerfile and k8s/ run the apps.
    NODE_OPTIONS: '--max-semi-space-size=2',
    ...options.env,
  };
  const daprdEnv = { ...process.env, ...sidecarEnv(tokens, mesh.sentry.trustAnchors), ...options.daprdEnv };
  const withApp = options.service !== undefined;
  const instance = options.instance ?? options.appId;
  const daprdArgs = sidecarArgs({
    appId: options.appId,
    appPort: withApp ? (appLink?.port ?? appPort) : undefined,
    httpPort: daprHttpPort!,
    grpcPort: daprGrpcPort!,
    internalGrpcPort: internalGrpcPort!,
    metricsPort: metricsPort!,
    resources: mesh.resources,
    sentryAddress: mesh.sentry.address,
    logLevel: process.env.TEST_DAPRD_LOG_LEVEL ?? 'info',
    gracefulShutdownSeconds: 2,
    extraArgs: options.daprdArgs,
  });

  const handle = {} as { app?: Spawned; daprd: Spawned };
  const startApp = async () => {
    // TEST_APP_NODE_ARGS: extra flags for node (--cpu-prof, say: it is not allowed in NODE_OPTIONS).
    const nodeArgs = process.env.TEST_APP_NODE_ARGS?.split(' ').filter(Boolean) ?? [];
    if (withApp)
      handle.app = await spawnTracked(
        `${instance}-app`,
        process.execPath,
        [...nodeArgs, path.join(ROOT, 'services', options.service!, 'dist/main.js')],
        appEnv,
        ROOT,
      );
  };
  const startSidecar = async () => {
    handle.daprd = await spawnTracked(`${instance}-daprd`, daprBin(), daprdArgs, daprdEnv);
  };
  const appUrl = `http://127.0.0.1:${appPort}`;
  const daprUrl = `http://127.0.0.1:${daprHttpPort}`;
  const logs = () =>
    `--- ${options.appId} app ---\n${handle.app ? tail(handle.app.logFile) : '(none)'}\n--- ${options.appId} daprd ---\n${tail(handle.daprd.logFile)}`;

  // A process that died while starting (a taken port, a bad flag) fails the start at once.
  const alive = async (check: () => Promise<boolean>) => {
    for (const p of [handle.daprd, handle.app]) {
      if (p && p.child.exitCode !== null) throw new StopWaiting(`${p.name} exited with ${p.child.exitCode} while starting`);
    }
    return check();
  };
  // The app first, its sidecar once the app listens: the sidecar joins name
  // resolution as it starts, and calls routed to it before its app answers
  // fail (five of them open a caller's circuit breaker, as in a rolling
  // restart). Kubernetes, likewise, routes to a pod only once it is ready.
  await startApp();
  try {
    if (withApp)
      // mypage migrates its database before it listens, and a replica waits for
      // another's migration: on a loaded machine that has taken 37 s (CI).
      await eventually(() => alive(() => httpOk(`${appUrl}/healthz`)), { what: `${options.appId} app listening`, timeoutMs: 90_000 });
    await startSidecar();
  } catch (err) {
    if (handle.app) await stopProcess(handle.app, 'SIGKILL');
    await Promise.all([appLink?.close(), sidecarLink?.close()]);
    throw new Error(`${(err as Error).message}\n--- ${options.appId} app ---\n${handle.app ? tail(handle.app.logFile) : '(none)'}`);
  }
  try {
    await eventually(() => alive(() => httpOk(`${daprUrl}/v1.0/healthz`)), { what: `${options.appId} sidecar ready`, timeoutMs: 60_000 });
    await nameRegistered(handle.daprd);
    if (withApp) {
      await eventually(() => alive(() => httpOk(`${appUrl}/readyz`)), { what: `${options.appId} app ready`, timeoutMs: 30_000 });
      // The sidecar is ready before its first app health probe: until then it
      // refuses calls ("app is not in a healthy state"). Wait for its verdict.
      await eventually(() => alive(async () => logOf(handle.daprd).includes('App entered healthy status')), {
        what: `${options.appId} healthy in its sidecar's eyes`,
        timeoutMs: 30_000,
      });
    }
  } catch (err) {
    const failure = new Error(`${(err as Error).message}\n${logs()}`);
    await Promise.all([handle.app && stopProcess(handle.app, 'SIGKILL'), stopProcess(handle.daprd, 'SIGKILL')]);
    await Promise.all([appLink?.close(), sidecarLink?.close()]);
    throw failure;
  }

  return {
    appId: options.appId,
    ...tokens,
    instance,
    appPort,
    daprHttpPort,
    metricsPort,
    appMetricsPort: appMetricsPort!,
    appUrl,
    daprUrl,
    get app() {
      return handle.app!;
    },
    get daprd() {
      return handle.daprd;
    },
    startApp: async () => {
      await startApp();
      await eventually(() => httpOk(`${appUrl}/healthz`), { what: `${options.appId} app restarted`, timeoutMs: 30_000 });
    },
    stopApp: async (signal = 'SIGTERM') => handle.app && stopProcess(handle.app, signal),
    startSidecar: async () => {
      await startSidecar();
      await eventually(() => httpOk(`${daprUrl}/v1.0/healthz`), { what: `${options.appId} sidecar restarted`, timeoutMs: 60_000 });
      await nameRegistered(handle.daprd);
    },
    stopSidecar: (signal = 'SIGTERM') => stopProcess(handle.daprd, signal),
    signalApp: (signal) => handle.app && signalProcess(handle.app, signal),
    appLink,
    sidecarLink,
    stop: async () => {
      await Promise.all([handle.app && stopProcess(handle.app), stopProcess(handle.daprd)]);
      await Promise.all([appLink?.close(), sidecarLink?.close()]);
    },
    retire: async () => {
      if (handle.app) await stopProcess(handle.app, 'SIGTERM', 15_000);
      await stopProcess(handle.daprd, 'SIGTERM', 15_000);
      await Promise.all([appLink?.close(), sidecarLink?.close()]);
    },
    logs,
  } as RunningService;
}

/**
 * A sidecar whose name resolver failed to initialise still reports healthy,
 * but no other sidecar can find it ("no host found"). A start is complete only
 * once it has registered its address; a failure fails the start (retried).
 */
async function nameRegistered(daprd: Spawned): Promise<void> {
  await eventually(
    async () => {
      const registered = nameRegistration(logOf(daprd));
      if (registered.startsWith('failed')) throw new StopWaiting(`name resolution ${registered}`);
      return registered === 'yes';
    },
    { what: `${daprd.name} registered with name resolution`, timeoutMs: 30_000 },
  );
}

async function httpOk(url: string, headers: Record<string, string> = {}): Promise<boolean> {
  const res = await fetch(url, { headers, signal: AbortSignal.timeout(2_000) }).catch(() => undefined);
  return res !== undefined && res.status >= 200 && res.status < 300;
}
