/**
 * Each service accepts the environment its Deployment gives it (its own
 * config schema), and every Secret it references is documented in
 * k8s/secrets.example.yaml and nowhere committed with a value.
 */
import test from 'ava';
import { existsSync, readFileSync } from 'node:fs';
import { pathToFileURL } from 'node:url';
import { resolveEnv, secretReferences } from './support/environment.js';
import {
  APPS,
  byKind,
  deploymentOf,
  describe,
  example,
  namespaceOf,
  one,
  readYaml,
  rel,
  renders,
  run,
  useManifests,
  type J,
} from './support/manifests.js';

useManifests(test);
test.before(async () => {
  // The services' config modules import @recipe/shared, which resolves to its build.
  if (!existsSync(rel('packages/shared/dist/index.js'))) {
    const built = await run('npx', ['tsc', '-b', 'packages/shared'], { echoStderr: true });
    if (built.code !== 0) throw new Error('building packages/shared failed');
  }
});

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
      const env = resolveEnv(r.docs, deployment, configMap, { filled: true });
      // What the sidecar injector adds to every app container.
      const injected = { DAPR_HTTP_PORT: '3500', DAPR_GRPC_PORT: '50001' };
      const configModule = pathToFileURL(rel(`services/${app}/src/config.ts`)).href;
      const { readConfig } = (await import(configModule)) as { readConfig: (env: NodeJS.ProcessEnv) => Record<string, unknown> };
      t.throws(
        () => readConfig({ ...resolveEnv(r.docs, deployment, configMap), ...injected }),
        { message: /DAPR_API_TOKEN: still the placeholder/ },
        `${r.name}: ${app} refuses the example's placeholder tokens`,
      );
      let config: Record<string, unknown> = {};
      t.notThrows(() => (config = readConfig({ ...env, ...injected })), `${r.name}: ${app} accepts its environment`);
      for (const name of Object.keys(env)) {
        if (name === 'NODE_OPTIONS') continue; // for node itself
        t.true(name in config, `${r.name}: ${app} reads ${name} (no misspelt variable)`);
      }
      if (app === 'recipe') t.is(config.POINT, Number(configMap.data.POINT), `${r.name}: recipe's POINT comes from the ConfigMap`);
      if (app === 'gateway') t.false(config.DEV_SIGN_IN, `${r.name}: the gateway has no POST /dev/sign-in`);
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
