import test from 'ava';
import { call, sampleRecipe } from '../support/client.js';
import type { RunningService } from '../support/dapr.js';
import { freePort } from '../support/processes.js';
import { signToken, startApp } from '../support/system.js';
import { useBacking } from '../support/use-system.js';

// The gateway with its real daprd: the signing key comes from the Dapr secret store;
// the services behind it are not running, so every call meets a real Dapr failure.
let gateway: RunningService;
let metricsPort: number;

const backing = useBacking(test, { beforeStop: () => gateway?.stop() });

test.before(async () => {
  metricsPort = await freePort();
  gateway = await startApp(backing(), 'gateway', { METRICS_PORT: String(metricsPort) });
});

test('a token signed with the key from the secret store is accepted; a token signed otherwise is 401', async (t) => {
  const good = await signToken(backing().signingKey, 'alice');
  const bad = await signToken('some-other-key-that-is-long-enough', 'alice');
  t.is((await call(gateway.appUrl, 'GET', '/mypages/me', { token: bad })).status, 401);
  t.not((await call(gateway.appUrl, 'GET', '/mypages/me', { token: good })).status, 401);
});

test('when the service behind is unreachable through Dapr, then 503 with Retry-After and a readable message, no internals', async (t) => {
  const token = await signToken(backing().signingKey, 'alice');
  const page = await call(gateway.appUrl, 'GET', '/mypages/me', { token });
  t.is(page.status, 503);
  t.is(page.headers.get('retry-after'), '5');
  t.is(page.body.error.code, 'SERVICE.UNAVAILABLE');
  t.notRegex(page.text, /ERR_|dapr|stack|at \//i);
  const registration = await call(gateway.appUrl, 'POST', '/myrecipes', { token, body: sampleRecipe() });
  t.is(registration.status, 503);
  t.is(registration.body.error.code, 'SERVICE.OVERLOADED');
  t.regex(registration.body.error.message, /register again in a moment/);
});

test('with METRICS_PORT, /metrics is served on a listener of its own that answers nothing else', async (t) => {
  const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
  t.is(res.status, 200);
  t.regex(await res.text(), /http_requests_total/);
  const other = await fetch(`http://127.0.0.1:${metricsPort}/mypages/me`);
  t.is(other.status, 404);
  t.is(((await other.json()) as { error: { code: string } }).error.code, 'ROUTE.NOT_FOUND');
});
