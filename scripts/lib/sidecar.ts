// How this project runs daprd next to an app, shared by the local run
// (scripts/local/run.ts) and the test harness (test/support/dapr.ts).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { parseAllDocuments, stringify } from 'yaml';

export const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

/** Component metadata to replace, by component name (e.g. another Redis host). */
export type ComponentOverrides = Record<string, Record<string, string>>;

export interface ResourceOptions {
  /** Where the rendered resources go. */
  dir: string;
  overrides: ComponentOverrides;
  /** The pub/sub component to use (components/pubsub.yaml unless a broker is swapped in). */
  pubsubFile?: string;
  /** The SQLite file of name resolution. */
  namesFile: string;
  /** Where the sidecars get their mTLS certificates. */
  sentryAddress: string;
  /** Spec fields to set in the Configuration (tests). */
  configOverrides?: Record<string, unknown>;
}

export interface Resources {
  dir: string;
  configFile: string;
}

/**
 * Copies the project's own Dapr resources (components/, dapr/config.yaml)
 * with the connection details of this run, Sentry's address, and name
 * resolution through a SQLite file private to the run: mDNS needs multicast,
 * which a loopback-only sandbox may not have, and a private file means two
 * runs on one machine never find each other's sidecars.
 */
export function renderResources({
  dir,
  overrides,
  pubsubFile = 'components/pubsub.yaml',
  namesFile,
  sentryAddress,
  configOverrides = {},
}: ResourceOptions): Resources {
  const resourcesDir = path.join(dir, 'resources');
  mkdirSync(resourcesDir, { recursive: true });
  const files = readdirSync(path.join(ROOT, 'components'))
    .filter((f) => f.endsWith('.yaml') && f !== 'pubsub.yaml')
    .map((f) => path.join('components', f));
  for (const file of [...files, pubsubFile]) {
    const docs = parseAllDocuments(readFileSync(path.join(ROOT, file), 'utf8')).map((d) => d.toJS() as ResourceDoc | null);
    for (const doc of docs) {
      const wanted = overrides[doc?.metadata?.name ?? ''];
      if (doc?.kind !== 'Component' || !wanted) continue;
      for (const [name, value] of Object.entries(wanted)) {
        const item = doc.spec.metadata.find((m) => m.name === name);
        if (item) item.value = value;
        else doc.spec.metadata.push({ name, value });
      }
    }
    writeFileSync(path.join(resourcesDir, path.basename(file)), docs.map((d) => stringify(d)).join('---\n'));
  }
  const config = parseAllDocuments(readFileSync(path.join(ROOT, 'dapr/config.yaml'), 'utf8'))[0]!.toJS() as {
    spec: Record<string, unknown> & { mtls: { sentryAddress?: string } };
  };
  config.spec.mtls.sentryAddress = sentryAddress;
  // A generous busy timeout: sidecars starting together run the resolver's
  // migrations at once (SQLITE_BUSY otherwise). Its garbage collector is off:
  // in components-contrib 1.18 it deletes the rows *younger* than
  // updateInterval (`<` where `>` is meant), so after its first run every
  // live sidecar loses its registration and exits ("Host registration lost").
  // A sidecar that went away stops being resolved after updateInterval.
  config.spec.nameResolution = {
    component: 'sqlite',
    configuration: { connectionString: namesFile, busyTimeout: '10s', cleanupInterval: '0s', updateInterval: '2s' },
  };
  Object.assign(config.spec, configOverrides);
  const configFile = path.join(dir, 'config.yaml');
  writeFileSync(configFile, stringify(config));
  return { dir: resourcesDir, configFile };
}

/** A Dapr resource as the renderer needs it (a Component's metadata items). */
interface ResourceDoc {
  kind?: string;
  metadata?: { name?: string };
  spec: { metadata: { name: string; value: unknown }[] };
}

export interface SidecarPlan {
  appId: string;
  /** None: a sidecar without an app (tests publish "as" an app). */
  appPort?: number;
  httpPort: number;
  grpcPort: number;
  internalGrpcPort: number;
  metricsPort: number;
  resources: Resources;
  sentryAddress: string;
  logLevel: string;
  /** How often the sidecar probes its app's /healthz, and how many failures make it unhealthy. */
  appHealth?: { intervalSeconds: number; threshold: number };
  maxConcurrency?: number;
  gracefulShutdownSeconds?: number;
  extraArgs?: string[];
}

/**
 * The daprd command line: mTLS with certificates from our Sentry, app health
 * checks, and no placement or scheduler address, since the apps use neither
 * actors nor jobs (daprd then says once that actors are disabled).
 */
export function daprdArgs(plan: SidecarPlan): string[] {
  const health = plan.appHealth ?? { intervalSeconds: 1, threshold: 2 };
  return [
    '--app-id',
    plan.appId,
    ...(plan.appPort === undefined
      ? []
      : [
          '--app-port',
          String(plan.appPort),
          '--enable-app-health-check',
          '--app-health-check-path',
          '/healthz',
          '--app-health-probe-interval',
          String(health.intervalSeconds),
          '--app-health-threshold',
          String(health.threshold),
        ]),
    ...(plan.maxConcurrency ? ['--app-max-concurrency', String(plan.maxConcurrency)] : []),
    '--app-protocol',
    'http',
    '--dapr-http-port',
    String(plan.httpPort),
    '--dapr-grpc-port',
    String(plan.grpcPort),
    '--dapr-internal-grpc-port',
    String(plan.internalGrpcPort),
    '--metrics-port',
    String(plan.metricsPort),
    '--resources-path',
    plan.resources.dir,
    '--config',
    plan.resources.configFile,
    '--log-level',
    plan.logLevel,
    '--enable-mtls',
    '--sentry-address',
    plan.sentryAddress,
    '--control-plane-trust-domain',
    'localhost',
    '--dapr-graceful-shutdown-seconds',
    String(plan.gracefulShutdownSeconds ?? 5),
    ...(plan.extraArgs ?? []),
  ];
}

/** What daprd needs in its environment: tokens, the CA to trust, the namespace of its SPIFFE id. */
export function daprdEnv(tokens: { daprApiToken: string; appApiToken: string }, trustAnchors: string): Record<string, string> {
  return { DAPR_API_TOKEN: tokens.daprApiToken, APP_API_TOKEN: tokens.appApiToken, DAPR_TRUST_ANCHORS: trustAnchors, NAMESPACE: 'default' };
}

/**
 * A sidecar whose name resolver failed to initialise still reports healthy,
 * but no other sidecar can find it ("no host found"). This says, from its
 * log, whether it registered ('yes'), failed to ('failed: …'), or not yet.
 */
export function nameRegistration(log: string): 'yes' | 'not yet' | `failed: ${string}` {
  const failure = /.*INIT_COMPONENT_FAILURE.*nr \(.*/.exec(log);
  if (failure) return `failed: ${failure[0].slice(0, 400)}`;
  return log.includes('Initialized name resolution to') ? 'yes' : 'not yet';
}
