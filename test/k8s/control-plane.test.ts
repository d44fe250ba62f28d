/**
 * k8s/overlays/production applied server-side to a real Kubernetes control
 * plane (etcd, kube-apiserver, kube-controller-manager, kube-scheduler from
 * Kubernetes 1.36.3) with Dapr 1.18.3's Sentry, operator and sidecar
 * injector, and kwok standing in for kubelets: what the API server accepts,
 * what the controllers and the scheduler make of it, what the injector adds
 * to each pod, and what the operator serves a sidecar. No container runs.
 */
import test from 'ava';
import { writeFileSync } from 'node:fs';
import path from 'node:path';
import { currentRun, eventually, logOf, sleep } from '../support/processes.js';
import { APPS, appContainer, byKind, deploymentOf, installTool, parseYaml, readYaml, run, type J } from '../config/support/manifests.js';
import { addKwokNodes, apiRequest, installControlPlane, startCluster, type Cluster } from './support/cluster.js';
import { askOperator, startDapr, type DaprControlPlane } from './support/dapr.js';
import { checkInjectedSidecar, daprd } from './support/injection.js';

const NODES = ['kwok-node-a', 'kwok-node-b', 'kwok-node-c'];
const FIELD_MANAGER = 'recommend-recipe-test';

let cluster: Cluster;
let dapr: DaprControlPlane;
let docs: J[];
let namespace: string;

const list = (items: J[]) => JSON.stringify({ apiVersion: 'v1', kind: 'List', items });
const selectorString = (selector: J) => {
  if (selector.matchExpressions?.length) throw new Error(`matchExpressions not handled: ${JSON.stringify(selector)}`);
  return Object.entries(selector.matchLabels ?? {})
    .map(([k, v]) => `${k}=${String(v)}`)
    .join(',');
};
const appOf = (pod: J): string => pod.metadata.labels?.['app.kubernetes.io/name'];
const podsOf = async (selector: string): Promise<J[]> => (await cluster.getJson(['get', 'pods', '-n', namespace, '-l', selector])).items;
const live = (pods: J[]) => pods.filter((p) => !p.metadata.deletionTimestamp);
const ready = (pod: J) => pod.status?.conditions?.some((c: J) => c.type === 'Ready' && c.status === 'True');

async function rolledOut(name: string, timeoutMs = 120_000) {
  await cluster.kubectl(['rollout', 'status', `deployment/${name}`, '-n', namespace, `--timeout=${timeoutMs / 1000}s`]);
}

test.before(async (t) => {
  // The first run on a machine compiles the control plane: allow for it.
  t.timeout(90 * 60_000, 'building and starting the control plane');
  const bin = await installControlPlane();
  const rendered = await run(await installTool('kustomize'), ['build', 'k8s/overlays/production']);
  if (rendered.code !== 0) throw new Error(`kustomize build k8s/overlays/production failed:\n${rendered.stderr}`);
  docs = parseYaml(rendered.stdout, 'kustomize build k8s/overlays/production');
  namespace = deploymentOf(docs, 'gateway').metadata.namespace;
  const run_ = await currentRun();
  cluster = await startCluster(bin, path.join(run_.dir, 'k8s'));
  await addKwokNodes(cluster, NODES, ['zone-a', 'zone-b', 'zone-c']);
  dapr = await startDapr(cluster);
  // The Secrets the manifests reference (placeholders), then the overlay.
  await cluster.kubectl(
    ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'],
    list(docs.filter((d) => d.kind === 'Namespace')),
  );
  await cluster.kubectl(
    ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'],
    list(readYaml('k8s/secrets.example.yaml')),
  );
  await cluster.kubectl(['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'], list(docs));
  for (const d of byKind(docs, 'Deployment')) await rolledOut(d.metadata.name);
});

test.after.always(async () => {
  // What the cluster held, for whoever looks into a failure.
  if (cluster) {
    const pods = await cluster.tryKubectl(['get', 'pods', '-A', '-o', 'yaml']);
    writeFileSync(path.join(cluster.dir, 'pods.yaml'), pods.stdout);
  }
  await cluster?.stop();
  for (const p of dapr?.processes ?? []) p.child.kill('SIGKILL');
});

test.serial('every object of the production overlay is stored by the API server, as applied server-side', async (t) => {
  const result = await cluster.tryKubectl(['get', '-f', '-', '-o', 'json', '--show-managed-fields'], list(docs));
  t.is(result.code, 0, result.stderr);
  const items: J[] = JSON.parse(result.stdout).items;
  t.is(items.length, docs.length);
  for (const doc of docs) {
    const found = items.find((i) => i.kind === doc.kind && i.metadata.name === doc.metadata.name);
    t.truthy(found, `${doc.kind}/${doc.metadata.name} stored`);
    t.true(
      (found?.metadata.managedFields ?? []).some((m: J) => m.manager === FIELD_MANAGER && m.operation === 'Apply'),
      `${doc.kind}/${doc.metadata.name} applied server-side by ${FIELD_MANAGER}`,
    );
  }
  // The Dapr objects went through their CRDs' schemas: a second server-side
  // apply with strict field validation changes nothing and reports no error.
  const again = await cluster.tryKubectl(
    ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '--validate=strict', '--dry-run=server', '-f', '-'],
    list(docs),
  );
  t.is(again.code, 0, again.stderr);
  t.notRegex(again.stderr, /unknown field|warning/i);
});

test.serial('deliberately broken copies are rejected by the API server and the Dapr CRD schemas', async (t) => {
  const component = structuredClone(byKind(docs, 'Component')[0]);
  component.spec.versionn = 'v1';
  const resiliency = structuredClone(byKind(docs, 'Resiliency')[0]);
  resiliency.spec.policies = { timeouts: 'five seconds' };
  const subscription = structuredClone(byKind(docs, 'Subscription')[0]);
  delete subscription.spec.pubsubname;
  const deployment = structuredClone(deploymentOf(docs, 'recipe'));
  deployment.spec.selector.matchLabels = { 'app.kubernetes.io/name': 'not-recipe' };
  const pdb = structuredClone(byKind(docs, 'PodDisruptionBudget')[0]);
  pdb.spec.minAvailable = 1; // both minAvailable and maxUnavailable
  const cases: [J, RegExp][] = [
    [component, /\.spec\.versionn: field not declared in schema/],
    [resiliency, /\.spec\.policies\.timeouts: expected map/],
    [subscription, /spec.pubsubname: Required value/],
    [deployment, /selector.*does not match template labels|`selector` does not match template `labels`/],
    [pdb, /minAvailable and maxUnavailable cannot be both set/],
  ];
  for (const [doc, expected] of cases) {
    // A new name: applied over the stored object, server-side apply would
    // keep the fields this copy leaves out.
    doc.metadata.name += '-broken';
    const result = await cluster.tryKubectl(
      ['apply', '--server-side', '--validate=strict', '--dry-run=server', `--field-manager=${FIELD_MANAGER}-broken`, '-f', '-'],
      JSON.stringify(doc),
    );
    t.not(result.code, 0, `${doc.kind}/${doc.metadata.name} (broken) accepted`);
    t.regex(result.stderr, expected, `${doc.kind}/${doc.metadata.name}`);
  }
});

test.serial('Deployments make ReplicaSets and pods, scheduled onto the kwok nodes and Running', async (t) => {
  const deployments = (await cluster.getJson(['get', 'deployments', '-n', namespace])).items;
  const hpas = byKind(docs, 'HorizontalPodAutoscaler');
  t.is(deployments.length, byKind(docs, 'Deployment').length);
  for (const d of deployments) {
    const name = d.metadata.name;
    const hpa = hpas.find((h) => h.spec.scaleTargetRef.name === name);
    const wanted = byKind(docs, 'Deployment').find((x) => x.metadata.name === name).spec.replicas ?? hpa?.spec.minReplicas;
    t.truthy(wanted, `${name}: replicas from the manifest or its HPA`);
    // Without a metrics server the HPA controller still raises the
    // Deployment to minReplicas.
    const scaled = await eventually(
      async () => {
        const now = await cluster.getJson(['get', 'deployment', name, '-n', namespace]);
        return now.status.availableReplicas === wanted && now.spec.replicas === wanted ? now : undefined;
      },
      { timeoutMs: 60_000, what: `${name} scaled to ${wanted}` },
    );
    t.is(scaled.status.readyReplicas, wanted);
    const replicaSets = (await cluster.getJson(['get', 'replicasets', '-n', namespace, '-l', selectorString(d.spec.selector)])).items;
    const current = replicaSets.filter((rs: J) => rs.status.replicas > 0);
    t.is(current.length, 1, `${name}: one ReplicaSet with pods`);
    t.is(current[0].metadata.ownerReferences?.[0]?.name, name);
    t.is(current[0].metadata.ownerReferences?.[0]?.kind, 'Deployment');
    const pods = live(await podsOf(selectorString(d.spec.selector)));
    t.is(pods.length, wanted);
    for (const pod of pods) {
      t.is(pod.metadata.ownerReferences?.[0]?.uid, current[0].metadata.uid, `${pod.metadata.name} owned by its ReplicaSet`);
      t.true(NODES.includes(pod.spec.nodeName), `${pod.metadata.name} scheduled onto a kwok node (${pod.spec.nodeName})`);
      t.is(pod.status.phase, 'Running');
      t.true(ready(pod), `${pod.metadata.name} Ready`);
      t.true(
        pod.status.conditions.some((c: J) => c.type === 'PodScheduled' && c.status === 'True'),
        'scheduled by kube-scheduler',
      );
    }
  }
  const events = (await cluster.getJson(['get', 'events', '-n', namespace, '--field-selector', 'reason=Scheduled'])).items;
  t.true(
    events.some((e: J) => (e.reportingComponent ?? e.source?.component) === 'default-scheduler'),
    'kube-scheduler reported the scheduling',
  );
});

test.serial('the PodDisruptionBudgets count the pods and refuse an eviction beyond maxUnavailable', async (t) => {
  for (const want of byKind(docs, 'PodDisruptionBudget')) {
    const name = want.metadata.name;
    const pdb = await eventually(
      async () => {
        const now = await cluster.getJson(['get', 'pdb', name, '-n', namespace]);
        return now.status?.expectedPods > 0 && now.status.currentHealthy === now.status.expectedPods ? now : undefined;
      },
      { timeoutMs: 60_000, what: `PDB ${name} observed` },
    );
    const pods = live(await podsOf(selectorString(want.spec.selector)));
    t.is(pdb.status.expectedPods, pods.length, `${name} counts the Deployment's pods`);
    t.is(pdb.status.disruptionsAllowed, want.spec.maxUnavailable, `${name}: disruptions allowed`);
  }
  // Drain-like: with the nodes cordoned a replacement cannot be scheduled, so
  // the API server lets one recipe pod go (maxUnavailable 1) and refuses the
  // next.
  for (const node of NODES) await cluster.kubectl(['cordon', node]);
  const pods = live(await podsOf('app.kubernetes.io/name=recipe'));
  const evict = (pod: J) =>
    apiRequest(cluster, 'POST', `/api/v1/namespaces/${namespace}/pods/${pod.metadata.name}/eviction`, {
      apiVersion: 'policy/v1',
      kind: 'Eviction',
      metadata: { name: pod.metadata.name, namespace },
    });
  const first = await evict(pods[0]);
  t.is(first.status, 201, JSON.stringify(first.body));
  for (const pod of pods.slice(1)) {
    const refused = await evict(pod);
    t.is(refused.status, 429, `${pod.metadata.name}: ${JSON.stringify(refused.body)}`);
    t.regex(refused.body.message ?? '', /violate the pod's disruption budget/);
  }
  t.is(live(await podsOf('app.kubernetes.io/name=recipe')).filter(ready).length, pods.length - 1, 'one pod down, the rest kept');
  for (const node of NODES) await cluster.kubectl(['uncordon', node]);
  await rolledOut('recipe');
  await eventually(async () => (await cluster.getJson(['get', 'pdb', 'recipe', '-n', namespace])).status.disruptionsAllowed === 1, {
    timeoutMs: 60_000,
    what: 'recipe PDB allows a disruption again',
  });
});

test.serial(
  'a rollout of a new image replaces every pod with none unavailable and at most one extra (maxSurge 1, maxUnavailable 0)',
  async (t) => {
    const name = 'recipe';
    const want = byKind(docs, 'Deployment').find((d) => d.metadata.name === name);
    const replicas = want.spec.replicas;
    const { maxSurge, maxUnavailable } = want.spec.strategy.rollingUpdate;
    const container = appContainer(want).name;
    const image = appContainer(want).image.replace(/:[^:]+$/, ':rollout-test');
    await cluster.kubectl(['set', 'image', `deployment/${name}`, '-n', namespace, `${container}=${image}`]);
    let minReady = Infinity;
    let maxPods = 0;
    let polls = 0;
    const deadline = Date.now() + 120_000;
    for (;;) {
      const pods = live(await podsOf(`app.kubernetes.io/name=${name}`));
      polls += 1;
      minReady = Math.min(minReady, pods.filter(ready).length);
      maxPods = Math.max(maxPods, pods.length);
      const updated = pods.filter((p) => p.spec.containers.find((c: J) => c.name === container)?.image === image);
      if (updated.length === replicas && pods.length === replicas && pods.every(ready)) break;
      if (Date.now() > deadline) throw new Error(`rollout not done: ${updated.length}/${replicas} updated of ${pods.length}`);
      await sleep(50);
    }
    t.log(`${polls} polls: at least ${minReady} Ready, at most ${maxPods} pods`);
    t.true(polls > 2, 'the rollout was observed while it happened');
    t.true(minReady >= replicas - maxUnavailable, `never fewer than ${replicas - maxUnavailable} Ready (saw ${minReady})`);
    t.true(maxPods <= replicas + maxSurge, `never more than ${replicas + maxSurge} pods (saw ${maxPods})`);
    const deployment = await cluster.getJson(['get', 'deployment', name, '-n', namespace]);
    t.is(deployment.status.updatedReplicas, replicas);
    const replicaSets = (await cluster.getJson(['get', 'replicasets', '-n', namespace, '-l', `app.kubernetes.io/name=${name}`])).items;
    t.is(replicaSets.length, 2, 'the old ReplicaSet is kept (scaled to 0) and a new one holds the pods');
    t.is(replicaSets.filter((rs: J) => rs.spec.replicas > 0).length, 1);
    for (const pod of live(await podsOf(`app.kubernetes.io/name=${name}`)))
      t.truthy(daprd(pod), `${pod.metadata.name}: new pods are injected too`);
  },
);

test.serial("the injector patched its webhook's caBundle with Sentry's trust anchors", async (t) => {
  const webhook = await cluster.getJson(['get', 'mutatingwebhookconfiguration', 'dapr-sidecar-injector']);
  t.is(Buffer.from(webhook.webhooks[0].clientConfig.caBundle, 'base64').toString().trim(), dapr.trustAnchors.trim());
});

test.serial('every app pod has daprd injected by the Dapr injector, as its annotations ask', async (t) => {
  for (const app of APPS) {
    const want = deploymentOf(docs, app);
    const a: Record<string, string | undefined> = want.spec.template.metadata.annotations;
    const pods = live(await podsOf(selectorString(want.spec.selector)));
    t.true(pods.length > 0);
    for (const pod of pods) {
      const sidecar = daprd(pod);
      if (!sidecar) {
        t.fail(`${pod.metadata.name}: no daprd container`);
        continue;
      }
      const where = `${app} (${pod.metadata.name})`;
      checkInjectedSidecar(t, sidecar, { app, where, annotations: a, trustAnchors: dapr.trustAnchors });
      for (const secret of [a['dapr.io/api-token-secret'] ?? '', a['dapr.io/app-token-secret'] ?? '']) {
        t.is(
          (await cluster.getJson(['get', 'secret', secret, '-n', namespace])).data?.token !== undefined,
          true,
          `${secret} exists with key token`,
        );
      }
      const appEnv = pod.spec.containers.find((c: J) => c.name === appContainer(want).name).env.map((e: J) => e.name);
      t.true(appEnv.includes('DAPR_HTTP_PORT') && appEnv.includes('DAPR_GRPC_PORT'), `${where}: app told its sidecar's ports`);
    }
  }
});

test.serial('a pod without the dapr.io/enabled annotation gets no sidecar', async (t) => {
  const name = 'no-dapr';
  await cluster.kubectl(
    ['apply', '--server-side', `--field-manager=${FIELD_MANAGER}`, '-f', '-'],
    JSON.stringify({
      apiVersion: 'apps/v1',
      kind: 'Deployment',
      metadata: { name, namespace },
      spec: {
        replicas: 1,
        selector: { matchLabels: { app: name } },
        template: { metadata: { labels: { app: name } }, spec: { containers: [{ name: 'app', image: 'registry.example.com/plain:1' }] } },
      },
    }),
  );
  await rolledOut(name);
  const pods = live(await podsOf(`app=${name}`));
  t.is(pods.length, 1);
  t.deepEqual(
    pods[0].spec.containers.map((c: J) => c.name),
    ['app'],
  );
  t.falsy(daprd(pods[0]));
  await cluster.kubectl(['delete', 'deployment', name, '-n', namespace, '--wait=false']);
});

test.serial('the HorizontalPodAutoscalers are accepted, name existing Deployments and the controller can scale them', async (t) => {
  const hpas = byKind(docs, 'HorizontalPodAutoscaler');
  t.true(hpas.length > 0);
  for (const want of hpas) {
    const name = want.metadata.name;
    const hpa = await eventually(
      async () => {
        const now = await cluster.getJson(['get', 'hpa', name, '-n', namespace]);
        return now.status?.conditions?.some((c: J) => c.type === 'AbleToScale') ? now : undefined;
      },
      { timeoutMs: 60_000, what: `HPA ${name} reconciled` },
    );
    const ref = hpa.spec.scaleTargetRef;
    const target = await cluster.getJson(['get', `${ref.kind.toLowerCase()}.${ref.apiVersion.split('/')[0]}`, ref.name, '-n', namespace]);
    t.is(target.metadata.name, ref.name);
    const ableToScale = hpa.status.conditions.find((c: J) => c.type === 'AbleToScale');
    t.is(ableToScale.status, 'True', `${name}: ${ableToScale.reason} ${ableToScale.message}`);
    t.true(hpa.status.currentReplicas >= want.spec.minReplicas, `${name}: at least minReplicas`);
  }
});

test.serial("the ConfigMap's POINT reaches the recipe container's environment", async (t) => {
  const want = deploymentOf(docs, 'recipe');
  const pods = live(await podsOf(selectorString(want.spec.selector)));
  const container = pods[0].spec.containers.find((c: J) => c.name === appContainer(want).name);
  const point = container.env.find((e: J) => e.name === 'POINT');
  t.truthy(point?.valueFrom?.configMapKeyRef, 'POINT comes from a ConfigMap');
  const configMap = await cluster.getJson(['get', 'configmap', point.valueFrom.configMapKeyRef.name, '-n', namespace]);
  const value = configMap.data?.[point.valueFrom.configMapKeyRef.key];
  t.regex(value ?? '', /^\d+$/, 'the ConfigMap in the cluster has POINT');
  t.is(value, byKind(docs, 'ConfigMap')[0].data.POINT);
});

test.serial('each NetworkPolicy selects the pods it means to (selected by the API server)', async (t) => {
  const all = live((await cluster.getJson(['get', 'pods', '-n', namespace])).items);
  const apps = new Set(all.map(appOf));
  t.deepEqual([...apps].sort(), [...APPS].sort());
  for (const policy of byKind(docs, 'NetworkPolicy')) {
    const name: string = policy.metadata.name;
    const selected = live(await podsOf(selectorString(policy.spec.podSelector)));
    const selectedApps = [...new Set(selected.map(appOf))].sort();
    const meant = APPS.find((app) => name.startsWith(`${app}-`));
    if (meant) t.deepEqual(selectedApps, [meant], `${name} selects ${meant}'s pods only`);
    else t.deepEqual(selectedApps, [...APPS].sort(), `${name} selects every app's pods`);
    t.is(selected.length, meant ? all.filter((p) => appOf(p) === meant).length : all.length, `${name}: every such pod`);
  }
});

test.serial(
  'the Dapr operator serves each app, over mTLS with a Sentry certificate for its pod, its Components, Configuration, Resiliency and Subscriptions',
  async (t) => {
    const names = (kind: string) =>
      byKind(docs, kind)
        .map((d) => d.metadata.name)
        .sort();
    const ask = async (app: string, appId: string, timeout = '60s') => {
      const want = deploymentOf(docs, app);
      const pod = live(await podsOf(selectorString(want.spec.selector)))[0];
      return askOperator(cluster, dapr, { pod, appId, config: want.spec.template.metadata.annotations['dapr.io/config'], timeout });
    };
    for (const app of APPS) {
      const result = await ask(app, app);
      t.is(result.code, 0, `${app}: ${result.stderr}`);
      if (result.code !== 0) continue;
      // daprd's logger writes to stdout too: the answer is the last line.
      const served = JSON.parse(result.stdout.trim().split('\n').pop() ?? '');
      // The operator filters Components by the app id in the caller's
      // certificate: only those scoped to the app.
      const scoped = byKind(docs, 'Component')
        .filter((c) => !c.scopes?.length || c.scopes.includes(app))
        .map((c) => c.metadata.name)
        .sort();
      t.deepEqual(served.components.map((c: J) => c.metadata.name).sort(), scoped, `${app}: the components scoped to it`);
      const wantConfig = byKind(docs, 'Configuration').find(
        (c) => c.metadata.name === deploymentOf(docs, app).spec.template.metadata.annotations['dapr.io/config'],
      );
      t.is(served.configuration.metadata.name, wantConfig.metadata.name, `${app}: configuration`);
      t.like(served.configuration.spec, wantConfig.spec, `${app}: the configuration as applied`);
      t.deepEqual(served.resiliencies.map((r: J) => r.metadata.name).sort(), names('Resiliency'), `${app}: resiliency`);
      t.deepEqual(served.subscriptions.map((s: J) => s.metadata.name).sort(), names('Subscription'), `${app}: subscriptions`);
    }
    // The operator's service reconciler made each app's <app-id>-dapr Service.
    for (const app of APPS) {
      const service = await eventually(
        async () => (await cluster.tryKubectl(['get', 'service', `${app}-dapr`, '-n', namespace, '-o', 'json'])).stdout,
        {
          timeoutMs: 30_000,
          what: `${app}-dapr Service`,
        },
      );
      t.is(JSON.parse(service).spec.selector?.['app.kubernetes.io/name'], app, `${app}-dapr selects the app's pods`);
    }
    // The operator patched the Subscription CRD's conversion webhook with
    // Sentry's trust anchors, and converts the stored v2alpha1 Subscriptions
    // when they are read as v1alpha1.
    const crd = await cluster.getJson(['get', 'crd', 'subscriptions.dapr.io']);
    t.is(
      Buffer.from(crd.spec.conversion.webhook.clientConfig.caBundle ?? '', 'base64')
        .toString()
        .trim(),
      dapr.trustAnchors.trim(),
    );
    const asV1 = (await cluster.getJson(['get', 'subscriptions.v1alpha1.dapr.io', '-n', namespace])).items;
    t.deepEqual(asV1.map((s: J) => s.metadata.name).sort(), names('Subscription'));
    for (const converted of asV1) {
      const original = byKind(docs, 'Subscription').find((s) => s.metadata.name === converted.metadata.name);
      t.is(converted.apiVersion, 'dapr.io/v1alpha1');
      t.is(converted.spec.topic, original.spec.topic);
      t.is(converted.spec.route, original.spec.routes.default, `${converted.metadata.name}: v2alpha1 routes.default as v1alpha1 route`);
    }
    // Sentry checks the app id against the pod the token is bound to.
    const impostor = await ask('gateway', 'recipe', '10s');
    t.not(impostor.code, 0, 'a gateway pod cannot get a certificate as recipe');
    t.regex(
      logOf(dapr.sentry),
      new RegExp(`Failed to validate request for ${namespace}/recipe: app-id mismatch. expected: gateway, received: recipe`),
      'Sentry refused it, naming the mismatch',
    );
  },
);
