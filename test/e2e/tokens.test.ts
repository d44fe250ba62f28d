import { randomUUID } from 'node:crypto';
import test from 'ava';
import { call } from '../support/client.js';
import type { RunningService } from '../support/dapr.js';
import { APP_IDS, startApp, startSidecarOnly } from '../support/system.js';
import { useBacking } from '../support/use-system.js';

// Every app has its own pair of tokens: the gateway, the one app facing the
// internet, holds no token that another app's sidecar (or app) accepts.
let recipe: RunningService;
let gateway: RunningService;
const started: RunningService[] = [];
const backing = useBacking(test, { beforeStop: () => Promise.all(started.map((s) => s.stop())) });

test.before(async () => {
  const starting = [startApp(backing(), 'recipe'), startSidecarOnly(backing(), 'gateway')];
  for (const s of starting)
    void s.then(
      (service) => started.push(service),
      () => undefined,
    );
  [recipe, gateway] = (await Promise.all(starting)) as [RunningService, RunningService];
});

test('the eight tokens are all different', (t) => {
  const all = APP_IDS.flatMap((id) => [backing().tokens[id].daprApiToken, backing().tokens[id].appApiToken]);
  t.is(new Set(all).size, 8);
  t.is(recipe.daprApiToken, backing().tokens.recipe.daprApiToken);
  t.is(gateway.daprApiToken, backing().tokens.gateway.daprApiToken);
});

test("one app's API token is refused by another app's sidecar, and accepted by its own", async (t) => {
  const state = (sidecar: RunningService, token: string) =>
    call(sidecar.daprUrl, 'POST', '/v1.0/state/recipe-store', { headers: { 'dapr-api-token': token }, body: [{ key: 'probe', value: 1 }] });
  const metadata = (sidecar: RunningService, token: string) =>
    call(sidecar.daprUrl, 'GET', '/v1.0/metadata', { headers: { 'dapr-api-token': token } });
  const publish = (sidecar: RunningService, token: string) =>
    call(sidecar.daprUrl, 'POST', '/v1.0/publish/pubsub/recipe-outbox', { headers: { 'dapr-api-token': token }, body: { recipeId: 'x' } });

  t.is((await state(recipe, gateway.daprApiToken)).status, 401, "the gateway's token at recipe's sidecar: state");
  t.is((await publish(recipe, gateway.daprApiToken)).status, 401, "the gateway's token at recipe's sidecar: publish");
  t.is((await metadata(recipe, gateway.daprApiToken)).status, 401, "the gateway's token at recipe's sidecar: metadata");
  t.is((await metadata(gateway, recipe.daprApiToken)).status, 401, "recipe's token at the gateway's sidecar");
  t.is((await metadata(recipe, recipe.appApiToken)).status, 401, "recipe's app token is not its API token");

  t.is((await state(recipe, recipe.daprApiToken)).status, 204, "recipe's own token at its sidecar");
  t.is((await metadata(gateway, gateway.daprApiToken)).status, 200, "the gateway's own token at its sidecar");
});

test("an app refuses another app's app token: only its own sidecar's token opens it", async (t) => {
  const get = (token: string) => call(recipe.appUrl, 'GET', `/recipes/${randomUUID()}`, { headers: { 'dapr-api-token': token } });
  t.is((await get(backing().tokens.gateway.appApiToken)).status, 401, "the gateway's app token");
  t.is((await get(backing().tokens.mypage.appApiToken)).status, 401, "mypage's app token");
  t.is((await get(recipe.daprApiToken)).status, 401, "recipe's own API token (the other direction)");
  t.is((await get(recipe.appApiToken)).status, 404, "recipe's own app token: through, to an unknown recipe");
});
