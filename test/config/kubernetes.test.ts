/**
 * k8s/ rendered (base and every overlay) with the real kustomize
 * (k8s/tools/install-kustomize.sh builds v5.8.1 from the Go module proxy),
 * and every Kubernetes object strict-decoded into the k8s.io/api types, as the
 * API server's strict field validation does (k8s/tools/kubevalidate): an
 * unknown or misspelt field, or a value of the wrong type, fails.
 *
 * Needs Go (1.26) the first time, to build the tools (cached under
 * ~/.cache/recommend-recipe).
 */
import test from 'ava';
import path from 'node:path';
import {
  appContainer,
  deploymentOf,
  example,
  installTool,
  isDapr,
  readYaml,
  rel,
  renders,
  run,
  useManifests,
  type J,
} from './support/manifests.js';

useManifests(test);
let tool: string;
test.before(async (t) => {
  t.timeout(30 * 60_000, 'building kubevalidate');
  tool = await installTool('kubevalidate');
});

interface KubeResult {
  index: number;
  apiVersion: string;
  kind: string;
  name: string;
  errors: string[];
}

/** Strict-decodes documents into the k8s.io/api types (JSON in, so no YAML re-interpretation). */
async function kubevalidate(docs: J[]): Promise<KubeResult[]> {
  const result = await run(tool, [], { input: docs.map((d) => JSON.stringify(d)).join('\n---\n') });
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
