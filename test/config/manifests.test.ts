/**
 * The deployment descriptions, checked against the real tools and schemas:
 *
 * - k8s/ is rendered (base and every overlay) with the real kustomize
 *   (k8s/tools/install-kustomize.sh builds v5.8.1 from the Go module proxy);
 * - every Kubernetes object is strict-decoded into the k8s.io/api types, as
 *   the API server's strict field validation does (k8s/tools/kubevalidate):
 *   an unknown or misspelt field, or a value of the wrong type, fails;
 * - every Dapr object (k8s/, components/, dapr/config.yaml) is validated
 *   against the openAPIV3Schema of Dapr 1.18.3's own CRDs
 *   (test/config/schemas/), as a structural schema: undeclared fields fail;
 * - Dapr access control is evaluated by Dapr's own ACL code
 *   (k8s/tools/aclcheck) for the calls the apps make and must not make;
 * - app ids, ports, topics, routes, component names and resiliency agree
 *   between k8s/, components/, dapr/config.yaml, dapr.yaml and tye.yaml;
 * - each service accepts the environment its Deployment gives it (its own
 *   config schema), and every Secret it references is documented in
 *   k8s/secrets.example.yaml and nowhere committed with a value.
 *
 * Needs Go (1.26) the first time, to build the three tools (cached under
 * ~/.cache/recommend-recipe). Run: npx ava test/config/manifests.test.ts
 */
import test, { type ExecutionContext } from 'ava';
import { spawn } from 'node:child_process';
import { existsSync, readdirSync, readFileSync, mkdtempSync, writeFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { fileURLToPath, pathToFileURL } from 'node:url';
import { Ajv, type ErrorObject, type ValidateFunction } from 'ajv';
import { parseAllDocuments } from 'yaml';

// Parsed YAML: deliberately loose, every access is checked by an assertion.
// eslint-disable-next-line @typescript-eslint/no-explicit-any
type J = any;

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const rel = (...parts: string[]) => path.join(root, ...parts);
const APPS = ['gateway', 'myrecipe', 'recipe', 'mypage'] as const;
type App = (typeof APPS)[number];

/** Dapr's internal gRPC port: where a sidecar receives service invocations from other sidecars. */
const DAPR_INTERNAL_GRPC_PORT = 50002;
/** Secret stores daprd provides without a component. */
const BUILTIN_SECRET_STORES = new Set(['kubernetes']);

// ---------------------------------------------------------------- helpers

interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
}

function run(command: string, args: string[], options: { input?: string; cwd?: string; echoStderr?: boolean } = {}): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { cwd: options.cwd ?? root, stdio: ['pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr.setEncoding('utf8').on('data', (d: string) => {
      stderr += d;
      if (options.echoStderr) process.stderr.write(d);
    });
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    child.stdin.end(options.input ?? '');
  });
}

/** YAML as Kubernetes reads it (YAML 1.1: yes/no/on/off are booleans), duplicate keys refused. */
function parseYaml(text: string, where: string): J[] {
  const docs: J[] = [];
  for (const doc of parseAllDocuments(text, { version: '1.1', uniqueKeys: true })) {
    if (doc.errors.length > 0) throw new Error(`${where}: ${doc.errors.map((e) => e.message).join('; ')}`);
    const value = doc.toJS();
    if (value !== null && value !== undefined) docs.push(value);
  }
  return docs;
}

const readYaml = (file: string): J[] => parseYaml(readFileSync(rel(file), 'utf8'), file);
const isDapr = (doc: J) => typeof doc.apiVersion === 'string' && doc.apiVersion.startsWith('dapr.io/');
const describe = (doc: J) => `${doc.kind}/${doc.metadata?.name}`;
const byKind = (docs: J[], kind: string): J[] => docs.filter((d) => d.kind === kind);
const one = (docs: J[], kind: string, name: string): J => {
  const found = docs.filter((d) => d.kind === kind && d.metadata?.name === name);
  if (found.length !== 1) throw new Error(`expected one ${kind}/${name}, found ${found.length}`);
  return found[0];
};
const deploymentOf = (docs: J[], app: string): J => {
  const found = byKind(docs, 'Deployment').filter((d) => d.spec?.template?.metadata?.annotations?.['dapr.io/app-id'] === app);
  if (found.length !== 1) throw new Error(`expected one Deployment with dapr.io/app-id ${app}, found ${found.length}`);
  return found[0];
};
const appContainer = (deployment: J): J => {
  const containers: J[] = deployment.spec.template.spec.containers;
  const port = Number(deployment.spec.template.metadata.annotations['dapr.io/app-port']);
  const found = containers.filter((c) => (c.ports ?? []).some((p: J) => p.containerPort === port));
  if (found.length !== 1) throw new Error(`${describe(deployment)}: expected one container listening on the app port ${port}`);
  return found[0];
};
const labelsMatch = (selector: Record<string, string> | undefined, labels: Record<string, string> | undefined) =>
  Object.entries(selector ?? {}).every(([k, v]) => labels?.[k] === v);
const sameSet = (t: ExecutionContext, actual: Iterable<string>, expected: Iterable<string>, message: string) =>
  t.deepEqual([...new Set(actual)].sort(), [...new Set(expected)].sort(), message);

/** "app=a,b;app2=c" (Dapr's publishingScopes / subscriptionScopes) as a map of sets. */
function parseTopicScopes(value: string | undefined): Map<string, Set<string>> {
  const scopes = new Map<string, Set<string>>();
  for (const part of (value ?? '').split(';')) {
    const [app, topics] = part.split('=').map((s) => s.trim());
    if (!app) continue;
    scopes.set(
      app,
      new Set(
        (topics ?? '')
          .split(',')
          .map((s) => s.trim())
          .filter(Boolean),
      ),
    );
  }
  return scopes;
}
const metadataValue = (component: J, name: string): J => (component.spec.metadata ?? []).find((m: J) => m.name === name)?.value;

// ---------------------------------------------------------------- tools and renders

interface Tools {
  kustomize: string;
  kubevalidate: string;
  aclcheck: string;
}
interface Render {
  name: string;
  dir: string;
  docs: J[];
}

let tools: Tools;
let renders: Render[];
let example: J[]; // k8s/secrets.example.yaml
let daprValidators: Map<string, ValidateFunction>;

async function installTool(name: 'kustomize' | 'kubevalidate' | 'aclcheck'): Promise<string> {
  const script = name === 'kustomize' ? 'k8s/tools/install-kustomize.sh' : 'k8s/tools/install.sh';
  const result = await run('bash', name === 'kustomize' ? [script] : [script, name], { echoStderr: true });
  if (result.code !== 0) throw new Error(`${script} ${name} failed (${result.code})`);
  const bin = result.stdout.trim().split('\n').pop() ?? '';
  if (!existsSync(bin)) throw new Error(`${script} printed ${bin}, which does not exist`);
  return bin;
}

async function kustomizeBuild(dir: string): Promise<J[]> {
  const result = await run(tools.kustomize, ['build', dir]);
  if (result.code !== 0) throw new Error(`kustomize build ${dir} failed:\n${result.stderr}`);
  return parseYaml(result.stdout, `kustomize build ${dir}`);
}

test.before(async (t) => {
  // First run on a machine compiles three Go programs: allow for it.
  t.timeout(30 * 60_000, 'building kustomize, kubevalidate and aclcheck');
  tools = {
    kustomize: await installTool('kustomize'),
    kubevalidate: await installTool('kubevalidate'),
    aclcheck: await installTool('aclcheck'),
  };
  const overlays = readdirSync(rel('k8s/overlays'), { withFileTypes: true }).filter((d) => d.isDirectory());
  const targets = [{ name: 'base', dir: 'k8s/base' }, ...overlays.map((d) => ({ name: d.name, dir: `k8s/overlays/${d.name}` }))];
  renders = [];
  for (const target of targets) renders.push({ ...target, docs: await kustomizeBuild(target.dir) });
  example = readYaml('k8s/secrets.example.yaml');
  daprValidators = loadDaprValidators();
  // The services' config modules import @recipe/shared, which resolves to its build.
  if (!existsSync(rel('packages/shared/dist/index.js'))) {
    const built = await run('npx', ['tsc', '-b', 'packages/shared'], { echoStderr: true });
    if (built.code !== 0) throw new Error('building packages/shared failed');
  }
});

// ---------------------------------------------------------------- Kubernetes schemas

interface KubeResult {
  index: number;
  apiVersion: string;
  kind: string;
  name: string;
  errors: string[];
}

/** Strict-decodes documents into the k8s.io/api types (JSON in, so no YAML re-interpretation). */
async function kubevalidate(docs: J[]): Promise<KubeResult[]> {
  const result = await run(tools.kubevalidate, [], { input: docs.map((d) => JSON.stringify(d)).join('\n---\n') });
  if (result.code !== 0 && result.code !== 1) throw new Error(`kubevalidate failed (${result.code}): ${result.stderr}`);
  return result.stdout
    .split('\n')
    .filter((l) => l.trim())
    .map((l) => JSON.parse(l) as KubeResult);
}

test('kustomize renders the base and every overlay, and every overlay builds on the base', (t) => {
  t.true(renders.length >= 2, 'the base and at least one overlay');
  for (const r of renders) {
    t.true(r.docs.length > 20, `${r.name}: rendered ${r.docs.length} objects`);
    for (const doc of r.docs) {
      t.truthy(doc.apiVersion && doc.kind && doc.metadata?.name, `${r.name}: every object has apiVersion, kind and name`);
    }
    const namespaces = new Set(r.docs.filter((d) => d.kind !== 'Namespace').map((d) => d.metadata.namespace));
    t.is(namespaces.size, 1, `${r.name}: everything in one namespace (${[...namespaces].join(', ')})`);
    t.false(namespaces.has(undefined), `${r.name}: every namespaced object has its namespace set`);
    if (r.name !== 'base') {
      const kustomization = readYaml(`${r.dir}/kustomization.yaml`)[0];
      t.true(
        (kustomization.resources ?? []).some((p: string) => path.resolve(rel(r.dir), p) === rel('k8s/base')),
        `${r.name}: builds on k8s/base`,
      );
    }
  }
});

test('every Kubernetes object strict-decodes into the k8s.io/api types', async (t) => {
  for (const r of renders) {
    const core = r.docs.filter((d) => !isDapr(d));
    const results = await kubevalidate(core);
    t.is(results.length, core.length, `${r.name}: one verdict per object`);
    for (const result of results) t.deepEqual(result.errors, [], `${r.name}: ${result.kind}/${result.name}`);
  }
  const exampleResults = await kubevalidate(example);
  for (const result of exampleResults) t.deepEqual(result.errors, [], `secrets.example.yaml: ${result.kind}/${result.name}`);
});

test('the Kubernetes validation catches misspelt fields, wrong types and bad names', async (t) => {
  const base = renders[0]!.docs;
  const gateway = deploymentOf(base, 'gateway');
  const mutate = (change: (d: J) => void) => {
    const copy = structuredClone(gateway);
    change(copy);
    return copy;
  };
  const cases: [string, J, RegExp][] = [
    [
      'a misspelt probe field',
      mutate((d) => (appContainer(d).readinessProbe.periodSecond = 5)),
      /unknown field .*readinessProbe\.periodSecond/,
    ],
    ['a misspelt spec field', mutate((d) => (d.spec.replica = 2)), /unknown field "spec\.replica"/],
    ['a port as a string', mutate((d) => (appContainer(d).ports[0].containerPort = '8080')), /cannot unmarshal string .*int32/],
    ['a malformed quantity', mutate((d) => (appContainer(d).resources.limits.memory = '256Mbytes')), /quantities must match/],
    ['a name that is no DNS name', mutate((d) => (d.metadata.name = 'Gateway_1')), /metadata\.name: Invalid value/],
    [
      'an unknown kind',
      { apiVersion: 'apps/v1', kind: 'Deploymnet', metadata: { name: 'x', namespace: 'y' } },
      /no kind "Deploymnet" is registered/,
    ],
  ];
  const results = await kubevalidate([gateway, ...cases.map(([, doc]) => doc)]);
  t.deepEqual(results[0]!.errors, [], 'the rendered Deployment itself is valid');
  cases.forEach(([what, , expected], i) => {
    const errors = results[i + 1]!.errors.join('\n');
    t.regex(errors, expected, what);
  });
});

// ---------------------------------------------------------------- Dapr CRD schemas

const OBJECT_META_SCHEMA = {
  type: 'object',
  required: ['name'],
  additionalProperties: false,
  properties: {
    name: { type: 'string', maxLength: 253, pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?(\\.[a-z0-9]([-a-z0-9]*[a-z0-9])?)*$' },
    namespace: { type: 'string', pattern: '^[a-z0-9]([-a-z0-9]*[a-z0-9])?$' },
    labels: { type: 'object', additionalProperties: { type: 'string' } },
    annotations: { type: 'object', additionalProperties: { type: 'string' } },
  },
};

/**
 * A CRD's openAPIV3Schema as the API server applies it with strict field
 * validation: an object schema with declared properties accepts no others
 * (unless it preserves unknown fields or declares additionalProperties).
 */
function structural(node: J): J {
  if (Array.isArray(node)) return node.map(structural);
  if (node === null || typeof node !== 'object') return node;
  const out: J = {};
  for (const [key, value] of Object.entries(node)) {
    if (key.startsWith('x-kubernetes-') || key === 'description') continue;
    if (key === 'properties') out.properties = Object.fromEntries(Object.entries(value as object).map(([p, s]) => [p, structural(s)]));
    else if ((key === 'items' || key === 'additionalProperties') && typeof value === 'object') out[key] = structural(value);
    else out[key] = value;
  }
  if (node.properties && node.additionalProperties === undefined && node['x-kubernetes-preserve-unknown-fields'] !== true)
    out.additionalProperties = false;
  return out;
}

function loadDaprValidators(): Map<string, ValidateFunction> {
  const ajv = new Ajv({ allErrors: true, strict: true, strictTypes: false });
  ajv.addFormat('int32', { type: 'number', validate: (n: number) => Number.isInteger(n) && n >= -(2 ** 31) && n < 2 ** 31 });
  ajv.addFormat('int64', { type: 'number', validate: (n: number) => Number.isInteger(n) });
  const validators = new Map<string, ValidateFunction>();
  const dir = 'test/config/schemas/dapr-crds-v1.18.3';
  for (const file of readdirSync(rel(dir)).filter((f) => f.endsWith('.yaml'))) {
    for (const crd of readYaml(`${dir}/${file}`)) {
      for (const version of crd.spec.versions) {
        const apiVersion = `${crd.spec.group}/${version.name}`;
        const schema = structural(version.schema.openAPIV3Schema);
        schema.required = [...new Set([...(schema.required ?? []), 'apiVersion', 'kind', 'metadata'])];
        schema.properties.apiVersion = { const: apiVersion };
        schema.properties.kind = { const: crd.spec.names.kind };
        schema.properties.metadata = OBJECT_META_SCHEMA;
        validators.set(`${apiVersion}/${crd.spec.names.kind}`, ajv.compile(schema));
      }
    }
  }
  return validators;
}

function daprSchemaErrors(doc: J): string[] {
  const validate = daprValidators.get(`${doc.apiVersion}/${doc.kind}`);
  if (!validate) return [`no Dapr 1.18.3 CRD for ${doc.apiVersion} ${doc.kind}`];
  if (validate(doc)) return [];
  return (validate.errors ?? []).map((e: ErrorObject) => `${e.instancePath || '/'} ${e.message} ${JSON.stringify(e.params)}`);
}

/** Every Dapr resource of the local runs: components/*.yaml and dapr/config.yaml. */
function localDaprDocs(): { file: string; doc: J }[] {
  const yamlIn = (dir: string) =>
    readdirSync(rel(dir))
      .filter((f) => /\.ya?ml$/.test(f))
      .map((f) => `${dir}/${f}`);
  return [...yamlIn('components'), ...yamlIn('components/brokers'), 'dapr/config.yaml'].flatMap((file) =>
    readYaml(file).map((doc) => ({ file, doc })),
  );
}

test('every Dapr object in k8s/ matches the Dapr 1.18.3 CRD schemas', (t) => {
  for (const r of renders) {
    const dapr = r.docs.filter(isDapr);
    t.true(dapr.length >= 10, `${r.name}: the Dapr resources are rendered`);
    for (const doc of dapr) t.deepEqual(daprSchemaErrors(doc), [], `${r.name}: ${describe(doc)}`);
  }
});

test('the local Dapr resources (components/, dapr/config.yaml) match the Dapr 1.18.3 CRD schemas', (t) => {
  const docs = localDaprDocs();
  t.true(docs.length >= 5);
  for (const { file, doc } of docs) {
    t.deepEqual(daprSchemaErrors(doc), [], `${file}: ${describe(doc)}`);
  }
});

test('the Dapr schema validation catches misspelt fields and wrong types', (t) => {
  const base = renders[0]!.docs;
  const mutate = (kind: string, name: string, change: (d: J) => void) => {
    const copy = structuredClone(one(base, kind, name));
    change(copy);
    return copy;
  };
  const cases: [string, J, RegExp][] = [
    [
      'a misspelt route key',
      mutate('Subscription', 'registered', (d) => (d.spec.routes = { defualt: '/events/registered' })),
      /must NOT have additional properties.*defualt/,
    ],
    [
      'v1alpha1 "route" in a v2alpha1 Subscription',
      mutate('Subscription', 'registered', (d) => (d.spec.route = '/x')),
      /additionalProperty":"route"/,
    ],
    ['a misspelt component field', mutate('Component', 'pubsub', (d) => (d.spec.metdata = d.spec.metadata)), /metdata/],
    ['a component without a version', mutate('Component', 'pubsub', (d) => delete d.spec.version), /must have required property 'version'/],
    [
      'maxRetries as a word',
      mutate('Resiliency', 'events-and-stores', (d) => (d.spec.policies.retries.eventDelivery.maxRetries = 'three')),
      /must be integer/,
    ],
    [
      '"appID" for "appId"',
      mutate('Configuration', 'recipe-config', (d) => (d.spec.accessControl.policies[0].appID = d.spec.accessControl.policies[0].appId)),
      /appID/,
    ],
    [
      'mTLS without its required fields',
      mutate('Configuration', 'recipe-config', (d) => (d.spec.mtls = { enabled: true })),
      /required property 'controlPlaneTrustDomain'/,
    ],
    ['a misspelt top-level field', mutate('Component', 'pubsub', (d) => (d.scope = ['gateway'])), /additionalProperty":"scope"/],
  ];
  for (const [what, doc, expected] of cases) t.regex(daprSchemaErrors(doc).join('\n'), expected, what);
});

// Metadata fields each component type reads (components-contrib v1.18.4
// metadata.yaml files, with their authentication profiles), plus what the
// runtime reads for every pub/sub or state store. daprd ignores an unknown
// field silently, so a misspelt one would quietly change behaviour.
/** The apps' own metrics listener (METRICS_PORT), the only app port besides the gateway's opened to anyone. */
const APP_METRICS_PORT = 9464;

const COMPONENT_FIELDS: Record<string, string[]> = {
  // metadata.yaml says "concurrency"; the code (pubsub.Concurrency) reads "concurrencyMode".
  'pubsub.rabbitmq':
    'autoAck caCert clientCert clientKey clientName concurrency concurrencyMode connectionString deletedWhenUnused deliveryMode durable enableDeadLetter exchangeKind heartBeat hostname maxLen maxLenBytes password prefetchCount protocol publishMessagePropertiesToMetadata publisherConfirm reconnectWaitSeconds requeueInFailure saslExternal ttlInSeconds username'.split(
      ' ',
    ),
  'pubsub.jetstream':
    'natsURL token jwt seedKey tls_client_cert tls_client_key name streamName durableName queueGroupName startSequence startTime flowControl ackWait maxDeliver maxAckPending replicas memoryStorage rateLimit heartbeat deliverPolicy ackPolicy domain apiPrefix concurrency backOff'.split(
      ' ',
    ),
  'pubsub.kafka':
    'brokers consumerGroup clientID initialOffset maxMessageBytes consumeRetryInterval consumeRetryEnabled heartbeatInterval sessionTimeout version skipVerify disableTls channelBufferSize consumerFetchMin clientConnectionTopicMetadataRefreshInterval clientConnectionKeepAliveInterval dialTimeout readTimeout writeTimeout metadataTimeout producerRequiredAcks producerRetryMax consumerFetchDefault schemaRegistryURL schemaRegistryAPIKey schemaRegistryAPISecret schemaCachingEnabled schemaLatestVersionCacheTTL escapeHeaders useAvroJSON compression consumerGroupRebalanceStrategy excludeHeaderMetaRegex authType oidcTokenEndpoint oidcClientID oidcClientSecret oidcScopes oidcExtensions oidcClientAssertionCert oidcClientAssertionKey oidcResource oidcAudience oidcKid saslUsername saslPassword saslMechanism caCert clientCert clientKey awsAccessKey awsSecretKey awsSessionToken awsIamRoleArn awsStsSessionName awsRegion'.split(
      ' ',
    ),
  'pubsub.redis':
    'redisHost redisPort consumerID enableTLS insecureSkipTLSVerify clientCert clientKey redeliverInterval processingTimeout queueDepth concurrency redisType redisDB redisMaxRetries redisMinRetryInterval redisMaxRetryInterval dialTimeout readTimeout writeTimeout poolSize poolTimeout maxConnAge minIdleConns idleCheckFrequency idleTimeout failover sentinelMasterName maxLenApprox streamTTL redisUsername redisPassword sentinelUsername sentinelPassword useEntraID'.split(
      ' ',
    ),
  'state.postgresql':
    'timeout tablePrefix metadataTableName cleanupInterval maxConns connectionMaxIdleTime queryExecMode host hostaddr port database user password sslRootCert connectionString useAzureAD useAWSIAM awsAccessKey awsSecretKey awsRegion'.split(
      ' ',
    ),
  'state.redis':
    'redisHost redisPort enableTLS insecureSkipTLSVerify clientCert clientKey failover sentinelMasterName redeliverInterval processingTimeout redisType redisDB redisMaxRetries redisMinRetryInterval redisMaxRetryInterval dialTimeout readTimeout writeTimeout poolSize poolTimeout maxConnAge minIdleConns idleCheckFrequency idleTimeout ttlInSeconds queryIndexes redisUsername redisPassword sentinelUsername sentinelPassword useEntraID'.split(
      ' ',
    ),
  'secretstores.local.env': ['prefix'],
};
const RUNTIME_FIELDS: Record<string, string[]> = {
  pubsub: ['consumerID', 'publishingScopes', 'subscriptionScopes', 'allowedTopics', 'protectedTopics'],
  state: ['keyPrefix', 'actorStateStore'],
  secretstores: [],
};

test('component metadata names only fields the component reads, with string values', (t) => {
  const components = [
    ...renders.flatMap((r) => byKind(r.docs, 'Component').map((doc) => ({ where: r.name, doc }))),
    ...localDaprDocs()
      .filter(({ doc }) => doc.kind === 'Component')
      .map(({ file, doc }) => ({ where: file, doc })),
  ];
  for (const { where, doc } of components) {
    const type: string = doc.spec.type;
    const known = COMPONENT_FIELDS[type];
    t.truthy(known, `${where}: ${describe(doc)} has a type this test knows (${type})`);
    if (!known) continue;
    const allowed = new Set([...known!, ...(RUNTIME_FIELDS[type.split('.')[0]!] ?? [])].map((n) => n.toLowerCase()));
    for (const m of doc.spec.metadata ?? []) {
      t.true(allowed.has(String(m.name).toLowerCase()), `${where}: ${describe(doc)} field "${m.name}" is read by ${type}`);
      if (m.value !== undefined) t.is(typeof m.value, 'string', `${where}: ${describe(doc)} "${m.name}" is a quoted string`);
      t.true(
        (m.value !== undefined) !== (m.secretKeyRef !== undefined),
        `${where}: ${describe(doc)} "${m.name}" has a value or a secretKeyRef`,
      );
    }
  }
});

// ---------------------------------------------------------------- agreement between k8s/, components/, dapr.yaml, tye.yaml

test('app ids, ports and sidecar settings agree across dapr.yaml, tye.yaml and k8s/', (t) => {
  const runFile = readYaml('dapr.yaml')[0];
  const tye = readYaml('tye.yaml')[0];
  const daprExt = tye.extensions.find((e: J) => e.name === 'dapr');
  t.truthy(daprExt, 'tye.yaml enables the Dapr extension');

  sameSet(
    t,
    runFile.apps.map((a: J) => a.appID),
    APPS,
    'dapr.yaml runs the four apps',
  );
  sameSet(
    t,
    tye.services.map((s: J) => s.name),
    APPS,
    'tye.yaml runs the four apps',
  );
  sameSet(t, Object.keys(daprExt.services ?? {}), APPS, 'tye.yaml configures a sidecar per app');

  // Where the sidecars find their resources.
  t.is(
    path.resolve(root, daprExt['components-path']),
    path.resolve(root, runFile.common.resourcesPath),
    'tye components-path = dapr.yaml resourcesPath',
  );
  const tyeConfigFile = path.resolve(root, 'components', `${daprExt.config}.yaml`); // Tye reads components/<config>.yaml
  t.is(tyeConfigFile, path.resolve(root, runFile.common.configFilePath), 'tye config = dapr.yaml configFilePath');
  t.is(daprExt['log-level'], runFile.common.logLevel, 'same sidecar log level');

  for (const app of runFile.apps) {
    const id: App = app.appID;
    const svc = tye.services.find((s: J) => s.name === id);
    const ext = daprExt.services[id];
    t.is(ext['app-id'] ?? id, id, `${id}: tye app id`);
    t.deepEqual([svc.executable, ...String(svc.args).split(' ')], app.command, `${id}: tye runs the dapr.yaml command`);
    t.is(path.resolve(root, svc.workingDirectory), path.resolve(root, app.appDirPath), `${id}: same app directory`);
    const bindings = svc.bindings.filter((b: J) => b.protocol === 'http');
    t.is(bindings.length, 1, `${id}: one http binding in tye.yaml`);
    t.is(Number(bindings[0].port), app.appPort, `${id}: tye app port = dapr.yaml appPort`);
    t.is(Number(ext['http-port']), app.daprHTTPPort, `${id}: tye sidecar http-port`);
    t.is(Number(ext['grpc-port']), app.daprGRPCPort, `${id}: tye sidecar grpc-port`);
    t.is(Number(ext['metrics-port']), app.metricsPort, `${id}: tye sidecar metrics-port`);
    t.is(ext['app-max-concurrency'], app.appMaxConcurrency, `${id}: tye app-max-concurrency = dapr.yaml appMaxConcurrency`);
    const tyeEnv = Object.fromEntries((svc.env ?? []).map((e: J) => [e.name, String(e.value)]));
    t.is(tyeEnv.PORT, String(app.appPort), `${id}: tye tells the app its port`);
    for (const [name, value] of Object.entries({ ...runFile.common.env, ...app.env })) {
      t.is(tyeEnv[name], String(value), `${id}: tye.yaml sets ${name} as dapr.yaml does`);
    }

    for (const r of renders) {
      const deployment = deploymentOf(r.docs, id);
      const annotations = deployment.spec.template.metadata.annotations;
      const container = appContainer(deployment);
      const env = new Set((container.env ?? []).map((e: J) => e.name));
      t.is(annotations['dapr.io/app-port'], String(app.appPort), `${r.name} ${id}: app port = dapr.yaml appPort`);
      t.is(container.env.find((e: J) => e.name === 'PORT')?.value, String(app.appPort), `${r.name} ${id}: PORT = the app port`);
      t.is(annotations['dapr.io/app-protocol'] ?? 'http', runFile.common.appProtocol, `${r.name} ${id}: app protocol`);
      t.is(
        annotations['dapr.io/app-max-concurrency'],
        app.appMaxConcurrency === undefined ? undefined : String(app.appMaxConcurrency),
        `${r.name} ${id}: app-max-concurrency = dapr.yaml`,
      );
      t.is(
        annotations['dapr.io/enable-app-health-check'],
        String(runFile.common.enableAppHealthCheck),
        `${r.name} ${id}: app health check as dapr.yaml`,
      );
      t.is(
        annotations['dapr.io/app-health-check-path'],
        runFile.common.appHealthCheckPath,
        `${r.name} ${id}: app health check path as dapr.yaml`,
      );
      for (const name of Object.keys({ ...runFile.common.env, ...app.env }))
        t.true(env.has(name), `${r.name} ${id}: sets ${name} as dapr.yaml does`);
    }
  }
});

const TOPIC_SCOPE_FIELDS = ['publishingScopes', 'subscriptionScopes', 'allowedTopics', 'protectedTopics'];
/** Where a component connects and how it authenticates: rightly different on Kubernetes. */
const CONNECTION_FIELDS = new Set([
  'redisHost',
  'redisPort',
  'redisUsername',
  'redisPassword',
  'enableTLS',
  'insecureSkipTLSVerify',
  'clientCert',
  'clientKey',
  'connectionString',
  'host',
  'port',
  'user',
  'password',
  'database',
  'sslRootCert',
]);

/** The Kubernetes namespace the Dapr apps of a render run in. */
const namespaceOf = (docs: J[]): string => deploymentOf(docs, 'gateway').metadata.namespace;

test('components, topics, subscriptions and resiliency agree between k8s/ and components/', (t) => {
  const local = localDaprDocs().map(({ doc }) => doc);
  const localComponents = byKind(local, 'Component');
  const localSecretStores = localComponents.filter((c) => c.spec.type.startsWith('secretstores.'));

  for (const r of renders) {
    const ns = namespaceOf(r.docs);
    const components = byKind(r.docs, 'Component');
    // The same components, but for the local secret store: Kubernetes has its own built in.
    sameSet(
      t,
      components.map((c) => c.metadata.name),
      localComponents.filter((c) => !localSecretStores.includes(c)).map((c) => c.metadata.name),
      `${r.name}: the same components as components/ (less the local secret store)`,
    );
    for (const component of components) {
      const name = component.metadata.name;
      const mirror = localComponents.find((c) => c.metadata.name === name);
      if (!mirror) continue;
      sameSet(t, component.scopes ?? [], mirror.scopes ?? [], `${r.name}: ${name} has the same scopes`);
      const kind = component.spec.type.split('.')[0];
      t.is(kind, mirror.spec.type.split('.')[0], `${r.name}: ${name} is a ${kind} in both`);
      if (kind === 'state') {
        t.is(component.spec.type, mirror.spec.type, `${r.name}: ${name} same store type`);
        t.is(component.spec.version, mirror.spec.version, `${r.name}: ${name} same version`);
        for (const field of ['tablePrefix', 'keyPrefix']) {
          t.is(metadataValue(component, field), metadataValue(mirror, field), `${r.name}: ${name} ${field}`);
        }
      }
      if (kind === 'pubsub') {
        const sorted = (scopes: Map<string, Set<string>>) => new Map([...scopes].map(([app, topics]) => [app, [...topics].sort()]));
        for (const field of TOPIC_SCOPE_FIELDS) {
          t.deepEqual(
            Object.fromEntries(sorted(parseTopicScopes(metadataValue(component, field)))),
            Object.fromEntries(sorted(parseTopicScopes(metadataValue(mirror, field)))),
            `${r.name}: ${name} ${field} as components/`,
          );
        }
      }
      if (component.spec.type === mirror.spec.type) {
        // Same kind of component: the same settings, but for where it connects.
        const settings = (c: J) =>
          Object.fromEntries(
            (c.spec.metadata ?? [])
              .filter((m: J) => !CONNECTION_FIELDS.has(m.name) && !TOPIC_SCOPE_FIELDS.includes(m.name))
              .map((m: J) => [m.name, m.value]),
          );
        t.deepEqual(settings(component), settings(mirror), `${r.name}: ${name} has the settings of components/ (connection aside)`);
        t.is(component.spec.version, mirror.spec.version, `${r.name}: ${name} same version`);
      }
    }

    for (const kind of ['Subscription', 'Resiliency']) {
      const mine = byKind(r.docs, kind);
      const theirs = byKind(local, kind);
      sameSet(
        t,
        mine.map((d) => d.metadata.name),
        theirs.map((d) => d.metadata.name),
        `${r.name}: the same ${kind} resources as components/`,
      );
      for (const doc of mine) {
        const mirror = theirs.find((d) => d.metadata.name === doc.metadata.name);
        if (!mirror) continue;
        t.deepEqual(doc.apiVersion, mirror.apiVersion, `${r.name}: ${describe(doc)} apiVersion`);
        t.deepEqual(doc.spec, mirror.spec, `${r.name}: ${describe(doc)} spec as components/`);
        sameSet(t, doc.scopes ?? [], mirror.scopes ?? [], `${r.name}: ${describe(doc)} scopes as components/`);
      }
    }
  }
});

/** What the wiring of one set of Dapr resources must satisfy, locally and on Kubernetes alike. */
function checkWiring(t: ExecutionContext, where: string, docs: J[], ns: string) {
  const components = byKind(docs, 'Component');
  const componentNamed = (name: string) => components.find((c) => c.metadata.name === name);
  const scopedTo = (component: J, app: string) => !component.scopes || component.scopes.includes(app);

  for (const sub of byKind(docs, 'Subscription')) {
    const pubsub = componentNamed(sub.spec.pubsubname);
    t.truthy(pubsub, `${where}: ${describe(sub)} uses an existing pub/sub (${sub.spec.pubsubname})`);
    if (!pubsub) continue;
    const publishing = parseTopicScopes(metadataValue(pubsub, 'publishingScopes'));
    const subscribing = parseTopicScopes(metadataValue(pubsub, 'subscriptionScopes'));
    t.truthy(sub.spec.deadLetterTopic, `${where}: ${describe(sub)} has a dead-letter topic`);
    t.true((sub.scopes ?? []).length > 0, `${where}: ${describe(sub)} is scoped to its subscribers`);
    for (const app of sub.scopes ?? []) {
      t.true(scopedTo(pubsub, app), `${where}: ${app} may use ${pubsub.metadata.name}`);
      if (subscribing.size > 0)
        t.true(subscribing.get(app)?.has(sub.spec.topic) ?? false, `${where}: ${app} may subscribe to ${sub.spec.topic}`);
      if (publishing.size > 0)
        t.true(publishing.get(app)?.has(sub.spec.deadLetterTopic) ?? false, `${where}: ${app} may publish ${sub.spec.deadLetterTopic}`);
      // The route is a handler the app really has.
      for (const route of [sub.spec.routes?.default, ...(sub.spec.routes?.rules ?? []).map((r: J) => r.path)].filter(Boolean)) {
        const source = readFileSync(rel(`services/${app}/src/routes.ts`), 'utf8');
        t.true(source.includes(`router.post('${route}'`), `${where}: ${app} handles ${sub.spec.topic} on POST ${route}`);
      }
    }
  }

  // Each store's owner runs the app's own outbox (packages/shared/src/outbox.ts):
  // it publishes intents to <app>-outbox and relays them from its subscription.
  for (const store of components.filter((c) => c.spec.type.startsWith('state.'))) {
    t.deepEqual(
      store.spec.metadata.filter((m: J) => m.name.startsWith('outbox')),
      [],
      `${where}: ${describe(store)} leaves Dapr's built-in outbox off`,
    );
    const pubsub = componentNamed('pubsub');
    if (!pubsub) continue;
    const scopesOf = (component: J) =>
      [
        ['publish', parseTopicScopes(metadataValue(component, 'publishingScopes'))],
        ['subscribe to', parseTopicScopes(metadataValue(component, 'subscriptionScopes'))],
      ] as const;
    for (const app of store.scopes ?? []) {
      const topic = `${app}-outbox`;
      t.true(scopedTo(pubsub, app), `${where}: ${app} (owner of ${store.metadata.name}) may use ${pubsub.metadata.name}`);
      const relay = byKind(docs, 'Subscription').find(
        (sub) => sub.spec.topic === topic && sub.spec.pubsubname === 'pubsub' && (sub.scopes ?? []).includes(app),
      );
      t.truthy(relay, `${where}: ${app} subscribes to its outbox topic ${topic}`);
      for (const [label, scopes] of scopesOf(pubsub))
        if (scopes.size > 0) t.true(scopes.get(app)?.has(topic) ?? false, `${where}: ${app} may ${label} ${topic}`);
    }
  }

  for (const resiliency of byKind(docs, 'Resiliency')) {
    for (const name of Object.keys(resiliency.spec.targets.components ?? {})) {
      t.truthy(componentNamed(name), `${where}: ${describe(resiliency)} targets an existing component (${name})`);
    }
    for (const name of Object.keys(resiliency.spec.targets.apps ?? {}))
      t.true((APPS as readonly string[]).includes(name), `${where}: ${describe(resiliency)} targets an app (${name})`);
  }
}

test('every topic, route and component name referenced is wired up', (t) => {
  checkWiring(
    t,
    'components/',
    localDaprDocs().map(({ doc }) => doc),
    'default',
  );
  for (const r of renders) {
    checkWiring(t, r.name, r.docs, namespaceOf(r.docs));
    // Components the apps address by name (their environment) exist and are scoped to them.
    const configMap = byKind(r.docs, 'ConfigMap').find((c) => c.metadata.name.startsWith('recommend-recipe-config'));
    for (const app of APPS) {
      const env = resolveEnv(r.docs, deploymentOf(r.docs, app), configMap);
      for (const variable of ['PUBSUB_NAME', 'STATE_STORE']) {
        const name = env[variable];
        if (name === undefined) continue;
        const component = byKind(r.docs, 'Component').find((c) => c.metadata.name === name);
        t.truthy(component, `${r.name}: ${app}'s ${variable} names an existing component (${name})`);
        if (!component) continue;
        t.true(!component.scopes || component.scopes.includes(app), `${r.name}: ${name} is scoped to ${app}`);
      }
      const store = env.JWT_SECRET_STORE;
      if (store !== undefined) {
        const component = byKind(r.docs, 'Component').find((c) => c.metadata.name === store);
        t.true(
          BUILTIN_SECRET_STORES.has(store) || component?.spec.type.startsWith('secretstores.'),
          `${r.name}: ${app}'s secret store ${store} exists`,
        );
      }
    }
  }
});

// ---------------------------------------------------------------- environment and secrets

/** The environment a Deployment gives its app container, as Kubernetes resolves it (secrets from the example). */
function resolveEnv(docs: J[], deployment: J, configMap: J): Record<string, string> {
  const env: Record<string, string> = {};
  for (const e of appContainer(deployment).env ?? []) {
    if (e.value !== undefined) env[e.name] = String(e.value);
    const cm = e.valueFrom?.configMapKeyRef;
    if (cm) {
      const source = byKind(docs, 'ConfigMap').find((c) => c.metadata.name === cm.name) ?? configMap;
      const value = source?.data?.[cm.key];
      if (value !== undefined) env[e.name] = value;
      else if (!cm.optional) throw new Error(`${describe(deployment)}: ${e.name} needs ConfigMap ${cm.name} key ${cm.key}`);
    }
    const secret = e.valueFrom?.secretKeyRef;
    if (secret) {
      const value = example.find((s) => s.metadata.name === secret.name)?.stringData?.[secret.key];
      if (value !== undefined) env[e.name] = value;
      else if (!secret.optional) throw new Error(`${describe(deployment)}: ${e.name} needs Secret ${secret.name} key ${secret.key}`);
    }
  }
  return env;
}

/** Every Secret (name, key) the rendered objects make Kubernetes or Dapr read. */
function secretReferences(docs: J[]): { where: string; name: string; key: string }[] {
  const refs: { where: string; name: string; key: string }[] = [];
  for (const d of byKind(docs, 'Deployment')) {
    const annotations = d.spec.template.metadata.annotations ?? {};
    for (const a of ['dapr.io/api-token-secret', 'dapr.io/app-token-secret']) {
      if (annotations[a]) refs.push({ where: `${describe(d)} ${a}`, name: annotations[a], key: 'token' }); // the injector reads key "token"
    }
    for (const c of [...d.spec.template.spec.containers, ...(d.spec.template.spec.initContainers ?? [])]) {
      for (const e of c.env ?? []) {
        const s = e.valueFrom?.secretKeyRef;
        if (s) refs.push({ where: `${describe(d)} env ${e.name}`, name: s.name, key: s.key });
      }
      for (const source of c.envFrom ?? [])
        if (source.secretRef) refs.push({ where: `${describe(d)} envFrom`, name: source.secretRef.name, key: '*' });
    }
  }
  for (const c of byKind(docs, 'Component')) {
    for (const m of c.spec.metadata ?? []) {
      if (m.secretKeyRef)
        refs.push({ where: `${describe(c)} ${m.name}`, name: m.secretKeyRef.name, key: m.secretKeyRef.key ?? m.secretKeyRef.name });
    }
  }
  for (const i of byKind(docs, 'Ingress'))
    for (const tls of i.spec.tls ?? []) refs.push({ where: describe(i), name: tls.secretName, key: 'tls.crt' });
  return refs;
}

test('secrets are referenced, documented in secrets.example.yaml, and never rendered or committed', (t) => {
  for (const r of renders) {
    t.deepEqual(byKind(r.docs, 'Secret').map(describe), [], `${r.name}: no Secret is part of the build`);
    const ns = namespaceOf(r.docs);
    for (const ref of secretReferences(r.docs)) {
      const secret = example.find((s) => s.metadata.name === ref.name);
      t.truthy(secret, `${r.name}: ${ref.where} uses Secret ${ref.name}, listed in secrets.example.yaml`);
      if (!secret) continue;
      t.is(secret.metadata.namespace, ns, `${r.name}: the example puts ${ref.name} in ${ns}`);
      if (ref.key !== '*')
        t.true(ref.key in (secret.stringData ?? {}), `${r.name}: ${ref.where} uses key ${ref.key} of ${ref.name}, listed in the example`);
    }
  }
  for (const secret of example) {
    t.is(secret.kind, 'Secret');
    t.true(
      Object.values(secret.stringData ?? {}).some((v) => String(v).includes('CHANGE-ME')),
      `the example of ${secret.metadata.name} holds placeholders, not real values`,
    );
    t.is(secret.data, undefined, `${secret.metadata.name}: placeholders in stringData only`);
  }
  // The example is not deployed by kustomize, and filled-in copies are ignored by git.
  for (const r of renders) {
    const kustomization = readYaml(`${r.dir}/kustomization.yaml`)[0];
    const inputs = [
      ...(kustomization.resources ?? []),
      ...(kustomization.components ?? []),
      ...(kustomization.patches ?? []).map((p: J) => p.path),
      ...(kustomization.secretGenerator ?? []).flatMap((g: J) => [...(g.files ?? []), ...(g.envs ?? [])]),
    ].filter(Boolean);
    t.false(
      inputs.some((i: string) => i.includes('secrets')),
      `${r.dir}/kustomization.yaml builds no secrets file (${inputs.join(', ')})`,
    );
  }
  t.regex(readFileSync(rel('k8s/.gitignore'), 'utf8'), /^secrets\.yaml$/m, 'k8s/.gitignore keeps filled-in secrets out of git');
});

test('each service accepts the environment its Deployment gives it', async (t) => {
  for (const r of renders) {
    const configMap = byKind(r.docs, 'ConfigMap').find((c) => c.metadata.name.startsWith('recommend-recipe-config'));
    t.truthy(configMap, `${r.name}: the ConfigMap is rendered`);
    t.truthy(configMap.data.POINT, `${r.name}: the ConfigMap carries POINT`);
    for (const app of APPS) {
      const deployment = deploymentOf(r.docs, app);
      const env = resolveEnv(r.docs, deployment, configMap);
      // What the sidecar injector adds to every app container.
      const injected = { DAPR_HTTP_PORT: '3500', DAPR_GRPC_PORT: '50001' };
      const configModule = pathToFileURL(rel(`services/${app}/src/config.ts`)).href;
      const { readConfig } = (await import(configModule)) as { readConfig: (env: NodeJS.ProcessEnv) => Record<string, unknown> };
      let config: Record<string, unknown> = {};
      t.notThrows(() => (config = readConfig({ ...env, ...injected })), `${r.name}: ${app} accepts its environment`);
      for (const name of Object.keys(env)) {
        if (name === 'NODE_OPTIONS') continue; // for node itself
        t.true(name in config, `${r.name}: ${app} reads ${name} (no misspelt variable)`);
      }
      if (app === 'recipe') t.is(config.POINT, Number(configMap.data.POINT), `${r.name}: recipe's POINT comes from the ConfigMap`);
      if (app === 'gateway' && !env.JWT_JWKS_URL) {
        // GET /v1.0/secrets/<store>/<name> and the value of key <name>.
        const name = env.JWT_SECRET_NAME!;
        t.is(env.JWT_SECRET_STORE, 'kubernetes', `${r.name}: the gateway reads its key from Dapr's Kubernetes secret store`);
        t.truthy(example.find((s) => s.metadata.name === name)?.stringData?.[name], `${r.name}: Secret ${name} has a key ${name}`);
        const role = byKind(r.docs, 'Role').find((role) =>
          role.rules.some(
            (rule: J) => rule.resources.includes('secrets') && rule.resourceNames?.includes(name) && rule.verbs.includes('get'),
          ),
        );
        t.truthy(role, `${r.name}: a Role lets the gateway's sidecar get Secret ${name}`);
        const binding = byKind(r.docs, 'RoleBinding').find((b) => b.roleRef.name === role?.metadata.name);
        t.true(
          binding?.subjects.some((s: J) => s.kind === 'ServiceAccount' && s.name === deployment.spec.template.spec.serviceAccountName) ??
            false,
          `${r.name}: bound to the gateway's service account`,
        );
        const dconfig = one(r.docs, 'Configuration', deployment.spec.template.metadata.annotations['dapr.io/config']);
        const scope = (dconfig.spec.secrets?.scopes ?? []).find((s: J) => s.storeName === 'kubernetes');
        t.true(
          !scope || scope.defaultAccess === 'allow' || (scope.allowedSecrets ?? []).includes(name),
          `${r.name}: the gateway's Dapr secret scope allows ${name}`,
        );
      }
    }
  }
});

// ---------------------------------------------------------------- production shape

const HPA_APPS = ['gateway', 'myrecipe'];

test('Deployments are production-shaped: Dapr annotations, probes, rollout, shutdown, resources, security', (t) => {
  const required = [
    'dapr.io/enabled',
    'dapr.io/app-id',
    'dapr.io/app-port',
    'dapr.io/config',
    'dapr.io/enable-app-health-check',
    'dapr.io/app-health-check-path',
    'dapr.io/sidecar-cpu-request',
    'dapr.io/sidecar-cpu-limit',
    'dapr.io/sidecar-memory-request',
    'dapr.io/sidecar-memory-limit',
    'dapr.io/graceful-shutdown-seconds',
    'dapr.io/app-token-secret',
    'dapr.io/api-token-secret',
    'dapr.io/enable-metrics',
    'dapr.io/metrics-port',
  ];
  for (const r of renders) {
    sameSet(
      t,
      byKind(r.docs, 'Deployment').map((d) => d.spec.template.metadata.annotations['dapr.io/app-id']),
      APPS,
      `${r.name}: one Deployment per app`,
    );
    for (const app of APPS) {
      const d = deploymentOf(r.docs, app);
      const where = `${r.name} ${app}`;
      const pod = d.spec.template;
      const annotations = pod.metadata.annotations;
      for (const a of required) t.truthy(annotations[a], `${where}: ${a}`);
      t.is(annotations['dapr.io/enabled'], 'true', `${where}: sidecar injected`);
      t.is(annotations['dapr.io/enable-app-health-check'], 'true', `${where}: app health check on`);
      t.is(annotations['dapr.io/app-health-check-path'], '/healthz', `${where}: app health check on /healthz`);
      t.is(annotations['dapr.io/enable-metrics'], 'true', `${where}: metrics on`);
      t.truthy(one(r.docs, 'Configuration', annotations['dapr.io/config']), `${where}: its Dapr Configuration exists`);
      if (app === 'myrecipe') t.truthy(annotations['dapr.io/app-max-concurrency'], `${where}: concurrency limit`);
      t.true(labelsMatch(d.spec.selector.matchLabels, pod.metadata.labels), `${where}: the selector selects the pods`);

      const c = appContainer(d);
      const portNames = new Map<string, number>((c.ports ?? []).map((p: J) => [p.name, p.containerPort]));
      const probePort = (probe: J) => (typeof probe.httpGet.port === 'string' ? portNames.get(probe.httpGet.port) : probe.httpGet.port);
      const appPort = Number(annotations['dapr.io/app-port']);
      for (const [probe, pathExpected] of [
        ['startupProbe', '/healthz'],
        ['livenessProbe', '/healthz'],
        ['readinessProbe', '/readyz'],
      ] as const) {
        t.is(c[probe]?.httpGet?.path, pathExpected, `${where}: ${probe} on ${pathExpected}`);
        t.is(probePort(c[probe]), appPort, `${where}: ${probe} on the app port`);
      }
      t.is(d.spec.strategy.type, 'RollingUpdate', `${where}: rolling updates`);
      t.is(d.spec.strategy.rollingUpdate.maxUnavailable, 0, `${where}: maxUnavailable 0`);
      const preStop = c.lifecycle?.preStop?.sleep?.seconds;
      t.true(preStop > 0, `${where}: preStop sleep`);
      const grace = pod.spec.terminationGracePeriodSeconds;
      t.true(
        grace >= preStop + Number(annotations['dapr.io/graceful-shutdown-seconds']),
        `${where}: the grace period covers preStop and the sidecar's drain`,
      );
      for (const kind of ['requests', 'limits'])
        for (const res of ['cpu', 'memory']) t.truthy(c.resources?.[kind]?.[res], `${where}: ${kind}.${res}`);
      const sc = c.securityContext ?? {};
      t.true(sc.runAsNonRoot === true || pod.spec.securityContext?.runAsNonRoot === true, `${where}: non-root`);
      t.is(sc.readOnlyRootFilesystem, true, `${where}: read-only root file system`);
      t.is(sc.allowPrivilegeEscalation, false, `${where}: no privilege escalation`);
      t.deepEqual(sc.capabilities?.drop, ['ALL'], `${where}: no capabilities`);
      t.is(pod.spec.securityContext?.seccompProfile?.type, 'RuntimeDefault', `${where}: seccomp`);

      const pdbs = byKind(r.docs, 'PodDisruptionBudget').filter((p) => labelsMatch(p.spec.selector.matchLabels, pod.metadata.labels));
      t.is(pdbs.length, 1, `${where}: one PodDisruptionBudget`);
      const hpas = byKind(r.docs, 'HorizontalPodAutoscaler').filter(
        (h) => h.spec.scaleTargetRef.kind === 'Deployment' && h.spec.scaleTargetRef.name === d.metadata.name,
      );
      if (HPA_APPS.includes(app)) {
        t.is(hpas.length, 1, `${where}: autoscaled`);
        t.is(hpas[0]?.apiVersion, 'autoscaling/v2', `${where}: autoscaling/v2`);
        t.is(d.spec.replicas, undefined, `${where}: the autoscaler owns the replica count`);
        t.true(hpas[0]?.spec.minReplicas >= 2, `${where}: at least two replicas`);
        for (const m of hpas[0]?.spec.metrics ?? []) {
          if (m.type === 'ContainerResource')
            t.true(
              [c.name, 'daprd'].includes(m.containerResource.container),
              `${where}: autoscaler measures a container the pod has (${m.containerResource.container})`,
            );
        }
      } else {
        t.true(d.spec.replicas >= 2, `${where}: at least two replicas`);
      }
    }
  }
});

test('only the gateway is reachable from outside, and apps only through Dapr', (t) => {
  for (const r of renders) {
    const services = byKind(r.docs, 'Service');
    const gatewayPods = deploymentOf(r.docs, 'gateway').spec.template.metadata.labels;
    for (const s of services) {
      const exposed = ['LoadBalancer', 'NodePort', 'ExternalName'].includes(s.spec.type) || (s.spec.externalIPs ?? []).length > 0;
      if (exposed) t.true(labelsMatch(s.spec.selector, gatewayPods), `${r.name}: ${describe(s)} (${s.spec.type}) exposes only the gateway`);
    }
    for (const ingress of byKind(r.docs, 'Ingress')) {
      const backends = [
        ingress.spec.defaultBackend,
        ...(ingress.spec.rules ?? []).flatMap((rule: J) => (rule.http?.paths ?? []).map((p: J) => p.backend)),
      ].filter(Boolean);
      for (const backend of backends) {
        const service = services.find((s) => s.metadata.name === backend.service?.name);
        t.true(
          service !== undefined && labelsMatch(service.spec.selector, gatewayPods),
          `${r.name}: ${describe(ingress)} routes only to the gateway`,
        );
      }
    }

    const policies = byKind(r.docs, 'NetworkPolicy');
    const selectsAll = (p: J) =>
      Object.keys(p.spec.podSelector?.matchLabels ?? {}).length === 0 && (p.spec.podSelector?.matchExpressions ?? []).length === 0;
    t.true(
      policies.some((p) => selectsAll(p) && p.spec.policyTypes.includes('Ingress') && !p.spec.ingress),
      `${r.name}: a default-deny ingress policy`,
    );
    for (const app of APPS) {
      const d = deploymentOf(r.docs, app);
      const labels = d.spec.template.metadata.labels;
      t.true(
        d.spec.template.spec.containers[0].env.some((e: J) => e.name === 'METRICS_PORT' && Number(e.value) === APP_METRICS_PORT),
        `${r.name}: ${app} serves its own /metrics on ${APP_METRICS_PORT}`,
      );
      const appPort = Number(d.spec.template.metadata.annotations['dapr.io/app-port']);
      const metricsPort = Number(d.spec.template.metadata.annotations['dapr.io/metrics-port']);
      const rules = policies.filter((p) => labelsMatch(p.spec.podSelector.matchLabels, labels)).flatMap((p) => p.spec.ingress ?? []);
      const opened = rules.flatMap((rule: J) =>
        (rule.ports ?? [{ port: undefined }]).map((p: J) => ({ port: p.port, from: rule.from as J[] | undefined })),
      );
      const callers = (
        one(r.docs, 'Configuration', d.spec.template.metadata.annotations['dapr.io/config']).spec.accessControl?.policies ?? []
      ).map((p: J) => p.appId);
      if (callers.length > 0)
        t.true(
          opened.some(({ port }) => port === DAPR_INTERNAL_GRPC_PORT),
          `${r.name}: ${app}'s sidecar can be reached by its callers (${callers.join(', ')})`,
        );
      for (const { port, from } of opened) {
        t.not(port, undefined, `${r.name}: ${app}: every rule names its ports`);
        if (port === appPort) t.is(app, 'gateway', `${r.name}: only the gateway's app port is opened (${app}:${port})`);
        else if (port === DAPR_INTERNAL_GRPC_PORT) {
          // Callers of this app's sidecar: exactly the apps its access control lets invoke it.
          const fromApps = (from ?? []).map((f: J) =>
            APPS.find((a) => labelsMatch(f.podSelector?.matchLabels, deploymentOf(r.docs, a).spec.template.metadata.labels)),
          );
          t.false(fromApps.includes(undefined), `${r.name}: ${app}'s sidecar port is open to Dapr apps only`);
          sameSet(t, fromApps as string[], callers, `${r.name}: ${app}'s sidecar port is open to exactly its allowed callers`);
        } else if (port === metricsPort || port === APP_METRICS_PORT) {
          t.true(
            (from ?? []).length > 0 && from!.every((f: J) => f.namespaceSelector && !f.podSelector),
            `${r.name}: ${app}'s metrics only to a monitoring namespace`,
          );
        } else t.fail(`${r.name}: ${app}: unexpected port ${port} opened`);
      }
    }
  }
});

// ---------------------------------------------------------------- Dapr access control, by Dapr's own code

interface AclQuery {
  caller: string;
  namespace?: string;
  trustDomain?: string;
  verb: string;
  method: string;
  allowed?: boolean;
  reason?: string;
}

async function aclcheck(configuration: J, queries: AclQuery[]): Promise<{ decisions: AclQuery[]; metricsPathMatching: string }> {
  const dir = mkdtempSync(path.join(tmpdir(), 'aclcheck-'));
  try {
    const file = path.join(dir, 'configuration.json'); // JSON is YAML
    writeFileSync(file, JSON.stringify(configuration));
    const result = await run(tools.aclcheck, [file], { input: JSON.stringify(queries) });
    if (result.code !== 0) throw new Error(`aclcheck failed (${result.code}): ${result.stderr}`);
    return JSON.parse(result.stdout);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

const RECIPE_ID = '3f1c2a4e-8d7b-4c1e-9f0a-1b2c3d4e5f60';
const MEMBER = encodeURIComponent('alice@example.com');
/** [caller, callee, verb, method, allowed]: the calls the apps make, and the ones they must not be able to make. */
const CALLS: [string, App, string, string, boolean][] = [
  // gateway (services/gateway/src/routes.ts)
  ['gateway', 'myrecipe', 'POST', 'myrecipes', true],
  ['gateway', 'myrecipe', 'GET', `myrecipes/${RECIPE_ID}`, true],
  ['gateway', 'myrecipe', 'DELETE', `myrecipes/${RECIPE_ID}`, true],
  ['gateway', 'recipe', 'GET', `recipes/${RECIPE_ID}`, true],
  ['gateway', 'recipe', 'POST', `recipes/${RECIPE_ID}/recommendations`, true],
  ['gateway', 'mypage', 'GET', 'catalogue', true],
  ['gateway', 'mypage', 'GET', `mypages/${MEMBER}`, true],
  // myrecipe's synchronous point deduction (services/myrecipe/src/main.ts)
  ['myrecipe', 'recipe', 'POST', 'withdrawals', true],
  ['myrecipe', 'recipe', 'POST', 'withdrawal-cancellations', true],
  // Only myrecipe takes points back.
  ['gateway', 'recipe', 'POST', 'withdrawals', false],
  ['gateway', 'recipe', 'POST', 'withdrawal-cancellations', false],
  ['myrecipe', 'recipe', 'DELETE', 'withdrawals', false],
  ['mypage', 'recipe', 'POST', 'withdrawals', false],
  ['recipe', 'recipe', 'POST', 'withdrawals', false],
  ['intruder', 'recipe', 'POST', 'withdrawals', false],
  // Nobody reaches event handlers, internal reads or the gateway through invocation.
  ['gateway', 'recipe', 'POST', 'events/registered', false],
  ['gateway', 'myrecipe', 'POST', 'events/outbox', false],
  ['gateway', 'myrecipe', 'GET', 'members/alice/balance', false],
  ['gateway', 'mypage', 'GET', 'audit/recipes', false],
  ['gateway', 'mypage', 'POST', 'events/deleted', false],
  ['myrecipe', 'recipe', 'POST', `recipes/${RECIPE_ID}/recommendations`, false],
  ['myrecipe', 'mypage', 'GET', `mypages/${MEMBER}`, false],
  ['myrecipe', 'gateway', 'GET', 'myrecipes', false],
  ['recipe', 'myrecipe', 'POST', 'myrecipes', false],
];

/** Everything a callee's sidecar decides about its callers, with that callee's Configuration. */
async function checkAccessControl(t: ExecutionContext, where: string, configFor: (app: App) => J, namespace: string, calls = CALLS) {
  for (const callee of APPS) {
    const configuration = configFor(callee);
    const trustDomain = configuration.spec.accessControl?.trustDomain ?? 'public';
    const mine = calls.filter(([, c]) => c === callee);
    const queries: AclQuery[] = mine.map(([caller, , verb, method]) => ({ caller, namespace, trustDomain, verb, method }));
    // The same caller from elsewhere, or without mTLS, is refused.
    const allowedOnes = mine.filter(([, , , , allowed]) => allowed);
    const strangers = allowedOnes.flatMap(([caller, , verb, method]) => [
      { caller, namespace: `${namespace}-other`, trustDomain, verb, method },
      { caller, namespace, trustDomain: trustDomain === 'public' ? 'cluster.local' : 'public', verb, method },
      { caller: '', verb, method },
    ]);
    const report = await aclcheck(configuration, [...queries, ...strangers]);
    t.is(report.metricsPathMatching, '', `${where}: ${callee}'s metrics path patterns are accepted by daprd`);
    report.decisions.forEach((d, i) => {
      const expected = i < queries.length ? mine[i]![4] : false;
      const who = d.caller ? `spiffe://${d.trustDomain}/ns/${d.namespace}/${d.caller}` : 'a caller without mTLS identity';
      t.is(
        d.allowed,
        expected,
        `${where}: ${who} ${d.verb} ${callee}/${d.method} ${expected ? 'allowed' : 'denied'}${d.reason ? ` (${d.reason})` : ''}`,
      );
    });
  }
}

test('Dapr access control on Kubernetes allows exactly the calls the apps make (Dapr 1.18.3 ACL code)', async (t) => {
  for (const r of renders) {
    const namespace = namespaceOf(r.docs);
    const configs = byKind(r.docs, 'Configuration');
    const trustDomains = new Set(configs.map((c) => c.spec.accessControl?.trustDomain));
    t.is(trustDomains.size, 1, `${r.name}: every app's Configuration declares the same trust domain (it becomes the caller's identity)`);
    for (const c of configs) {
      t.is(c.spec.accessControl?.defaultAction, 'deny', `${r.name}: ${describe(c)} denies by default`);
      t.is(c.spec.mtls?.enabled, true, `${r.name}: ${describe(c)} expects mTLS`);
      for (const p of c.spec.accessControl?.policies ?? []) {
        t.is(p.namespace, namespace, `${r.name}: ${describe(c)} policy for ${p.appId} names the pods' namespace`);
        t.is(
          p.trustDomain,
          c.spec.accessControl.trustDomain,
          `${r.name}: ${describe(c)} policy for ${p.appId} names the callers' trust domain`,
        );
        t.is(p.defaultAction, 'deny', `${r.name}: ${describe(c)} policy for ${p.appId} denies what it does not list`);
      }
    }
    await checkAccessControl(
      t,
      r.name,
      (app) => one(r.docs, 'Configuration', deploymentOf(r.docs, app).spec.template.metadata.annotations['dapr.io/config']),
      namespace,
    );
  }
});

test('the local Dapr configuration allows the same calls and keeps the deduction to myrecipe', async (t) => {
  // One Configuration for every local sidecar; identities are spiffe://public/ns/default/<app-id>.
  const local = readYaml('dapr/config.yaml')[0];
  // Locally, ports are not closed by NetworkPolicy, so only the essential denials are required here.
  const essential = CALLS.filter(
    ([caller, callee, , method, allowed]) => allowed || (callee === 'recipe' && method === 'withdrawals') || caller === 'intruder',
  );
  await checkAccessControl(t, 'dapr/config.yaml', () => local, 'default', essential);
});

test('the access control check reports what Dapr 1.18.3 would really do with a policy', async (t) => {
  // A mid-path "*" never matches in Dapr 1.18.3 (pkg/config/acl_trie.go): such a
  // policy would deny the very call it was written for.
  const configuration = {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Configuration',
    metadata: { name: 'probe' },
    spec: {
      accessControl: {
        defaultAction: 'deny',
        trustDomain: 'public',
        policies: [
          {
            appId: 'myrecipe',
            defaultAction: 'deny',
            trustDomain: 'public',
            namespace: 'ns',
            operations: [
              { name: '/recipes/*/withdrawal', httpVerb: ['POST'], action: 'allow' },
              { name: '/myrecipes', httpVerb: ['POST'], action: 'allow' },
            ],
          },
        ],
      },
      metrics: { enabled: true, http: { increasedCardinality: true, pathMatching: ['/a/{id}', '/a/{other}'] } },
    },
  };
  const base = { caller: 'myrecipe', namespace: 'ns', trustDomain: 'public' };
  const report = await aclcheck(configuration, [
    { ...base, verb: 'POST', method: `recipes/${RECIPE_ID}/withdrawal` },
    { ...base, verb: 'POST', method: 'myrecipes' },
    { ...base, verb: 'POST', method: `myrecipes/${RECIPE_ID}` }, // an operation covers the paths below it
    { ...base, verb: 'GET', method: 'myrecipes' },
  ]);
  t.deepEqual(
    report.decisions.map((d) => d.allowed),
    [false, true, true, false],
  );
  t.regex(report.metricsPathMatching, /conflicts with/, 'conflicting metrics path patterns are reported');
});
