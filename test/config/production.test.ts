/**
 * The Deployments are production-shaped (Dapr annotations, probes, rollout,
 * shutdown, resources, security), and only the gateway is reachable from
 * outside: apps reach each other only through Dapr, on exactly the ports
 * their access control needs.
 */
import test from 'ava';
import {
  APPS,
  appContainer,
  byKind,
  deploymentOf,
  describe,
  labelsMatch,
  one,
  renders,
  sameSet,
  useManifests,
  type J,
} from './support/manifests.js';

useManifests(test);

/** Dapr's internal gRPC port: where a sidecar receives service invocations from other sidecars. */
const DAPR_INTERNAL_GRPC_PORT = 50002;
/** The apps' own metrics listener (METRICS_PORT), the only app port besides the gateway's opened to anyone. */
const APP_METRICS_PORT = 9464;

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

test('no render turns on the development mode (INSECURE_DEV_MODE), which accepts missing tokens and weak keys, nor the development sign-in', (t) => {
  for (const r of renders) {
    const text = JSON.stringify(r.docs);
    t.notRegex(text, /INSECURE_DEV_MODE/, `${r.name}: INSECURE_DEV_MODE must never be set on Kubernetes`);
    t.notRegex(text, /DEV_SIGN_IN/, `${r.name}: DEV_SIGN_IN (a token for anyone who asks) must never be set on Kubernetes`);
  }
});
