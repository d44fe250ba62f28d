/**
 * What must agree between the ways the apps run: app ids, ports and sidecar
 * settings across dapr.yaml, tye.yaml and k8s/; components, topics,
 * subscriptions and resiliency between k8s/ and components/.
 */
import test from 'ava';
import path from 'node:path';
import { localDaprDocs } from './support/dapr-schemas.js';
import {
  APPS,
  appContainer,
  byKind,
  deploymentOf,
  describe,
  metadataValue,
  parseTopicScopes,
  readYaml,
  renders,
  root,
  sameSet,
  useManifests,
  type App,
  type J,
} from './support/manifests.js';

useManifests(test);

/** Set by the local run only, never on Kubernetes (production.test.ts checks that they are absent there). */
const LOCAL_ONLY = ['DEV_SIGN_IN'];

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
      for (const name of Object.keys({ ...runFile.common.env, ...app.env }).filter((n) => !LOCAL_ONLY.includes(n)))
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

test('components, topics, subscriptions and resiliency agree between k8s/ and components/', (t) => {
  const local = localDaprDocs().map(({ doc }) => doc);
  const localComponents = byKind(local, 'Component');
  const localSecretStores = localComponents.filter((c) => c.spec.type.startsWith('secretstores.'));

  for (const r of renders) {
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
