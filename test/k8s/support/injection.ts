import type { ExecutionContext } from 'ava';
import type { J } from '../../config/support/manifests.js';
import { CONTROL_PLANE_NAMESPACE, SIDECAR_IMAGE, TRUST_DOMAIN } from './dapr.js';

/** The daprd container of a pod, wherever the injector put it. */
export const daprd = (pod: J): J => [...(pod.spec.initContainers ?? []), ...pod.spec.containers].find((c: J) => c.name === 'daprd');

/**
 * Checks that the injector gave this sidecar what the pod's Dapr annotations
 * ask for: flags, token secret references, trust anchors, resources, probes.
 */
export function checkInjectedSidecar(
  t: ExecutionContext,
  sidecar: J,
  {
    app,
    where,
    annotations: a,
    trustAnchors,
  }: { app: string; where: string; annotations: Record<string, string | undefined>; trustAnchors: string },
): void {
  t.is(sidecar.image, SIDECAR_IMAGE);
  const args: string[] = sidecar.args ?? [];
  const arg = (flag: string) => {
    const i = args.indexOf(flag);
    return i >= 0 ? args[i + 1] : undefined;
  };
  const envOf = (name: string) => (sidecar.env ?? []).find((e: J) => e.name === name);
  t.is(arg('--app-id'), app, `${where}: app id`);
  t.is(arg('--app-port'), a['dapr.io/app-port'], `${where}: app port`);
  t.is(arg('--app-protocol'), a['dapr.io/app-protocol'], `${where}: app protocol`);
  t.is(arg('--config'), a['dapr.io/config'], `${where}: configuration`);
  t.true(args.includes('--enable-mtls'), `${where}: mTLS`);
  t.is(arg('--sentry-address'), `dapr-sentry.${CONTROL_PLANE_NAMESPACE}.svc.${TRUST_DOMAIN}:443`, `${where}: Sentry`);
  t.is(arg('--control-plane-address'), `dapr-api.${CONTROL_PLANE_NAMESPACE}.svc.${TRUST_DOMAIN}:443`, `${where}: operator`);
  t.is(arg('--mode'), 'kubernetes');
  t.true(args.includes('--enable-app-health-check'), `${where}: app health check`);
  t.is(arg('--app-health-check-path'), a['dapr.io/app-health-check-path']);
  t.is(arg('--app-health-probe-interval'), a['dapr.io/app-health-probe-interval']);
  t.is(arg('--app-health-threshold'), a['dapr.io/app-health-threshold']);
  t.is(arg('--dapr-graceful-shutdown-seconds'), a['dapr.io/graceful-shutdown-seconds'], `${where}: graceful shutdown`);
  t.is(arg('--dapr-block-shutdown-duration'), a['dapr.io/block-shutdown-duration'], `${where}: block shutdown`);
  t.is(arg('--app-max-concurrency'), a['dapr.io/app-max-concurrency'], `${where}: max concurrency`);
  t.true(args.includes('--enable-metrics'), `${where}: metrics`);
  t.is(arg('--metrics-port'), a['dapr.io/metrics-port']);
  t.is(arg('--log-level'), a['dapr.io/log-level']);
  t.true(args.includes('--log-as-json'), `${where}: JSON logs`);
  t.is(
    args.includes('--disable-builtin-k8s-secret-store'),
    a['dapr.io/disable-builtin-k8s-secret-store'] === 'true',
    `${where}: built-in secret store`,
  );
  t.deepEqual(
    envOf('DAPR_API_TOKEN')?.valueFrom?.secretKeyRef,
    { name: a['dapr.io/api-token-secret'], key: 'token' },
    `${where}: API token`,
  );
  t.deepEqual(
    envOf('APP_API_TOKEN')?.valueFrom?.secretKeyRef,
    { name: a['dapr.io/app-token-secret'], key: 'token' },
    `${where}: app token`,
  );
  t.is(envOf('DAPR_TRUST_ANCHORS')?.value?.trim(), trustAnchors.trim(), `${where}: Sentry's trust anchors`);
  t.is(sidecar.resources?.limits?.cpu, a['dapr.io/sidecar-cpu-limit']);
  t.is(sidecar.resources?.limits?.memory, a['dapr.io/sidecar-memory-limit']);
  t.is(sidecar.resources?.requests?.cpu, a['dapr.io/sidecar-cpu-request']);
  t.is(sidecar.resources?.requests?.memory, a['dapr.io/sidecar-memory-request']);
  t.is(sidecar.readinessProbe?.httpGet?.path, '/v1.0/healthz');
  const probePort = (probe: J) => String(probe?.httpGet?.port ?? probe?.tcpSocket?.port);
  t.is(probePort(sidecar.readinessProbe), arg('--dapr-public-port') ?? 'none', `${where}: readiness on the public port`);
  t.is(probePort(sidecar.livenessProbe), arg('--dapr-public-port') ?? 'none', `${where}: liveness on the public port`);
  // The projected Sentry token volume is not checked: the injector adds
  // it only when it finds a token of its own at the pod path
  // /var/run/secrets/dapr.io/sentrytoken/token (pod_patch.go), and here it
  // runs outside a pod. The operator test does what that token is for.
}
