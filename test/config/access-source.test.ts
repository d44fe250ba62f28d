/**
 * packages/shared/src/access.ts is the one list of who may call which route:
 * it covers every route the routers register, the Dapr YAML is what it
 * generates (npm run gen:access), the gateway makes no call it does not list,
 * and it keeps the rules of DESIGN.md. No tools needed: these run in seconds.
 */
import type { AddressInfo } from 'node:net';
import test from 'ava';
import { createLogger, type InvokeOptions } from '@recipe/shared';
import { SignJWT } from 'jose';
import { APP_IDS, ROUTES, callersOf, mayInvoke, pathMatches } from '../../packages/shared/src/access.js';
import { fakeSidecar } from '../../packages/shared/test/fake-sidecar.js';
import { renderAccessFiles } from '../../scripts/gen-access.js';
import { createApp } from '../../services/gateway/src/app.js';
import { createAuthenticator } from '../../services/gateway/src/auth.js';
import { localDaprDocs } from './support/dapr-schemas.js';
import { byKind, type J } from './support/manifests.js';
import { registeredRoutes, type Registered } from './support/routes.js';

let registered: Registered[];
test.before(async () => {
  registered = await registeredRoutes();
});

const key = (r: { app: string; verb: string; path: string }) => `${r.app} ${r.verb} ${r.path}`;

test('every route the apps register is in access.ts, and access.ts lists no route they lack', (t) => {
  t.true(registered.length >= 20, `${registered.length} routes registered`);
  const listed = new Set(ROUTES.map(key));
  for (const r of registered) t.true(listed.has(key(r)), `${key(r)} (services/${r.app}/src/routes.ts) is in access.ts`);
  const real = new Set(registered.map(key));
  for (const r of ROUTES) t.true(real.has(key(r)), `access.ts lists ${key(r)}, which services/${r.app}/src/routes.ts registers`);
  t.is(listed.size, ROUTES.length, 'access.ts lists each route once');
});

test('the checked-in Dapr access control and metrics path patterns are what access.ts generates (npm run gen:access)', (t) => {
  for (const { file, current, generated } of renderAccessFiles()) {
    t.is(current, generated, `${file} is up to date with packages/shared/src/access.ts: run npm run gen:access`);
  }
});

test('access.ts keeps the rules: only myrecipe takes points back, and nobody invokes the gateway, event handlers or internal reads', (t) => {
  for (const method of ['withdrawals', 'withdrawal-cancellations']) {
    t.true(mayInvoke('myrecipe', 'recipe', 'POST', method), `myrecipe may POST recipe/${method}`);
    for (const caller of [...APP_IDS, 'intruder'].filter((a) => a !== 'myrecipe'))
      t.false(mayInvoke(caller, 'recipe', 'POST', method), `${caller} may not POST recipe/${method}`);
  }
  for (const route of ROUTES) {
    const callers = callersOf(route);
    if (route.app === 'gateway') t.is(route.reach, 'public', `${key(route)}: the gateway is reached on its own port only`);
    else t.not(route.reach, 'public', `${key(route)}: only the gateway serves the public`);
    if (route.path.startsWith('/events/')) t.is(route.reach, 'event', `${key(route)}: an event handler is for its subscription only`);
    if (typeof route.reach === 'object') {
      t.true(callers.length > 0, `${key(route)}: invoked by someone`);
      t.false(callers.includes(route.app), `${key(route)}: an app does not invoke itself through Dapr`);
    }
  }
});

test('every event route is where a subscription of that app delivers', (t) => {
  const subscriptions = byKind(
    localDaprDocs().map(({ doc }) => doc),
    'Subscription',
  );
  for (const route of ROUTES.filter((r) => r.reach === 'event')) {
    const delivering = subscriptions.filter(
      (s: J) =>
        (s.scopes ?? []).includes(route.app) &&
        [s.spec.routes?.default, ...(s.spec.routes?.rules ?? []).map((r: J) => r.path)].includes(route.path),
    );
    t.true(delivering.length > 0, `${key(route)}: a Subscription in components/ delivers there`);
    t.is(route.verb, 'POST', `${key(route)}: Dapr delivers with POST`);
  }
});

const secret = 'a-test-signing-key-of-enough-length';
/** The gateway's own routes, which call no app (the API's description), and a path of each that exists. */
const OWN_ROUTES: Record<string, string> = {
  'GET /openapi.json': '/openapi.json',
  'GET /docs': '/docs',
  'GET /docs/:asset': '/docs/init.js',
};
const SAMPLE_BODIES: Record<string, unknown> = {
  'POST /myrecipes': { title: 'Kkakdugi', ingredients: ['radish'], steps: ['Cube, salt, season, ferment.'] },
  'PUT /members/me': { displayName: 'Kkakdugi fan' },
};

test('every public route of the gateway makes only calls access.ts lets the gateway make', async (t) => {
  const log = createLogger('test', 'silent');
  const invoked: { appId: string; method: string; options: InvokeOptions }[] = [];
  const sidecar = {
    ...fakeSidecar().sidecar,
    async invoke<T>(appId: string, method: string, options: InvokeOptions = {}) {
      invoked.push({ appId, method, options });
      return { recipeId: '3f1c2a4e-8d7b-4c1e-9f0a-1b2c3d4e5f60' } as T; // a registration's answer names its recipe
    },
  };
  const app = createApp({
    registrationMaxInFlight: 4,
    sidecar,
    auth: createAuthenticator({ key: { secret: async () => secret }, log }),
    apps: { myrecipe: 'myrecipe', recipe: 'recipe', mypage: 'mypage' },
    log,
    bodyLimitBytes: 4096,
    retryAfterSeconds: 1,
  });
  const server = app.listen(0, '127.0.0.1');
  await new Promise((resolve) => server.once('listening', resolve));
  t.teardown(() => server.close());
  const base = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  const token = await new SignJWT({})
    .setProtectedHeader({ alg: 'HS256' })
    .setSubject('alice@example.com')
    .setExpirationTime('1h')
    .sign(new TextEncoder().encode(secret));

  const publicRoutes = registered.filter((r) => r.app === 'gateway');
  t.true(publicRoutes.length >= 5);
  for (const route of publicRoutes) {
    invoked.length = 0;
    const body = SAMPLE_BODIES[`${route.verb} ${route.path}`];
    const own = OWN_ROUTES[`${route.verb} ${route.path}`];
    const path = own ?? route.path.replace(/:\w+/g, '3f1c2a4e-8d7b-4c1e-9f0a-1b2c3d4e5f60');
    const res = await fetch(base + path, {
      method: route.verb,
      headers: { authorization: `Bearer ${token}`, ...(body ? { 'content-type': 'application/json' } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    t.true(res.status < 300, `${route.verb} ${route.path}: answered ${res.status}`);
    t.is(invoked.length > 0, own === undefined, `${route.verb} ${route.path}: ${own === undefined ? 'calls an app' : 'calls no app'}`);
    for (const call of invoked) {
      const verb = call.options.method ?? 'GET';
      const callee = APP_IDS.find((a) => a === call.appId);
      t.truthy(callee, `${route.verb} ${route.path} calls an app (${call.appId})`);
      t.true(
        callee !== undefined && mayInvoke('gateway', callee, verb, call.method),
        `${route.verb} ${route.path} calls ${verb} ${call.appId}/${call.method}, which access.ts lets the gateway invoke`,
      );
      t.true(
        ROUTES.some((r) => r.app === callee && r.verb === verb && pathMatches(r.path, call.method)),
        `${verb} ${call.appId}/${call.method} is a route of ${call.appId}`,
      );
    }
  }
});
