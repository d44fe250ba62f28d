// `npm run check`: checks the invariants of a locally running system (npm start)
// and prints what disagrees. Exit code 1 when something does.
import { existsSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { checkInvariants } from './invariants.js';
import { ROOT } from './lib/sidecar.js';

// What the local run (scripts/local/run.ts) wrote down: its token, its sidecars, its stores.
const runDir = path.resolve(ROOT, process.env.LOCAL_RUN_DIR ?? '.tmp');
const read = (file: string) => (existsSync(path.join(runDir, file)) ? readFileSync(path.join(runDir, file), 'utf8') : undefined);
const secrets = Object.fromEntries(
  (read('local.env') ?? '')
    .split('\n')
    .filter(Boolean)
    .map((l) => l.split(/=(.*)/s, 2) as [string, string]),
);
const local = JSON.parse(read('run/local.json') ?? 'null') as {
  sidecars: Record<string, string>;
  myrecipeDatabaseUrl: string;
  recipeRedis: string;
} | null;
if (!local) {
  console.error(`no local run found in ${runDir}: start one with npm start`);
  process.exit(1);
}
const [redisHost, redisPort = '6379'] = local.recipeRedis.split(':');
const report = await checkInvariants({
  myrecipeSidecar: local.sidecars.myrecipe!,
  mypageSidecar: local.sidecars.mypage!,
  daprApiToken: secrets.DAPR_API_TOKEN,
  myrecipeDatabaseUrl: local.myrecipeDatabaseUrl,
  recipeRedis: { host: redisHost!, port: Number(redisPort) },
  point: Number(process.env.POINT ?? 1),
});
console.log(`${report.members} members, ${report.liveRecipes} live recipes, ${report.deletedRecipes} deleted`);
if (report.ok) {
  console.log('all invariants hold');
} else {
  console.log(`${report.problems.length} disagreement(s):`);
  for (const problem of report.problems) console.log(`  - ${problem}`);
  process.exitCode = 1;
}
