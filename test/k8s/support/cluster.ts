// A Kubernetes control plane on private ports, built by
// k8s/control-plane/install.sh: etcd, kube-apiserver, kube-controller-manager,
// kube-scheduler, and kwok in place of kubelets (nodes and pods reported
// Running and Ready without containers).
import { spawn } from 'node:child_process';
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import https from 'node:https';
import os from 'node:os';
import path from 'node:path';
import { StopWaiting, eventually, freePort, logOf, spawnTracked, stopProcess, tail, type Spawned } from '../../support/processes.js';
import { feed, run, type J } from '../../config/support/manifests.js';
import { makePki, type Pki } from './pki.js';

export interface Cluster {
  bin: string;
  dir: string;
  kubeconfig: string;
  server: string;
  /** An address of this machine that is not loopback: Endpoints may not point at 127.0.0.0/8. */
  hostIp: string;
  pki: Pki;
  processes: Spawned[];
  kubectl(args: string[], input?: string): Promise<string>;
  /** kubectl, resolving to its result instead of throwing on failure. */
  tryKubectl(args: string[], input?: string): Promise<{ code: number | null; stdout: string; stderr: string }>;
  getJson(args: string[]): Promise<J>;
  stop(): Promise<void>;
}

/** Runs a command with exactly this environment, collecting its output. */
export function runWithEnv(
  command: string,
  args: string[],
  env: NodeJS.ProcessEnv,
  input?: string,
): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, { env, stdio: [input === undefined ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    let stdout = '';
    let stderr = '';
    child.stdout!.setEncoding('utf8').on('data', (d: string) => (stdout += d));
    child.stderr!.setEncoding('utf8').on('data', (d: string) => (stderr += d));
    child.on('error', reject);
    child.on('close', (code) => resolve({ code, stdout, stderr }));
    feed(child.stdin, input);
  });
}

/** Builds (first run on a machine only) and finds the control plane's binaries. */
export async function installControlPlane(): Promise<string> {
  const result = await run('bash', ['k8s/control-plane/install.sh'], { echoStderr: true });
  if (result.code !== 0) throw new Error(`k8s/control-plane/install.sh failed (${result.code})`);
  return result.stdout.trim().split('\n').pop() ?? '';
}

export function nonLoopbackIpv4(): string {
  for (const addresses of Object.values(os.networkInterfaces())) {
    for (const a of addresses ?? []) if (a.family === 'IPv4' && !a.internal) return a.address;
  }
  throw new Error('this machine has no non-loopback IPv4 address (webhook Endpoints need one)');
}

export function writeKubeconfig(file: string, server: string, pki: Pki) {
  writeFileSync(
    file,
    JSON.stringify({
      apiVersion: 'v1',
      kind: 'Config',
      clusters: [{ name: 'test', cluster: { server, 'certificate-authority': pki.caCert } }],
      users: [{ name: 'admin', user: { 'client-certificate': pki.adminCert, 'client-key': pki.adminKey } }],
      contexts: [{ name: 'test', context: { cluster: 'test', user: 'admin' } }],
      'current-context': 'test',
    }),
  );
}

async function healthy(p: Spawned, url: string, pki: Pki, what: string, timeoutMs = 90_000) {
  await eventually(
    async () => {
      if (p.child.exitCode !== null) throw new StopWaiting(`${p.name} exited (${p.child.exitCode}):\n${tail(p.logFile, 30)}`);
      const result = await run('curl', ['-sk', '--max-time', '2', '--cert', pki.adminCert, '--key', pki.adminKey, url]);
      return result.stdout.trim() === 'ok';
    },
    { timeoutMs, intervalMs: 500, what },
  ).catch((err: Error) => {
    throw new Error(`${err.message}\n--- ${p.name} log:\n${logOf(p).split('\n').slice(-30).join('\n')}`);
  });
}

export async function startCluster(bin: string, dir: string): Promise<Cluster> {
  mkdirSync(dir, { recursive: true });
  const hostIp = nonLoopbackIpv4();
  const pki = makePki(dir, ['127.0.0.1', hostIp, '10.96.0.1']);
  const processes: Spawned[] = [];
  const env = { PATH: process.env.PATH, HOME: dir };
  const exe = (name: string) => path.join(bin, name);

  const etcdClient = await freePort();
  const etcdPeer = await freePort();
  const apiPort = await freePort();
  const kcmPort = await freePort();
  const schedulerPort = await freePort();
  const kwokPort = await freePort();
  const etcd = await spawnTracked(
    'etcd',
    exe('etcd'),
    [
      '--name=test',
      `--data-dir=${path.join(dir, 'etcd')}`,
      `--listen-client-urls=http://127.0.0.1:${etcdClient}`,
      `--advertise-client-urls=http://127.0.0.1:${etcdClient}`,
      `--listen-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-advertise-peer-urls=http://127.0.0.1:${etcdPeer}`,
      `--initial-cluster=test=http://127.0.0.1:${etcdPeer}`,
      '--unsafe-no-fsync', // a test cluster: nothing to keep across a crash
      '--log-level=warn',
    ],
    env,
  );
  processes.push(etcd);

  const server = `https://127.0.0.1:${apiPort}`;
  const apiserver = await spawnTracked(
    'kube-apiserver',
    exe('kube-apiserver'),
    [
      `--etcd-servers=http://127.0.0.1:${etcdClient}`,
      '--bind-address=127.0.0.1',
      `--advertise-address=${hostIp}`,
      `--secure-port=${apiPort}`,
      `--cert-dir=${path.join(dir, 'apiserver-certs')}`,
      `--tls-cert-file=${pki.apiserverCert}`,
      `--tls-private-key-file=${pki.apiserverKey}`,
      `--client-ca-file=${pki.caCert}`,
      `--service-account-key-file=${pki.serviceAccountPub}`,
      `--service-account-signing-key-file=${pki.serviceAccountKey}`,
      '--service-account-issuer=https://kubernetes.default.svc.cluster.local',
      '--service-cluster-ip-range=10.96.0.0/16',
      '--authorization-mode=Node,RBAC',
      // No kube-proxy here: the API server reaches webhooks at their
      // Endpoints' addresses instead of the Service's cluster IP.
      '--enable-aggregator-routing=true',
      '--profiling=false',
      '--v=1',
    ],
    env,
  );
  processes.push(apiserver);
  await healthy(apiserver, `${server}/readyz`, pki, 'kube-apiserver ready');

  const kubeconfig = path.join(dir, 'admin.kubeconfig');
  writeKubeconfig(kubeconfig, server, pki);

  const kcm = await spawnTracked(
    'kube-controller-manager',
    exe('kube-controller-manager'),
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${kcmPort}`,
      '--leader-elect=false',
      // Each controller acts as its own service account, as in a real
      // cluster: the Dapr injector only mutates pods that the workload
      // controllers' accounts create.
      '--use-service-account-credentials=true',
      `--service-account-private-key-file=${pki.serviceAccountKey}`,
      `--root-ca-file=${pki.caCert}`,
      '--v=1',
    ],
    env,
  );
  processes.push(kcm);
  const scheduler = await spawnTracked(
    'kube-scheduler',
    exe('kube-scheduler'),
    [
      `--kubeconfig=${kubeconfig}`,
      `--authentication-kubeconfig=${kubeconfig}`,
      `--authorization-kubeconfig=${kubeconfig}`,
      '--bind-address=127.0.0.1',
      `--secure-port=${schedulerPort}`,
      '--leader-elect=false',
      '--v=1',
    ],
    env,
  );
  processes.push(scheduler);
  // The stages install.sh copied from kwok's module: nodes and pods Ready at
  // once, leases renewed, deleted pods removed.
  const kwok = await spawnTracked(
    'kwok',
    exe('kwok'),
    [
      `--kubeconfig=${kubeconfig}`,
      `--config=${path.join(bin, 'kwok-stages.yaml')}`,
      '--node-lease-duration-seconds=40',
      '--manage-all-nodes=false',
      '--manage-nodes-with-annotation-selector=kwok.x-k8s.io/node=fake',
      '--manage-nodes-with-label-selector=',
      '--cidr=10.244.0.1/16',
      `--node-ip=${hostIp}`,
      `--server-address=127.0.0.1:${kwokPort}`,
    ],
    env,
  );
  processes.push(kwok);
  await healthy(kcm, `https://127.0.0.1:${kcmPort}/healthz`, pki, 'kube-controller-manager healthy');
  await healthy(scheduler, `https://127.0.0.1:${schedulerPort}/healthz`, pki, 'kube-scheduler healthy');

  const tryKubectl = (args: string[], input?: string) => run(exe('kubectl'), [`--kubeconfig=${kubeconfig}`, ...args], { input });
  const kubectl = async (args: string[], input?: string) => {
    const result = await tryKubectl(args, input);
    if (result.code !== 0) throw new Error(`kubectl ${args.join(' ')} failed (${result.code}):\n${result.stderr}`);
    return result.stdout;
  };
  return {
    bin,
    dir,
    kubeconfig,
    server,
    hostIp,
    pki,
    processes,
    kubectl,
    tryKubectl,
    getJson: async (args) => JSON.parse(await kubectl([...args, '-o', 'json'])),
    stop: async () => {
      for (const p of [...processes].reverse()) await stopProcess(p, 'SIGTERM', 5_000);
    },
  };
}

/** One request to the API server as admin, without a kubectl process (requests sent together arrive together). */
export function apiRequest(cluster: Cluster, method: string, urlPath: string, body?: unknown): Promise<{ status: number; body: J }> {
  return new Promise((resolve, reject) => {
    const req = https.request(
      new URL(urlPath, cluster.server),
      {
        method,
        ca: readFileSync(cluster.pki.caCert),
        cert: readFileSync(cluster.pki.adminCert),
        key: readFileSync(cluster.pki.adminKey),
        headers: { 'content-type': 'application/json' },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8').on('data', (d: string) => (text += d));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, body: text ? JSON.parse(text) : {} }));
      },
    );
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

/** Nodes that kwok runs: reported Ready, with room for every pod the manifests ask for. */
export async function addKwokNodes(cluster: Cluster, names: string[], zones: string[]) {
  const nodes = names.map((name, i) => ({
    apiVersion: 'v1',
    kind: 'Node',
    metadata: {
      name,
      annotations: { 'kwok.x-k8s.io/node': 'fake', 'node.alpha.kubernetes.io/ttl': '0' },
      labels: {
        'kubernetes.io/hostname': name,
        'kubernetes.io/os': 'linux',
        'kubernetes.io/arch': 'amd64',
        'topology.kubernetes.io/zone': zones[i % zones.length],
        type: 'kwok',
      },
    },
    spec: {},
    status: {
      allocatable: { cpu: '32', memory: '128Gi', pods: '110' },
      capacity: { cpu: '32', memory: '128Gi', pods: '110' },
    },
  }));
  await cluster.kubectl(['apply', '--server-side', '-f', '-'], JSON.stringify({ apiVersion: 'v1', kind: 'List', items: nodes }));
  await eventually(
    async () => {
      const list = await cluster.getJson(['get', 'nodes']);
      return names.every((name) =>
        list.items.some(
          (n: J) => n.metadata.name === name && n.status.conditions?.some((c: J) => c.type === 'Ready' && c.status === 'True'),
        ),
      );
    },
    { timeoutMs: 60_000, intervalMs: 500, what: 'kwok nodes Ready' },
  );
}
