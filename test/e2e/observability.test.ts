import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import test from 'ava';
import { memberClient, sampleRecipe } from '../support/client.js';
import { eventually } from '../support/processes.js';
import type { System } from '../support/system.js';
import { useSystem } from '../support/use-system.js';

// One registration, followed through every service by its W3C trace id; and
// the Prometheus metrics each app serves next to its sidecar's.

// Debug: successful event deliveries are logged at debug (info keeps the API's requests).
const debug = { LOG_LEVEL: 'debug' };
const system = useSystem(test, { env: { gateway: debug, myrecipe: debug, recipe: debug, mypage: debug } });

const logLines = (app: keyof System['services']) =>
  system()
    .replicas[app].map((replica) => readFileSync(replica.app.logFile, 'utf8'))
    .join('\n')
    .split('\n')
    .filter((line) => line.startsWith('{'))
    .map((line) => JSON.parse(line) as { traceId?: string; path?: string; msg: string });

test('one trace id is seen by the gateway, myrecipe, recipe and mypage for one registration, and on every log line of it', async (t) => {
  const traceId = randomBytes(16).toString('hex');
  const alice = memberClient(system().gatewayUrl, await system().token('alice'));
  const res = await alice.post('/myrecipes', sampleRecipe('Traced'), {
    headers: { traceparent: `00-${traceId}-${randomBytes(8).toString('hex')}-01` },
  });
  t.is(res.status, 201);
  await eventually(
    async () =>
      (await alice.get(`/recipes/${res.body.recipeId}`)).status === 200 && (await alice.get('/mypages/me')).body.recipes.length === 1,
    {
      what: 'registration processed everywhere',
    },
  );
  const expected = { gateway: '/myrecipes', myrecipe: '/myrecipes', recipe: '/events/registered', mypage: '/events/registered' } as const;
  for (const [app, path] of Object.entries(expected) as [keyof typeof expected, string][]) {
    const traced = await eventually(
      async () => {
        const lines = logLines(app).filter((l) => l.traceId === traceId);
        return lines.some((l) => l.path === path) ? lines : undefined;
      },
      { what: `${app} logs of the trace` },
    );
    t.true(traced.length > 0, `${app} logged ${path} with the trace id`);
  }
  for (const app of Object.keys(expected) as (keyof typeof expected)[]) {
    t.true(
      logLines(app).every((l) => typeof l.traceId === 'string' || !l.path),
      `${app}: every request line carries a trace id`,
    );
  }
});

test('every app serves Prometheus metrics (requests by route, events by reply) on its metrics port, never its app port, and its sidecar its own', async (t) => {
  const alice = memberClient(system().gatewayUrl, await system().token('bob'));
  await alice.post('/myrecipes', sampleRecipe('Counted'));
  await eventually(async () => (await alice.get('/mypages/me')).body.recipes.length === 1, { what: 'processed' });
  const text = async (url: string) => (await fetch(url)).text();
  // Whichever replica handled it: the metrics of all replicas of the app.
  const metricsOf = async (app: keyof System['services']) =>
    (await Promise.all(system().replicas[app].map((r) => text(`http://127.0.0.1:${r.appMetricsPort}/metrics`)))).join('\n');
  t.regex(await metricsOf('gateway'), /http_requests_total\{method="POST",route="\/myrecipes",status="201",service="gateway"\}/);
  t.regex(await metricsOf('mypage'), /events_handled_total\{topic="Registered",result="SUCCESS",service="mypage"\}/);
  t.regex(await metricsOf('myrecipe'), /process_cpu_seconds_total/);
  for (const app of ['gateway', 'myrecipe', 'recipe', 'mypage'] as const) {
    // With the app's own token (what its sidecar sends), so a 404 means no such route, not "who are you".
    const { appUrl, appApiToken } = system().services[app];
    const res = await fetch(`${appUrl}/metrics`, { headers: { 'dapr-api-token': appApiToken } });
    t.is(res.status, 404, `${app}: no metrics on the app port`);
  }
  t.is((await fetch(`${system().gatewayUrl}/metrics`)).status, 404, 'the public port serves no metrics');
  const sidecar = await text(`http://127.0.0.1:${system().services.mypage.metricsPort}/metrics`);
  t.regex(sidecar, /dapr_/);
});
