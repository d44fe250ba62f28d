/**
 * Every topic, route and component name referenced is wired up, locally
 * (components/) and on Kubernetes (every render of k8s/): subscriptions to
 * handlers the apps' routers register, each store owner's outbox, resiliency
 * targets, and the components the apps' environment names.
 */
import test, { type ExecutionContext } from 'ava';
import { localDaprDocs } from './support/dapr-schemas.js';
import { resolveEnv } from './support/environment.js';
import {
  APPS,
  byKind,
  deploymentOf,
  describe,
  metadataValue,
  parseTopicScopes,
  renders,
  useManifests,
  type J,
} from './support/manifests.js';
import { registeredRoutes, type Registered } from './support/routes.js';

/** Secret stores daprd provides without a component. */
const BUILTIN_SECRET_STORES = new Set(['kubernetes']);

useManifests(test);
let registered: Registered[];
test.before(async () => {
  registered = await registeredRoutes();
});

/** What the wiring of one set of Dapr resources must satisfy, locally and on Kubernetes alike. */
function checkWiring(t: ExecutionContext, where: string, docs: J[]) {
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
        t.true(
          registered.some((r) => r.app === app && r.verb === 'POST' && r.path === route),
          `${where}: ${app} handles ${sub.spec.topic} on POST ${route}`,
        );
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
  );
  for (const r of renders) {
    checkWiring(t, r.name, r.docs);
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
