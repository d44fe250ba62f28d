/**
 * Dapr access control, evaluated by Dapr 1.18.3's own ACL code
 * (k8s/tools/aclcheck), against packages/shared/src/access.ts: for every
 * route each app's router registers, every app (and a stranger) may invoke
 * it through Dapr exactly when the list says so, on Kubernetes and locally.
 */
import test from 'ava';
import { APP_IDS, mayInvoke } from '../../packages/shared/src/access.js';
import { aclcheck, checkAccessControl, type Call } from './support/aclcheck.js';
import {
  byKind,
  deploymentOf,
  describe,
  installTool,
  namespaceOf,
  one,
  readYaml,
  renders,
  useManifests,
  type App,
} from './support/manifests.js';
import { registeredRoutes, type Registered } from './support/routes.js';

useManifests(test);
let tool: string;
let registered: Registered[];
test.before(async (t) => {
  t.timeout(30 * 60_000, 'building aclcheck');
  tool = await installTool('aclcheck');
  registered = await registeredRoutes();
});

const RECIPE_ID = '3f1c2a4e-8d7b-4c1e-9f0a-1b2c3d4e5f60';
const MEMBER = encodeURIComponent('alice@example.com');
const SAMPLES: Record<string, string> = { recipeId: RECIPE_ID, memberId: MEMBER };
/** A path the route answers, its parameters filled in. */
const concrete = (route: string) => route.replace(/:(\w+)/g, (_, name: string) => SAMPLES[name] ?? 'x');
const CALLERS = [...APP_IDS, 'intruder'];
/** Paths every app answers outside its router (packages/shared/src/http.ts): no other app may invoke them. */
const OUTSIDE_ROUTER = ['/healthz', '/readyz', '/metrics'];

/**
 * Every call any app (or a stranger) could make to any route of any app,
 * with whether `allowed` lets it through.
 */
function everyCall(allowed: (caller: string, callee: App, verb: string, method: string) => boolean): Call[] {
  const targets = [
    ...registered.map((r) => ({ callee: r.app, verb: r.verb, method: concrete(r.path).slice(1) })),
    ...APP_IDS.flatMap((callee) => OUTSIDE_ROUTER.map((p) => ({ callee, verb: 'GET', method: p.slice(1) }))),
  ];
  return targets.flatMap(({ callee, verb, method }) =>
    CALLERS.map((caller) => ({ caller, callee, verb, method, allowed: allowed(caller, callee, verb, method) })),
  );
}

test('Dapr access control on Kubernetes allows exactly the calls access.ts lists (Dapr 1.18.3 ACL code)', async (t) => {
  for (const r of renders) {
    const namespace = namespaceOf(r.docs);
    const configs = byKind(r.docs, 'Configuration');
    const trustDomains = new Set(configs.map((c) => c.spec.accessControl?.trustDomain));
    t.is(trustDomains.size, 1, `${r.name}: every app's Configuration declares the same trust domain (it becomes the caller's identity)`);
    for (const c of configs) {
      t.is(c.spec.accessControl?.defaultAction, 'deny', `${r.name}: ${describe(c)} denies by default`);
      t.is(c.spec.mtls?.enabled, true, `${r.name}: ${describe(c)} expects mTLS`);
      for (const p of c.spec.accessControl?.policies ?? []) {
        t.is(p.namespace, namespace, `${r.name}: ${describe(c)} policy for ${p.appId} names the pods' namespace`);
        t.is(
          p.trustDomain,
          c.spec.accessControl.trustDomain,
          `${r.name}: ${describe(c)} policy for ${p.appId} names the callers' trust domain`,
        );
        t.is(p.defaultAction, 'deny', `${r.name}: ${describe(c)} policy for ${p.appId} denies what it does not list`);
      }
    }
    await checkAccessControl(
      t,
      tool,
      r.name,
      (app) => one(r.docs, 'Configuration', deploymentOf(r.docs, app).spec.template.metadata.annotations['dapr.io/config']),
      namespace,
      everyCall(mayInvoke),
    );
  }
});

test('the local Dapr configuration allows what access.ts lists, each caller to every app', async (t) => {
  // One Configuration for every local sidecar; identities are spiffe://public/ns/default/<app-id>.
  // So a caller's policy holds its routes on all apps, and any app answers them
  // (a path no callee of that caller has would be that app's 404).
  const local = readYaml('dapr/config.yaml')[0];
  const anywhere = (caller: string, _callee: App, verb: string, method: string) =>
    APP_IDS.some((callee) => mayInvoke(caller, callee, verb, method));
  // An app invoking itself goes straight to its app, past access control.
  const calls = everyCall(anywhere).filter((c) => c.caller !== c.callee);
  t.true(calls.filter((c) => c.allowed).length >= 9, 'the calls the apps make are among them');
  t.false(
    calls.some((c) => c.allowed && c.callee === 'recipe' && c.method === 'withdrawals' && c.caller !== 'myrecipe'),
    'only myrecipe takes points back',
  );
  await checkAccessControl(t, tool, 'dapr/config.yaml', () => local, 'default', calls);
});

test('the access control check reports what Dapr 1.18.3 would really do with a policy', async (t) => {
  // A mid-path "*" never matches in Dapr 1.18.3 (pkg/config/acl_trie.go): such a
  // policy would deny the very call it was written for.
  const configuration = {
    apiVersion: 'dapr.io/v1alpha1',
    kind: 'Configuration',
    metadata: { name: 'probe' },
    spec: {
      accessControl: {
        defaultAction: 'deny',
        trustDomain: 'public',
        policies: [
          {
            appId: 'myrecipe',
            defaultAction: 'deny',
            trustDomain: 'public',
            namespace: 'ns',
            operations: [
              { name: '/recipes/*/withdrawal', httpVerb: ['POST'], action: 'allow' },
              { name: '/myrecipes', httpVerb: ['POST'], action: 'allow' },
            ],
          },
        ],
      },
      metrics: { enabled: true, http: { increasedCardinality: true, pathMatching: ['/a/{id}', '/a/{other}'] } },
    },
  };
  const base = { caller: 'myrecipe', namespace: 'ns', trustDomain: 'public' };
  const report = await aclcheck(tool, configuration, [
    { ...base, verb: 'POST', method: `recipes/${RECIPE_ID}/withdrawal` },
    { ...base, verb: 'POST', method: 'myrecipes' },
    { ...base, verb: 'POST', method: `myrecipes/${RECIPE_ID}` }, // an operation covers the paths below it
    { ...base, verb: 'GET', method: 'myrecipes' },
  ]);
  t.deepEqual(
    report.decisions.map((d) => d.allowed),
    [false, true, true, false],
  );
  t.regex(report.metricsPathMatching, /conflicts with/, 'conflicting metrics path patterns are reported');
});
