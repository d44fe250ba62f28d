// `npm run check`: checks the invariants of a locally running system (npm start)
// and prints what disagrees. Exit code 1 when something does.
import { existsSync, readFileSync } from 'node:fs';
import { checkInvariants } from './invariants.js';

// The Dapr API token of a local run (npm start) lives in .tmp/local.env.
const localEnvFile = new URL('../.tmp/local.env', import.meta.url);
const localEnv = existsSync(localEnvFile) ? Object.fromEntries(readFileSync(localEnvFile, 'utf8').split('\n').filter(Boolean).map((l) => l.split(/=(.*)/s, 2) as [string, string])) : {};
const env = { ...localEnv, ...process.env };
const report = await checkInvariants({
  myrecipeSidecar: env.MYRECIPE_SIDECAR ?? 'http://127.0.0.1:3501',
  mypageSidecar: env.MYPAGE_SIDECAR ?? 'http://127.0.0.1:3503',
  daprApiToken: env.DAPR_API_TOKEN,
  myrecipeDatabaseUrl: env.MYRECIPE_DATABASE_URL ?? 'postgres://postgres@127.0.0.1:5432/recommend_recipe',
  recipeRedis: { host: env.RECIPE_REDIS_HOST ?? '127.0.0.1', port: Number(env.RECIPE_REDIS_PORT ?? 6379) },
  point: Number(env.POINT ?? 1),
});
console.log(`${report.members} members, ${report.liveRecipes} live recipes, ${report.deletedRecipes} deleted`);
if (report.ok) {
  console.log('all invariants hold');
} else {
  console.log(`${report.problems.length} disagreement(s):`);
  for (const problem of report.problems) console.log(`  - ${problem}`);
  process.exitCode = 1;
}
