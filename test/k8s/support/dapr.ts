// Dapr 1.18.3's control plane on a test cluster, as its Helm chart installs
// it where it can be: the CRDs, dapr-system with its trust bundle Secret and
// ConfigMap and the daprsystem Configuration, Sentry in Kubernetes mode, and
// the operator and sidecar injector, each with a certificate Sentry issued
// after validating a service account token bound to the service's pod.
//
// Where this cannot be Helm's: the processes run on this machine, not in
// their pods (kwok reports the pods Running; the processes use the pods'
// tokens); they use the admin kubeconfig instead of their RBAC; the API
// server reaches the webhooks through Endpoints naming this machine's address
// (there is no kube-proxy for a Service's cluster IP); and the daprsystem
// Configuration names Sentry by that address, not by its Service's DNS name
// (there is no cluster DNS).
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { StopWaiting, eventually, freePort, spawnTracked, tail, type Spawned } from '../../support/processes.js';
import { rel, type J } from '../../config/support/manifests.js';
import { runWithEnv, type Cluster } from './cluster.js';

export const CONTROL_PLANE_NAMESPACE = 'dapr-system';
export const TRUST_DOMAIN = 'cluster.local';
export const SENTRY_AUDIENCE = `spiffe://${TRUST_DOMAIN}/ns/${CONTROL_PLANE_NAMESPACE}/dapr-sentry`;
export const SIDECAR_IMAGE = 'ghcr.io/dapr/daprd:1.18.3';
export const CRD_DIR = 'test/config/schemas/dapr-crds-v1.18.3';

export interface DaprControlPlane {
  sentryAddress: string;
  operatorAddress: string;
  trustAnchorsFile: string;
  trustAnchors: string;
  sentry: Spawned;
  processes: Spawned[];
}

const list = (items: J[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });

/** Dapr's CRDs as its chart ships them, the Subscription conversion webhook pointed at dapr-system (the chart's post-install step does that). */
export async function installCrds(cluster: Cluster) {
  for (const file of readdirSync(rel(CRD_DIR)).filter((f) => f.endsWith('.yaml'))) {
    const text = readFileSync(rel(CRD_DIR, file), 'utf8').replace('namespace: replaceme', `namespace: ${CONTROL_PLANE_NAMESPACE}`);
    await cluster.kubectl(['apply', '--server-side', '-f', '-'], text);
  }
  await cluster.kubectl(['wait', '--for=condition=Established', '--timeout=60s', 'crd', '--all']);
}

/** A Service without selector and the Endpoints that point it at a process on this machine. */
function serviceToThisMachine(cluster: Cluster, name: string, port: number) {
  return [
    {
      apiVersion: 'v1',
      kind: 'Service',
      metadata: { name, namespace: CONTROL_PLANE_NAMESPACE },
      spec: { ports: [{ name: 'https', port: 443, targetPort: port, protocol: 'TCP' }] },
    },
    {
      apiVersion: 'v1',
      kind: 'Endpoints',
      metadata: { name, namespace: CONTROL_PLANE_NAMESPACE },
      subsets: [{ addresses: [{ ip: cluster.hostIp }], ports: [{ name: 'https', port, protocol: 'TCP' }] }],
    },
  ];
}

/** The pod a control-plane service runs in: Sentry validates the service's token against it. */
function controlPlanePod(service: 'operator' | 'injector') {
  return {
    apiVersion: 'v1',
    kind: 'Pod',
    metadata: {
      name: `dapr-${service}-0`,
      namespace: CONTROL_PLANE_NAMESPACE,
      labels: { app: `dapr-${service}` },
      annotations: { 'dapr.io/control-plane': service },
    },
    spec: {
      serviceAccountName: `dapr-${service}`,
      containers: [{ name: service, image: `ghcr.io/dapr/${service === 'injector' ? 'dapr' : 'operator'}:1.18.3` }],
    },
  };
}

/** A token for the pod's service account, bound to the pod, with Sentry's audience: what Helm projects into dapr.io/sentrytoken. */
export async function sentryToken(cluster: Cluster, namespace: string, serviceAccount: string, pod: string, file: string) {
  const token = await cluster.kubectl([
    'create',
    'token',
    serviceAccount,
    '-n',
    namespace,
    `--audience=${SENTRY_AUDIENCE}`,
    '--bound-object-kind=Pod',
    `--bound-object-name=${pod}`,
    '--duration=1h',
  ]);
  writeFileSync(file, token.trim());
  return file;
}

export async function startDapr(cluster: Cluster): Promise<DaprControlPlane> {
  const exe = (name: string) => path.join(cluster.bin, name);
  const sentryPort = await freePort();
  const sentryHealth = await freePort();
  const operatorPort = await freePort();
  const operatorHealth = await freePort();
  const webhookPort = await freePort();
  const injectorPort = await freePort();
  const injectorHealth = await freePort();
  const sentryAddress = `${cluster.hostIp}:${sentryPort}`;
  const operatorAddress = `${cluster.hostIp}:${operatorPort}`;
  await installCrds(cluster);
  await cluster.kubectl(
    ['apply', '--server-side', '-f', '-'],
    list([
      { apiVersion: 'v1', kind: 'Namespace', metadata: { name: CONTROL_PLANE_NAMESPACE } },
      // Created empty by the chart, filled by Sentry with the CA it generates.
      { apiVersion: 'v1', kind: 'Secret', metadata: { name: 'dapr-trust-bundle', namespace: CONTROL_PLANE_NAMESPACE } },
      { apiVersion: 'v1', kind: 'ConfigMap', metadata: { name: 'dapr-trust-bundle', namespace: CONTROL_PLANE_NAMESPACE } },
      {
        apiVersion: 'dapr.io/v1alpha1',
        kind: 'Configuration',
        metadata: { name: 'daprsystem', namespace: CONTROL_PLANE_NAMESPACE },
        spec: {
          mtls: {
            enabled: true,
            workloadCertTTL: '24h',
            allowedClockSkew: '15m',
            controlPlaneTrustDomain: TRUST_DOMAIN,
            sentryAddress,
          },
        },
      },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'dapr-operator', namespace: CONTROL_PLANE_NAMESPACE } },
      { apiVersion: 'v1', kind: 'ServiceAccount', metadata: { name: 'dapr-injector', namespace: CONTROL_PLANE_NAMESPACE } },
      ...serviceToThisMachine(cluster, 'dapr-sidecar-injector', injectorPort),
      ...serviceToThisMachine(cluster, 'dapr-webhook', webhookPort),
    ]),
  );
  const env = {
    PATH: process.env.PATH,
    HOME: cluster.dir,
    NAMESPACE: CONTROL_PLANE_NAMESPACE,
    KUBECONFIG: cluster.kubeconfig,
    // In a pod they run as a non-root user; CI runs them as root.
    DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK: 'true',
  };
  const issuerCredentials = path.join(cluster.dir, 'sentry-credentials'); // unused in Kubernetes mode (the CA is in the Secret), but watched
  mkdirSync(issuerCredentials, { recursive: true });
  const sentry = await spawnTracked(
    'sentry',
    exe('sentry'),
    [
      '--mode=kubernetes',
      `--kubeconfig=${cluster.kubeconfig}`,
      '--config=daprsystem',
      `--trust-domain=${TRUST_DOMAIN}`,
      `--port=${sentryPort}`,
      `--healthz-port=${sentryHealth}`,
      '--enable-metrics=false',
      '--log-level=debug', // its reasons for refusing a certificate are logged at debug level
      `--issuer-credentials=${issuerCredentials}`,
    ],
    env,
  );
  const trustAnchors = await eventually(
    async () => {
      if (sentry.child.exitCode !== null) throw new StopWaiting(`sentry exited:\n${tail(sentry.logFile, 40)}`);
      const cm = await cluster.getJson(['get', 'configmap', 'dapr-trust-bundle', '-n', CONTROL_PLANE_NAMESPACE]);
      return cm.data?.['ca.crt'] as string | undefined;
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'Sentry to fill the dapr-trust-bundle ConfigMap' },
  );
  const trustAnchorsFile = path.join(cluster.dir, 'trust-anchors.pem');
  writeFileSync(trustAnchorsFile, trustAnchors);

  // The MutatingWebhookConfiguration as the chart has it, with a throwaway
  // CA's certificate for caBundle: the injector replaces it with Sentry's.
  await cluster.kubectl(
    ['apply', '--server-side', '-f', '-'],
    list([
      controlPlanePod('operator'),
      controlPlanePod('injector'),
      {
        apiVersion: 'admissionregistration.k8s.io/v1',
        kind: 'MutatingWebhookConfiguration',
        metadata: { name: 'dapr-sidecar-injector' },
        webhooks: [
          {
            name: 'sidecar-injector.dapr.io',
            reinvocationPolicy: 'IfNeeded',
            clientConfig: {
              service: { namespace: CONTROL_PLANE_NAMESPACE, name: 'dapr-sidecar-injector', path: '/mutate' },
              caBundle: Buffer.from(readFileSync(cluster.pki.caCert)).toString('base64'),
            },
            rules: [{ apiGroups: [''], apiVersions: ['v1'], resources: ['pods'], operations: ['CREATE'] }],
            failurePolicy: 'Ignore',
            sideEffects: 'None',
            admissionReviewVersions: ['v1', 'v1beta1'],
          },
        ],
      },
    ]),
  );

  const common = {
    DAPR_TRUST_ANCHORS_FILE: trustAnchorsFile,
    DAPR_CONTROL_PLANE_TRUST_DOMAIN: TRUST_DOMAIN,
    DAPR_SENTRY_ADDRESS: sentryAddress,
  };
  const operatorToken = await sentryToken(
    cluster,
    CONTROL_PLANE_NAMESPACE,
    'dapr-operator',
    'dapr-operator-0',
    path.join(cluster.dir, 'operator.token'),
  );
  const operator = await spawnTracked(
    'dapr-operator',
    exe('operator'),
    [
      '--config=daprsystem',
      `--trust-anchors-file=${trustAnchorsFile}`,
      `--port=${operatorPort}`,
      `--healthz-port=${operatorHealth}`,
      `--webhook-server-port=${webhookPort}`,
      '--disable-leader-election',
      '--enable-metrics=false',
      '--watch-interval=0',
    ],
    { ...env, ...common, DAPR_SENTRY_TOKEN_FILE: operatorToken },
  );
  // The injector mutates only pods that these controllers' service accounts
  // create, and reads their UIDs once, at start.
  await eventually(
    async () => {
      const accounts = await cluster.getJson(['get', 'serviceaccounts', '-n', 'kube-system']);
      const names = accounts.items.map((a: J) => a.metadata.name);
      return ['replicaset-controller', 'deployment-controller', 'job-controller', 'statefulset-controller'].every((n) => names.includes(n));
    },
    { timeoutMs: 60_000, intervalMs: 500, what: "the workload controllers' service accounts" },
  );
  const injectorToken = await sentryToken(
    cluster,
    CONTROL_PLANE_NAMESPACE,
    'dapr-injector',
    'dapr-injector-0',
    path.join(cluster.dir, 'injector.token'),
  );
  const injector = await spawnTracked(
    'dapr-injector',
    exe('injector'),
    [`--kubeconfig=${cluster.kubeconfig}`, `--port=${injectorPort}`, `--healthz-port=${injectorHealth}`, '--enable-metrics=false'],
    {
      ...env,
      ...common,
      DAPR_SENTRY_TOKEN_FILE: injectorToken,
      SIDECAR_IMAGE,
      SIDECAR_IMAGE_PULL_POLICY: 'IfNotPresent',
      KUBE_CLUSTER_DOMAIN: TRUST_DOMAIN,
    },
  );
  const healthz = async (p: Spawned, port: number, what: string) =>
    eventually(
      async () => {
        if (p.child.exitCode !== null) throw new StopWaiting(`${p.name} exited (${p.child.exitCode}):\n${tail(p.logFile, 40)}`);
        const res = await fetch(`http://127.0.0.1:${port}/healthz`).catch(() => undefined);
        return res?.ok;
      },
      { timeoutMs: 90_000, intervalMs: 500, what },
    ).catch((err: Error) => {
      throw new Error(`${err.message}\n--- ${p.name} log:\n${tail(p.logFile, 40)}`);
    });
  await healthz(injector, injectorHealth, 'the Dapr injector healthy (certificate from Sentry, webhook caBundle patched)');
  await healthz(operator, operatorHealth, 'the Dapr operator healthy (certificate from Sentry, API and webhook serving)');
  return { sentryAddress, operatorAddress, trustAnchorsFile, trustAnchors, sentry, processes: [sentry, operator, injector] };
}

/**
 * What the operator serves an app, asked as daprd asks at start in a pod:
 * operator-client gets a certificate from Sentry with a service account token
 * bound to the pod, then lists over mTLS. Its last stdout line is the answer.
 */
export async function askOperator(
  cluster: Cluster,
  dapr: DaprControlPlane,
  { pod, appId, config, timeout }: { pod: J; appId: string; config: string; timeout: string },
) {
  const namespace: string = pod.metadata.namespace;
  const tokenFile = await sentryToken(
    cluster,
    namespace,
    pod.spec.serviceAccountName,
    pod.metadata.name,
    path.join(cluster.dir, `${pod.metadata.name}-${appId}.token`),
  );
  return runWithEnv(path.join(cluster.bin, 'operator-client'), [], {
    PATH: process.env.PATH,
    NAMESPACE: namespace,
    APP_ID: appId,
    CONFIG: config,
    DAPR_SENTRY_TOKEN_FILE: tokenFile,
    DAPR_TRUST_ANCHORS_FILE: dapr.trustAnchorsFile,
    DAPR_SENTRY_ADDRESS: dapr.sentryAddress,
    DAPR_OPERATOR_ADDRESS: dapr.operatorAddress,
    DAPR_CONTROL_PLANE_NAMESPACE: CONTROL_PLANE_NAMESPACE,
    DAPR_CONTROL_PLANE_TRUST_DOMAIN: TRUST_DOMAIN,
    TIMEOUT: timeout,
    DAPR_UNSAFE_SKIP_CONTAINER_UID_GID_CHECK: 'true', // in a pod daprd runs as non-root; CI runs as root
  });
}
