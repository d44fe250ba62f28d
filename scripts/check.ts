// `npm run check`: checks the invariants of a locally running system (npm start)
// and prints what disagrees. Exit code 1 when something does.
import { checkInvariants } from './invariants.js';
import { localApiToken, localRunDir, readLocalRun } from './lib/local.js';

// What the local run (scripts/local/run.ts) wrote down: its sidecars, its stores; each sidecar takes its own app's token.
const local = readLocalRun();
if (!local) {
  console.error(`no local run found in ${localRunDir()}: start one with npm start`);
  process.exit(1);
}
const [redisHost, redisPort = '6379'] = local.recipeRedis.split(':');
const report = await checkInvariants({
  myrecipeSidecar: local.sidecars.myrecipe!,
  mypageSidecar: local.sidecars.mypage!,
  myrecipeApiToken: localApiToken('myrecipe'),
  mypageApiToken: localApiToken('mypage'),
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
