import { randomUUID } from 'node:crypto';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { call, memberClient, sampleRecipe } from '../support/client.js';
import { startService, type RunningService } from '../support/dapr.js';
import { eventually } from '../support/processes.js';
import { startSentry } from '../support/sentry.js';
import { viaSidecar } from '../support/sidecar.js';
import type { System } from '../support/system.js';
import { useSystem } from '../support/use-system.js';

// Tokens between apps and sidecars, mTLS between sidecars, access control on
// every callee, and topic scopes on the pub/sub.
let recipeId: string;
let stranger: RunningService | undefined;
let strangerSentry: { stop(): Promise<void> } | undefined;

const system = useSystem(test, {
  beforeStop: async () => {
    await stranger?.stop();
    await strangerSentry?.stop();
  },
});

test.before(async () => {
  const alice = memberClient(system().gatewayUrl, await system().token('alice'));
  recipeId = (await alice.post('/myrecipes', sampleRecipe('Guarded'))).body.recipeId;
  await eventually(async () => (await alice.get(`/recipes/${recipeId}`)).status === 200, { what: 'recipe recommendable' });
});

const token = (app: keyof System['services'] = 'gateway') => system().backing.tokens[app].daprApiToken;
const sidecarOf = (app: keyof System['services']) => viaSidecar(system().services[app], token(app));

test('an app answers only its sidecar: without or with a wrong app token, 401', async (t) => {
  for (const app of ['myrecipe', 'recipe', 'mypage'] as const) {
    const { appUrl } = system().services[app];
    const paths = { myrecipe: '/members/alice/balance', recipe: `/recipes/${recipeId}`, mypage: '/mypages/alice' };
    t.is((await call(appUrl, 'GET', paths[app])).status, 401, `${app} without token`);
    t.is((await call(appUrl, 'GET', paths[app], { headers: { 'dapr-api-token': 'guess' } })).status, 401, `${app} wrong token`);
    t.is(
      (await call(appUrl, 'GET', paths[app], { headers: { 'dapr-api-token': system().backing.tokens[app].appApiToken } })).status,
      200,
      `${app} with the sidecar's token`,
    );
    t.is((await call(appUrl, 'GET', '/healthz')).status, 200, `${app} health needs no token`);
  }
});

test('a sidecar answers only its app: without the Dapr API token, 401', async (t) => {
  for (const service of Object.values(system().services)) {
    const res = await call(service.daprUrl, 'GET', `/v1.0/invoke/${service.appId}/method/healthz`);
    t.is(res.status, 401, service.appId);
    t.is((await call(service.daprUrl, 'GET', '/v1.0/state/recipe-store/anything')).status, 401);
  }
});

test('only myrecipe may call the withdrawal: the gateway gets 403 and the recipe service is not reached', async (t) => {
  const recipeLogs = () => system().replicas.recipe.map((r) => readFileSync(r.app.logFile, 'utf8'));
  const before = recipeLogs();
  const attempt = randomUUID();
  const res = await sidecarOf('gateway').invoke('recipe', 'POST', 'withdrawals', { member: 'alice', body: { recipeId, attempt } });
  t.is(res.status, 403);
  t.regex(res.text, /access control policy has denied access/);
  const cancel = await sidecarOf('mypage').invoke('recipe', 'POST', 'withdrawal-cancellations', {
    member: 'alice',
    body: { recipeId, attempt },
  });
  t.is(cancel.status, 403);
  await new Promise((r) => setTimeout(r, 300));
  const after = recipeLogs()
    .map((log, i) => log.slice(before[i]!.length))
    .join('\n');
  t.notRegex(after, /withdrawal/, 'the recipe app never saw the calls');
  t.is((await sidecarOf('gateway').invoke('recipe', 'GET', `recipes/${recipeId}`)).status, 200, 'still recommendable');
});

test('internal methods are denied to everyone else: balance, audit, and calls from non-gateway apps', async (t) => {
  t.is((await sidecarOf('gateway').invoke('myrecipe', 'GET', 'members/alice/balance')).status, 403);
  t.is((await sidecarOf('gateway').invoke('mypage', 'GET', 'audit/recipes')).status, 403);
  t.is((await sidecarOf('mypage').invoke('myrecipe', 'POST', 'myrecipes', { member: 'mallory', body: sampleRecipe() })).status, 403);
  t.is((await sidecarOf('recipe').invoke('mypage', 'GET', 'mypages/alice')).status, 403);
  t.is((await sidecarOf('gateway').invoke('recipe', 'GET', `recipes/${recipeId}`)).status, 200, 'the gateway may read');
});

test('only the owner of an event may publish it', async (t) => {
  const attempt = async (app: keyof System['services'], topic: string) =>
    call(system().services[app].daprUrl, 'POST', `/v1.0/publish/pubsub/${topic}`, {
      body: { recipeId },
      headers: { 'dapr-api-token': token(app) },
    });
  for (const [app, topic] of [
    ['mypage', 'Registered'],
    ['recipe', 'Deleted'],
    ['myrecipe', 'Recommended'],
    ['mypage', 'recipe-outbox'],
  ] as const) {
    const res = await attempt(app, topic);
    t.is(res.status, 403, `${app} -> ${topic}: ${res.text}`);
  }
  t.true((await attempt('gateway', 'Registered')).status >= 400, 'the gateway has no pub/sub at all');
});

test('a sidecar with a certificate from another CA cannot call in, even as "gateway"', async (t) => {
  const otherCa = await startSentry('stranger');
  strangerSentry = otherCa;
  stranger = await startService({ appId: 'gateway', mesh: { ...system().backing.mesh, sentry: otherCa } });
  const res = await viaSidecar(stranger, token()).invoke('mypage', 'GET', 'mypages/alice');
  t.is(res.status, 500);
  t.regex(res.text, /certificate|tls|x509|authentication handshake/i);
});
