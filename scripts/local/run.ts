// `npm start` (after scripts/start.sh has installed, built and found the Dapr
// runtime): Dapr Sentry, then every app of dapr.yaml with its daprd, then a
// message once everything is ready. Ctrl-C or SIGTERM stops it all in order:
// the apps first (they finish their requests, their sidecars still there),
// then the sidecars, then Sentry; nothing is left running or listening.
//
// It launches daprd itself rather than through `dapr run -f .`: the dapr CLI
// this machine can build (1.12, the newest the Go module proxy serves) always
// points sidecars at a placement service, which the apps do not need (they
// use no actors) and which, without mTLS of its own, keeps every sidecar
// "not ready" forever; it can only find Sentry at localhost:50001, inside the
// kernel's ephemeral port range; and its sidecars outlive a Ctrl-C.
//
// Settings (environment): LOCAL_RUN_DIR (default .tmp) holds secrets, logs
// and Sentry's CA; LOCAL_PORT_OFFSET shifts every port; LOCAL_REDIS
// (host:port, default localhost:6379) and LOCAL_DATABASE (default
// recommend_recipe, on PostgreSQL at localhost:5432) are the stores.
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { createWriteStream, existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { createInterface } from 'node:readline';
import { readLocalSecrets, tokenNames, writeLocalSecrets } from '../lib/local.js';
import { ROOT, daprdArgs, daprdEnv, nameRegistration, renderResources } from '../lib/sidecar.js';
import { prepareStores } from '../prepare-local.js';
import { ephemeralRange, portsOf, readPlan, takenPorts, type AppPlan } from './plan.js';

const runDir = path.resolve(ROOT, process.env.LOCAL_RUN_DIR ?? '.tmp');
const offset = Number(process.env.LOCAL_PORT_OFFSET ?? 0);
const redis = process.env.LOCAL_REDIS ?? 'localhost:6379';
const database = process.env.LOCAL_DATABASE ?? 'recommend_recipe';
const bin = path.join(process.env.DAPR_RUNTIME_PATH ?? path.join(process.env.HOME ?? '', '.dapr/recommend-recipe'), '.dapr/bin');
const stateDir = path.join(runDir, 'run');
const logDir = path.join(runDir, 'logs');

const say = (line: string) => process.stdout.write(`${line}\n`);
const fail = (line: string): never => {
  process.stderr.write(`${line}\n`);
  process.exit(1);
};

interface Child {
  name: string;
  kind: 'app' | 'sidecar' | 'sentry';
  /** Stopped on purpose: its exit is not news. */
  quiet?: boolean;
  process: ChildProcess;
  log: string;
  exited: Promise<number | null>;
}
const children: Child[] = [];
let stopping = false;
let ready = false;

const alive = (pid: number) => {
  try {
    process.kill(pid, 0);
    return true;
  } catch {
    return false;
  }
};

/** One `npm start` at a time per run directory; what a killed one left behind goes. */
function claimRunDirectory() {
  mkdirSync(stateDir, { recursive: true });
  const ownerFile = path.join(stateDir, 'owner.pid');
  const owner = existsSync(ownerFile) ? Number(readFileSync(ownerFile, 'utf8')) : 0;
  if (owner && owner !== process.pid && alive(owner))
    fail(`npm start is already running here (pid ${owner}); stop it first (Ctrl-C in its terminal, or kill ${owner}).`);
  const pidsFile = path.join(stateDir, 'pids');
  if (existsSync(pidsFile)) {
    const left = readFileSync(pidsFile, 'utf8').split('\n').filter(Boolean).map(Number).filter(alive);
    for (const pid of left) {
      for (const target of [-pid, pid]) {
        try {
          process.kill(target, 'SIGKILL');
        } catch {
          // gone
        }
      }
    }
    if (left.length) say(`[start] stopped ${left.length} process(es) an earlier npm start left behind`);
  }
  writeFileSync(ownerFile, String(process.pid));
  writeFileSync(pidsFile, '');
}

/**
 * The local secrets, made once: the JWT signing key, and each app's own pair of
 * tokens between it and its sidecar (one app's token opens no other sidecar).
 */
function localSecrets(): Record<string, string> {
  const existing = readLocalSecrets(runDir);
  // The one pair all apps shared before each app had its own.
  delete existing.DAPR_API_TOKEN;
  delete existing.APP_API_TOKEN;
  const secrets = { ...existing };
  const names = ['RECIPE_SECRET_JWT_SIGNING_KEY', ...plan.apps.flatMap((app) => Object.values(tokenNames(app.appId)))];
  for (const name of names) secrets[name] ??= randomBytes(32).toString('hex');
  writeLocalSecrets(secrets, runDir);
  return secrets;
}

/** Starts a process in its own process group (so a Ctrl-C reaches it only through us), logging to a file. */
function start(
  name: string,
  kind: Child['kind'],
  command: string,
  args: string[],
  options: { cwd?: string; env: NodeJS.ProcessEnv; show: (line: string) => boolean },
): Child {
  const log = path.join(logDir, `${name}.log`);
  const file = createWriteStream(log, { flags: 'a' });
  const child = spawn(command, args, { cwd: options.cwd, env: options.env, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
  writeFileSync(path.join(stateDir, 'pids'), `${child.pid}\n`, { flag: 'a' });
  for (const stream of [child.stdout, child.stderr]) {
    createInterface({ input: stream }).on('line', (line) => {
      file.write(`${line}\n`);
      if (options.show(line)) say(`${name.padEnd(16)}| ${line}`);
    });
  }
  const exited = new Promise<number | null>((resolve) => child.once('exit', (code) => resolve(code)));
  const entry: Child = { name, kind, process: child, log, exited };
  void exited.then((code) => {
    if (stopping || entry.quiet) return;
    if (!ready) fail(`[start] ${name} exited with code ${code} while starting; its log: ${log}`);
    say(`[start] ${name} exited with code ${code}; its log: ${log}`);
  });
  children.push(entry);
  return entry;
}

/** daprd's warnings and errors go to the terminal; everything it says goes to its log file. */
const important = (line: string) => /level=(warning|error|fatal)/.test(line);

async function until<T>(what: string, check: () => Promise<T | undefined> | T | undefined, timeoutMs = 90_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const result = await check();
    if (result !== undefined && result !== false) return result;
    if (Date.now() > deadline) fail(`[start] timed out waiting for ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
}

const httpOk = (url: string) =>
  fetch(url, { signal: AbortSignal.timeout(2_000) }).then(
    (r) => r.ok || undefined,
    () => undefined,
  );

async function stopAll(signal: string) {
  if (stopping) {
    // A second Ctrl-C: no more waiting.
    for (const child of children) signalGroup(child, 'SIGKILL');
    return;
  }
  stopping = true;
  say(`\n[start] ${signal}: stopping the apps (they finish what they are doing), then the sidecars, then Sentry…`);
  for (const kind of ['app', 'sidecar', 'sentry'] as const) {
    const group = children.filter((c) => c.kind === kind && c.process.exitCode === null && c.process.signalCode === null);
    for (const child of group) signalGroup(child, 'SIGTERM');
    await Promise.all(
      group.map(async (child) => {
        const timer = setTimeout(() => signalGroup(child, 'SIGKILL'), 15_000);
        await child.exited;
        clearTimeout(timer);
      }),
    );
  }
  rmSync(path.join(stateDir, 'owner.pid'), { force: true });
  writeFileSync(path.join(stateDir, 'pids'), '');
  say('[start] stopped');
  process.exit(0);
}

/** Signals a child's whole process group, once: a second SIGTERM makes daprd and Sentry skip their graceful shutdown. */
function signalGroup(child: Child, signal: NodeJS.Signals) {
  try {
    process.kill(-child.process.pid!, signal);
  } catch {
    try {
      process.kill(child.process.pid!, signal);
    } catch {
      // already gone
    }
  }
}

process.on('SIGINT', () => void stopAll('Ctrl-C'));
process.on('SIGTERM', () => void stopAll('SIGTERM'));
process.on('SIGHUP', () => void stopAll('SIGHUP'));

// ---------------------------------------------------------------------------

const plan = readPlan(offset);
const [low, high] = ephemeralRange();
const inEphemeral = portsOf(plan).filter(({ port }) => port >= low && port <= high);
if (inEphemeral.length) {
  say(
    `[start] warning: ${inEphemeral.map((p) => `${p.port} (${p.use})`).join(', ')} inside the ephemeral port range ${low}-${high}, where any outgoing connection may hold a port`,
  );
}
const taken = await takenPorts(plan);
if (taken.length)
  fail(`[start] cannot start: ${taken.join('; ')}.\nStop what holds them, or move the whole local run with LOCAL_PORT_OFFSET=<n>.`);

claimRunDirectory();
mkdirSync(logDir, { recursive: true });
const secrets = localSecrets();
const [redisHost, redisPort = '6379'] = redis.split(':');
await prepareStores({ redisHost: redisHost!, redisPort: Number(redisPort), database }).catch((err: Error) =>
  fail(`[start] ${err.message}`),
);

// Sentry: the certificate authority of the sidecars' mTLS. On the first run
// it makes its own CA, then notices the new files and reloads them a few
// times, warning each time: a first, short run makes them, so that the real
// one finds them in place.
const sentryDir = path.join(runDir, 'sentry');
const credentials = path.join(sentryDir, 'credentials');
mkdirSync(credentials, { recursive: true });
writeFileSync(path.join(sentryDir, 'config.yaml'), '');
const startSentry = () =>
  start(
    'sentry',
    'sentry',
    path.join(bin, 'sentry'),
    [
      '--config',
      path.join(sentryDir, 'config.yaml'),
      '--issuer-credentials',
      credentials,
      '--port',
      String(plan.sentry.port),
      '--healthz-port',
      String(plan.sentry.healthzPort),
      '--metrics-port',
      String(plan.sentry.metricsPort),
      '--trust-domain',
      'localhost',
      '--log-level',
      'warn',
    ],
    { env: process.env, show: important },
  );
if (!existsSync(path.join(credentials, 'issuer.key'))) {
  const first = startSentry();
  await until('Dapr Sentry to make its CA', () => existsSync(path.join(credentials, 'issuer.key')) || undefined);
  first.quiet = true;
  signalGroup(first, 'SIGTERM');
  await first.exited;
  children.splice(children.indexOf(first), 1);
}
startSentry();
await until('Dapr Sentry', () => httpOk(`http://127.0.0.1:${plan.sentry.healthzPort}/healthz`));
const trustAnchors = readFileSync(path.join(sentryDir, 'credentials', 'ca.crt'), 'utf8');
const sentryAddress = `127.0.0.1:${plan.sentry.port}`;

const namesFile = path.join(stateDir, 'names.db');
rmSync(namesFile, { force: true });
const resources = renderResources({
  dir: path.join(stateDir, 'dapr'),
  overrides: {
    pubsub: { redisHost: redis },
    'recipe-store': { redisHost: redis },
    'myrecipe-store': { connectionString: `host=localhost port=5432 user=postgres database=${database}` },
  },
  namesFile,
  sentryAddress,
});
function startApp(app: AppPlan) {
  const names = tokenNames(app.appId);
  const tokens = { daprApiToken: secrets[names.daprApiToken]!, appApiToken: secrets[names.appApiToken]! };
  start(
    `${app.appId}.dapr`,
    'sidecar',
    path.join(bin, 'daprd'),
    daprdArgs({
      appId: app.appId,
      appPort: app.appPort,
      httpPort: app.httpPort,
      grpcPort: app.grpcPort,
      internalGrpcPort: app.internalGrpcPort,
      metricsPort: app.metricsPort,
      resources,
      sentryAddress,
      logLevel: 'info',
      appHealth: { intervalSeconds: 5, threshold: 3 },
      maxConcurrency: app.maxConcurrency,
    }),
    {
      env: { ...process.env, ...daprdEnv(tokens, trustAnchors), RECIPE_SECRET_JWT_SIGNING_KEY: secrets.RECIPE_SECRET_JWT_SIGNING_KEY },
      show: important,
    },
  );
  const [command, ...args] = app.command;
  start(app.appId, 'app', command === 'node' ? process.execPath : command!, args, {
    cwd: app.dir,
    env: {
      ...process.env,
      ...app.env,
      PORT: String(app.appPort),
      DAPR_HTTP_PORT: String(app.httpPort),
      DAPR_GRPC_PORT: String(app.grpcPort),
      DAPR_API_TOKEN: tokens.daprApiToken,
      APP_API_TOKEN: tokens.appApiToken,
      ...(app.appId === 'gateway' ? { RATE_LIMIT_REDIS_URL: `redis://${redis}` } : {}),
      ...(app.appId === 'mypage' ? { DATABASE_URL: `postgres://postgres@127.0.0.1:5432/${database}` } : {}),
    },
    show: () => true,
  });
}

for (const app of plan.apps) startApp(app);
for (const app of plan.apps) {
  const sidecar = children.find((c) => c.name === `${app.appId}.dapr`)!;
  await until(`${app.appId}'s sidecar to register with name resolution`, () => {
    const registered = nameRegistration(existsSync(sidecar.log) ? readFileSync(sidecar.log, 'utf8') : '');
    if (registered.startsWith('failed')) fail(`[start] ${app.appId}'s sidecar: name resolution ${registered}`);
    return registered === 'yes' || undefined;
  });
  await until(`${app.appId} to be ready (GET /readyz)`, () => httpOk(`http://127.0.0.1:${app.appPort}/readyz`));
}

const gateway = plan.apps.find((a) => a.appId === 'gateway')!;
writeFileSync(
  path.join(stateDir, 'local.json'),
  JSON.stringify(
    {
      gatewayUrl: `http://localhost:${gateway.appPort}`,
      sidecars: Object.fromEntries(plan.apps.map((a) => [a.appId, `http://127.0.0.1:${a.httpPort}`])),
      myrecipeDatabaseUrl: `postgres://postgres@127.0.0.1:5432/${database}`,
      recipeRedis: redis,
      pubsubRedis: redis,
    },
    null,
    2,
  ),
);
ready = true;
say(`
Recommend Recipe is ready: http://localhost:${gateway.appPort}  (every app's /readyz answers 200)
  the web app:  http://localhost:${gateway.appPort}/  (sign in with any name)
  sample data:  ${process.env.LOCAL_RUN_DIR ? `LOCAL_RUN_DIR=${process.env.LOCAL_RUN_DIR} ` : ''}npm run seed
  a token:      ${process.env.LOCAL_RUN_DIR ? `LOCAL_RUN_DIR=${process.env.LOCAL_RUN_DIR} ` : ''}npm run -s token -- alice
  try it:       the curl examples in README.md ("API")
  check it:     npm run check   (the invariants of this running system)
  logs:         ${logDir}
  stop:         Ctrl-C here, or kill ${process.pid}
`);
