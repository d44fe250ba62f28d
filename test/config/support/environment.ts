// The environment and the Secrets the rendered objects give the apps and Dapr.
import { randomBytes } from 'node:crypto';
import { appContainer, byKind, describe, example, type J } from './manifests.js';

/**
 * The environment a Deployment gives its app container, as Kubernetes
 * resolves it (secrets from the example; with `filled`, every CHANGE-ME
 * replaced by a random value, as the operator is told to).
 */
export function resolveEnv(docs: J[], deployment: J, configMap: J, { filled = false } = {}): Record<string, string> {
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
      if (value !== undefined) env[e.name] = filled && /CHANGE-ME/.test(value) ? fill(value) : value;
      else if (!secret.optional) throw new Error(`${describe(deployment)}: ${e.name} needs Secret ${secret.name} key ${secret.key}`);
    }
  }
  return env;
}

const fill = (value: string) => value.replace(/CHANGE-ME[-\w]*/g, () => randomBytes(32).toString('hex'));

/** Every Secret (name, key) the rendered objects make Kubernetes or Dapr read. */
export function secretReferences(docs: J[]): { where: string; name: string; key: string }[] {
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
