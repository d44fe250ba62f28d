import { randomUUID } from 'node:crypto';
import type { ExecutionContext, TestFn } from 'ava';
import fc from 'fast-check';
import { memberClient, sampleRecipe } from '../client.js';
import { eventually, sleep } from '../processes.js';
import type { System } from '../system.js';
import { useSystem } from '../use-system.js';
import { CANARY } from './generators.js';
import type { Address, Probe } from './raw-http.js';
import { changesBetween, snapshot, type SeededRecipes, type Seeded, type Seeds, type Snapshot } from './snapshot.js';
import { logReports, runStorm, type StormReport } from './storm.js';
import { forge, ODD_VALID_SUBS } from './tokens.js';
import { clip } from './verdict.js';

// The stage of a bad-input file: one real system (four apps, their sidecars,
// Redis, PostgreSQL), members and recipes registered on it, and a snapshot of
// everything stored, taken when it is quiet, before the storms.

/** Each storm has fresh members whose valid tokens it uses: their pages must stay empty. */
export type StormKey =
  | 'bodies'
  | 'notjson'
  | 'huge'
  | 'deep'
  | 'ids'
  | 'proto'
  | 'query'
  | 'auth'
  | 'idem'
  | 'methods'
  | 'unicode'
  | 'parser'
  | 'myrecipes'
  | 'profile';

export interface Stage {
  system: System;
  gateway: Address;
  seeded: Seeds;
  recipes: SeededRecipes;
  /** A storm's own members. */
  membersOf: (storm: StormKey) => Seeded[];
  /** Valid tokens whose `sub` is odd but allowed by the member id rules. */
  oddSubTokens: [string, string][];
  /** Tokens that must never authenticate: alg none, wrong alg/key, bad or missing claims. */
  forgedTokens: { what: string; token: string }[];
  before: Snapshot;
  reports: StormReport[];
  /** The tokens of a storm's own members. */
  tokensOf: (storm: StormKey) => fc.Arbitrary<string>;
  /** The seeded owners too: ids and paths must not reach their recipes either. */
  anyMemberToken: (storm: StormKey) => fc.Arbitrary<string>;
  realIds: () => string[];
  storm: (t: ExecutionContext, name: string, seedOffset: number, runs: number, probes: fc.Arbitrary<Probe>) => Promise<void>;
  /** Everything that changed since the snapshot before the storms (nothing may). */
  changesSinceBefore: () => Promise<string[]>;
}

/** Starts the system for a test file whose tests run the given storms, and sets the stage before the first test. */
export function useStage(test: TestFn, storms: readonly StormKey[]): () => Stage {
  const system = useSystem(test);
  let stage: Stage | undefined;
  test.before(async () => {
    stage = await setStage(system(), storms);
  });
  return () => {
    if (!stage) throw new Error('the stage is not set (its before hook failed)');
    return stage;
  };
}

/** The file's last test: once its storms are over, nothing they sent changed anything, and the invariants hold. */
export function testNothingChanged(test: TestFn, stage: () => Stage): void {
  test.serial(
    'when the storm is over, then every stored datum, every page and the catalogue are unchanged and the invariants hold',
    async (t) => {
      const { reports, changesSinceBefore } = stage();
      logReports(t, reports);
      await sleep(2_000); // let anything the storm might have queued (events) arrive
      t.deepEqual(await changesSinceBefore(), [], 'nothing the storm sent changed anything');
    },
  );
}

async function setStage(system: System, storms: readonly StormKey[]): Promise<Stage> {
  const url = new URL(system.gatewayUrl);
  const gateway = { host: url.hostname, port: Number(url.port) };
  const suffix = randomUUID().slice(0, 8);
  const member = async (id: string): Promise<Seeded> => {
    const token = await system.token(id);
    return { id, token, client: memberClient(system.gatewayUrl, token) };
  };
  const seeded: Seeds = {
    alice: await member(`alice-${suffix}`),
    bob: await member(`bob-${suffix}`),
    carol: await member(`carol-${suffix}`),
  };
  const stormMembers: Partial<Record<StormKey, Seeded[]>> = {};
  for (const storm of storms) stormMembers[storm] = [await member(`${storm}0-${suffix}`), await member(`${storm}1-${suffix}`)];
  const oddSubTokens: [string, string][] = [];
  for (const sub of ODD_VALID_SUBS) oddSubTokens.push([sub, await system.token(sub)]);
  const forgedTokens = forge(system.backing.signingKey, seeded.alice.id, seeded.alice.token);

  const { alice, bob, carol } = seeded;
  const recipes: SeededRecipes = {
    r1: await registerSeed(alice, 'Kimchi stew'),
    r2: await registerSeed(alice, 'Bibimbap'),
    r3: await registerSeed(bob, 'Japchae'),
  };
  for (const [who, id] of [
    [bob, recipes.r1],
    [carol, recipes.r1],
    [carol, recipes.r3],
  ] as const) {
    const res = await who.client.post(`/recipes/${id}/recommendations`);
    if (res.status !== 201) throw new Error(`recommend: ${res.status} ${res.text}`);
  }
  // Quiet and consistent, and stable: two snapshots a second apart agree.
  const before = await eventually(
    async () => {
      const first = await snapshot(system, seeded, recipes);
      if (!first.report.ok) throw new Error(first.report.problems.join('; '));
      if ((first.pages.alice as { balance: number }).balance !== 2 || (first.pages.bob as { balance: number }).balance !== 1)
        return undefined;
      await sleep(1_000);
      const second = await snapshot(system, seeded, recipes);
      return JSON.stringify(first) === JSON.stringify(second) ? second : undefined;
    },
    { what: 'a quiet, consistent system before the storm', timeoutMs: 60_000, intervalMs: 500 },
  );

  // Each storm member's profile (GET /members/me): its generated name is made on the first read, and kept.
  const profileOf = async (m: Seeded) => JSON.stringify((await m.client.get('/members/me')).body);
  const profiles = new Map<string, string>();
  for (const members of Object.values(stormMembers)) for (const m of members) profiles.set(m.id, await profileOf(m));

  const membersOf = (storm: StormKey) => {
    const members = stormMembers[storm];
    if (!members) throw new Error(`the ${storm} storm is not on this file's stage`);
    return members;
  };
  const reports: StormReport[] = [];
  return {
    system,
    gateway,
    seeded,
    recipes,
    membersOf,
    oddSubTokens,
    forgedTokens,
    before,
    reports,
    tokensOf: (storm) => fc.constantFrom(...membersOf(storm).map((m) => m.token)),
    anyMemberToken: (storm) => fc.constantFrom(seeded.alice.token, seeded.bob.token, ...membersOf(storm).map((m) => m.token)),
    realIds: () => [recipes.r1, recipes.r2, recipes.r3],
    storm: (t, name, seedOffset, runs, probes) => runStorm(t, { gateway, reports }, name, seedOffset, runs, probes),
    changesSinceBefore: async () => {
      const after = await snapshot(system, seeded, recipes);
      const changes = changesBetween(before, after);
      for (const storm of storms) {
        for (const member of membersOf(storm)) {
          const page = await member.client.get('/mypages/me');
          const { memberId, balance, recipes: listed } = (page.body ?? {}) as { memberId?: unknown; balance?: unknown; recipes?: unknown };
          if (
            page.status !== 200 ||
            JSON.stringify({ memberId, balance, recipes: listed }) !== JSON.stringify({ memberId: member.id, balance: 0, recipes: [] })
          ) {
            const titles = (page.body?.recipes ?? []).map((r: { title: string }) => r.title);
            changes.push(
              `${member.id} (used by the ${storm} storm) no longer has an empty page: ${page.status}, ${titles.length} recipes, e.g. ${clip(JSON.stringify(titles.slice(0, 3)), 200)}`,
            );
          }
          const profile = await profileOf(member);
          if (profile !== profiles.get(member.id))
            changes.push(`${member.id}'s profile changed: ${clip(profiles.get(member.id) ?? '', 120)} → ${clip(profile, 120)}`);
        }
      }
      if (JSON.stringify(after).includes(CANARY)) changes.push('a polluted value is shown somewhere');
      return changes;
    },
  };
}

async function registerSeed(who: Seeded, title: string): Promise<string> {
  // The key makes the retries (while the system warms up) create one recipe.
  const key = `seed-${randomUUID()}`;
  const created = await eventually(
    async () => {
      const res = await who.client.post('/myrecipes', sampleRecipe(title), { headers: { 'idempotency-key': key } });
      if (res.status === 201) return res.body as { recipeId: string };
      if (res.status >= 500) return undefined;
      throw new Error(`register ${title}: ${res.status} ${res.text}`);
    },
    { what: `registering ${title}`, timeoutMs: 60_000, intervalMs: 500 },
  );
  await eventually(async () => (await who.client.get(`/recipes/${created.recipeId}`)).status === 200, {
    what: `${title} recommendable`,
    timeoutMs: 30_000,
  });
  return created.recipeId;
}
