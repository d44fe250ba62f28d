import { execFile } from 'node:child_process';
import { mkdirSync, mkdtempSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import test from 'ava';
import { createClient } from 'redis';
import { checkInvariants } from '../../scripts/invariants.js';
import { tokenNames, writeLocalSecrets } from '../../scripts/lib/local.js';
import { memberClient, sampleRecipe, type MemberClient } from '../support/client.js';
import { BROKER } from '../support/broker.js';
import { ROOT } from '../support/dapr.js';
import { eventually } from '../support/processes.js';
import { APP_IDS, checkTargets } from '../support/system.js';
import { useSystem } from '../support/use-system.js';

// A subscriber drops an event (a broken deploy of mypage answers 404 on its
// route, which Dapr treats as "never deliverable"); `npm run deadletters`
// lists it; after the fix it re-drives it through the owner's sidecar, and
// the event takes effect once, even when re-driven twice. The script reads
// Redis Streams, so this runs on the Redis broker only.
const onRedis = BROKER === 'redis';
const system = useSystem(test, { apps: { mypage: { linkApp: true } } });
const run = promisify(execFile);

/** The script as an operator runs it, pointed at this test system through a run directory of its own. */
async function deadletters(...args: string[]): Promise<string> {
  const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(ROOT, 'scripts/deadletters.ts'), ...args], {
    cwd: ROOT,
    env: { ...process.env, LOCAL_RUN_DIR: runDir },
  });
  return stdout;
}
let runDir: string;

const pageOf = async (client: MemberClient) =>
  (await client.get('/mypages/me')).body as { recipes: { recipeId: string; title: string; points: number }[] };

(onRedis ? test : test.skip)('a dropped event is listed, re-driven after the fix, and takes effect once', async (t) => {
  const { redis } = system().backing;
  runDir = mkdtempSync(path.join(os.tmpdir(), 'deadletters-'));
  mkdirSync(path.join(runDir, 'run'));
  writeFileSync(
    path.join(runDir, 'run', 'local.json'),
    JSON.stringify({
      gatewayUrl: system().gatewayUrl,
      sidecars: Object.fromEntries(APP_IDS.map((id) => [id, system().services[id].daprUrl])),
      myrecipeDatabaseUrl: system().backing.db.url,
      recipeRedis: `${system().backing.recipeRedis.host}:${system().backing.recipeRedis.port}`,
      pubsubRedis: `${redis.host}:${redis.port}`,
    }),
  );
  writeLocalSecrets(
    Object.fromEntries(APP_IDS.map((id) => [tokenNames(id).daprApiToken, system().backing.tokens[id].daprApiToken])),
    runDir,
  );
  t.regex(await deadletters(), /no dead letters/);

  // The broken deploy: every mypage replica answers 404 on Registered.
  for (const replica of system().replicas.mypage)
    replica.appLink!.setRule((req) => (req.url.startsWith('/events/registered') ? { kind: 'respond', status: 404 } : { kind: 'pass' }));
  const alice = memberClient(system().gatewayUrl, await system().token('alice'));
  const created = await alice.post('/myrecipes', sampleRecipe('Dropped once'));
  t.is(created.status, 201);
  const recipeId = created.body.recipeId as string;
  const eventId = `Registered:${recipeId}`;
  await eventually(async () => (await alice.get(`/recipes/${recipeId}`)).status === 200, { what: 'recipe handled Registered' });
  const listed = await eventually(
    async () => {
      const out = await deadletters();
      return out.includes(eventId) ? out : undefined;
    },
    { what: 'the dropped event on Registered-deadletter', intervalMs: 1_000, timeoutMs: 30_000 },
  );
  t.regex(listed, new RegExp(`^Registered\\s+${eventId}\\s+\\d+s ago \\(entry \\d+-\\d+ on Registered-deadletter\\)`, 'm'));
  t.deepEqual((await pageOf(alice)).recipes, [], 'mypage never handled it');

  // The fix is deployed; the dead letter is re-driven, and a copy of it is kept
  // to re-drive it again as if the first re-drive had died before removing it.
  for (const replica of system().replicas.mypage) replica.appLink!.setRule(undefined);
  const client = createClient({ socket: { host: redis.host, port: redis.port } });
  await client.connect();
  t.teardown(() => client.quit());
  const [kept] = await client.xRange('Registered-deadletter', '-', '+');
  t.regex(
    await deadletters('redrive', eventId),
    new RegExp(`re-driven: ${eventId} to Registered through myrecipe \\(1 dead-letter entry removed\\)`),
  );
  t.regex(await deadletters(), /no dead letters/);
  await eventually(async () => (await pageOf(alice)).recipes.length === 1, { what: 'mypage handled the re-driven event' });

  await client.xAdd('Registered-deadletter', '*', kept!.message);
  t.regex(await deadletters('redrive', eventId), /re-driven/);
  t.regex(await deadletters('redrive', eventId), new RegExp(`not a dead letter \\(already re-driven, or never dropped\\): ${eventId}`));

  // The same event, kept whole: two more deliveries of `Registered:<id>` than the first.
  const published = (await client.xRange('Registered', '-', '+')).filter(
    (e) => (JSON.parse(e.message.data!) as { id: string }).id === eventId,
  );
  t.is(published.length, 3);
  // Once: one recipe on the page and in the catalogue, no points from anywhere, every store agreeing.
  await new Promise((r) => setTimeout(r, 1_000));
  t.like((await pageOf(alice)).recipes, [{ recipeId, title: 'Dropped once', points: 0 }]);
  t.is((await pageOf(alice)).recipes.length, 1);
  t.like((await alice.get(`/recipes/${recipeId}`)).body, { recipeId, points: 0 });
  const report = await checkInvariants(checkTargets(system()));
  t.deepEqual(report.problems, []);
});
