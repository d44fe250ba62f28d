import { execFile } from 'node:child_process';
import { randomUUID } from 'node:crypto';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import test, { type ExecutionContext } from 'ava';
import type { Locator, Page } from 'playwright-core';
import { sleep } from '../support/processes.js';
import { useSystem } from '../support/use-system.js';
import { accessibilityViolations, assertNoProblems, openMember, screenshot, signIn, useBrowser, type Member } from './support.js';

// The members' journey in a real browser (Debian's Chromium) against the whole
// system: two replicas of every app with their sidecars, the gateway serving
// the built web app and its development sign-in.
const system = useSystem(test, { env: { gateway: { DEV_SIGN_IN: 'true' } } });
const browser = useBrowser(test);

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
const recipeIdIn = (page: Page) => /#\/recipes\/([0-9a-f-]{36})/.exec(page.url())?.[1];

/** The public API as the same member (the same name signs in as the same member). */
async function apiAs(name: string) {
  const res = await fetch(`${system().gatewayUrl}/dev/sign-in`, {
    method: 'POST',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ name }),
  });
  const { token } = (await res.json()) as { token: string };
  return async <T>(path: string) => {
    const answer = await fetch(system().gatewayUrl + path, { headers: { authorization: `Bearer ${token}` } });
    return { status: answer.status, body: (await answer.json()) as T };
  };
}

async function register(page: Page, recipe: { title: string; ingredients: string[]; steps: string[] }): Promise<string> {
  await page.getByRole('link', { name: 'New recipe' }).click();
  await page.getByLabel('Title').fill(recipe.title);
  await page.getByLabel('Ingredients (one per line)').fill(recipe.ingredients.join('\n'));
  await page.getByLabel('Steps (one per line)').fill(recipe.steps.join('\n'));
  await page.getByRole('button', { name: 'Register recipe' }).click();
  await page.waitForURL(/#\/recipes\/[0-9a-f-]{36}/);
  return recipeIdIn(page)!;
}

/** Reloads the catalogue until the recipe is listed (it gets there by an event, a moment after registration). */
async function findInCatalogue(page: Page, title: string) {
  const card = page.getByTestId('recipe-card').filter({ hasText: title });
  for (const deadline = Date.now() + 30_000; ;) {
    await page.goto('/#/');
    await page.reload(); // the same URL but for its hash does not load the page again
    await page.getByRole('heading', { name: 'Recipes', level: 1 }).waitFor();
    await page
      .getByTestId('recipe-card')
      .first()
      .waitFor({ timeout: 5_000 })
      .catch(() => undefined);
    if ((await card.count()) > 0) return card;
    if (Date.now() > deadline) throw new Error(`"${title}" never appeared in the catalogue`);
    await sleep(500);
  }
}

/** Waits for a locator's text (a page that polls gets there by itself). */
async function waitForText(locator: Locator, text: string, timeoutMs = 30_000) {
  for (const deadline = Date.now() + timeoutMs; (await locator.innerText()) !== text; await sleep(250)) {
    if (Date.now() > deadline) throw new Error(`still "${await locator.innerText()}", not "${text}", after ${timeoutMs} ms`);
  }
}

async function scan(t: ExecutionContext, member: Member, name: string) {
  t.deepEqual(await accessibilityViolations(member.page), [], `${name}: axe-core finds no serious or critical violation`);
  const width = await member.page.evaluate(() => ({ page: document.documentElement.scrollWidth, viewport: window.innerWidth }));
  t.true(width.page <= width.viewport, `${name}: no horizontal scrolling at ${width.viewport} px (the page is ${width.page} px wide)`);
  await screenshot(member.page, name, { forReadme: name === 'catalogue' || name === 'my-page' });
}

const seed = () =>
  promisify(execFile)('npx', ['tsx', 'scripts/seed.ts'], { cwd: ROOT, env: { ...process.env, GATEWAY_URL: system().gatewayUrl } });

// First: the seeded recipes are what the screenshots show.
test.serial('npm run seed fills the system through the API, and running it again adds nothing', async (t) => {
  const first = await seed();
  t.regex(first.stdout, /6 recipes of 4 members, 7 new recommendations/);
  const again = await seed();
  t.regex(again.stdout, /6 recipes of 4 members, 0 new recommendations/);
  const asBob = await apiAs('Bob');
  let top: { title: string; points: number; author: { displayName: string } } | undefined;
  for (const deadline = Date.now() + 30_000; top?.points !== 3; await sleep(500)) {
    if (Date.now() > deadline) throw new Error(`the catalogue's top recipe is ${JSON.stringify(top)}`);
    top = (await asBob<{ items: (typeof top)[] }>('/recipes?limit=20')).body.items[0];
  }
  t.like(top, { title: '김치찌개', points: 3, author: { displayName: 'Minji' } });
  const mine = await (await apiAs('Minji'))<{ items: unknown[] }>('/myrecipes');
  t.is(mine.body.items.length, 2, 'Minji has her two recipes, once each');
  const asAlice = await apiAs('Alice');
  for (
    const deadline = Date.now() + 30_000;
    (await asAlice<{ balance: number }>('/mypages/me')).body.balance !== ALICE_SEEDED;
    await sleep(500)
  ) {
    if (Date.now() > deadline) throw new Error(`Alice's balance never reached ${ALICE_SEEDED}`);
  }
});

/** Alice's points from the seed: Minji and Bob recommended her pasta. */
const ALICE_SEEDED = 2;

const stew = (suffix?: string) => ({
  title: suffix ? `Kimchi stew ${suffix}` : 'Kimchi stew',
  ingredients: ['kimchi', 'pork belly', 'tofu'],
  steps: ['Fry the pork with the kimchi.', 'Add water and tofu, simmer 20 minutes.'],
});

test.serial(
  'two members: one registers, the other finds and recommends it, points reach my page, and deleting takes them back',
  async (t) => {
    const alice = await openMember(browser(), system().gatewayUrl);
    const bob = await openMember(browser(), system().gatewayUrl);
    t.teardown(() => Promise.all([alice.context.close(), bob.context.close()]));

    await alice.page.goto('/');
    await alice.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    await scan(t, alice, 'sign-in');
    await signIn(alice.page, 'Alice');
    await signIn(bob.page, 'Bob');

    const recipe = stew(); // the first of this name in this system (the others have a suffix)
    await alice.page.getByRole('link', { name: 'New recipe' }).click();
    await alice.page.getByLabel('Title').waitFor();
    await scan(t, alice, 'new-recipe');
    const recipeId = await register(alice.page, recipe);
    await alice.page.getByRole('heading', { name: recipe.title }).waitFor();
    t.true(await alice.page.getByRole('button', { name: 'Recommend' }).isDisabled(), 'alice cannot recommend her own recipe');

    const card = await findInCatalogue(bob.page, recipe.title);
    await scan(t, bob, 'catalogue');
    await card.getByRole('link', { name: recipe.title }).click();
    await bob.page.getByRole('heading', { name: recipe.title }).waitFor();
    t.is(recipeIdIn(bob.page), recipeId);
    for (const text of [...recipe.ingredients, ...recipe.steps]) t.true(await bob.page.getByText(text, { exact: true }).isVisible(), text);
    t.is(await bob.page.getByTestId('points').innerText(), '0');
    await scan(t, bob, 'recipe');
    await bob.page.getByRole('button', { name: 'Recommend' }).click();
    const recommended = bob.page.getByRole('button', { name: 'Recommended' });
    await recommended.waitFor();
    t.true(await recommended.isDisabled(), 'recommended once: the button says so and stays disabled');

    // My page polls: the point arrives without a reload.
    await alice.page.getByRole('link', { name: 'My page' }).click();
    const row = alice.page.getByTestId('my-recipe').filter({ hasText: recipe.title });
    await row.getByText('1 point').waitFor({ timeout: 30_000 });
    t.is(await alice.page.getByTestId('balance').innerText(), String(ALICE_SEEDED + 1));
    t.regex(await alice.page.getByTestId('last-refresh').innerText(), /^Updated \d+ s ago$/);
    await scan(t, alice, 'my-page');

    await row.getByRole('button', { name: 'Delete' }).click();
    const dialog = alice.page.getByRole('dialog');
    await dialog.waitFor();
    await scan(t, alice, 'delete-dialog');
    await dialog.getByRole('button', { name: 'Yes, delete' }).click();
    await alice.page.getByTestId('notice').filter({ hasText: 'Recipe deleted; 1 points taken back.' }).waitFor();
    await row.waitFor({ state: 'detached' });
    t.is(await alice.page.getByTestId('balance').innerText(), String(ALICE_SEEDED));
    await sleep(6_000); // a poll, which may come before the read model has the delete: the balance stays
    t.is(await alice.page.getByTestId('balance').innerText(), String(ALICE_SEEDED));
    const asAlice = await apiAs('Alice');
    t.like((await asAlice<{ balance: number }>('/mypages/me')).body, { balance: ALICE_SEEDED }, 'the API agrees: the point is gone');
    t.is((await asAlice(`/recipes/${recipeId}`)).status, 404);

    await bob.page.getByRole('button', { name: 'Sign out' }).click();
    await bob.page.getByRole('heading', { name: 'Sign in' }).waitFor();
    assertNoProblems(t, alice, bob);
  },
);

test.serial('a double click on "Register recipe" registers one recipe', async (t) => {
  const carol = await openMember(browser(), system().gatewayUrl);
  t.teardown(() => carol.context.close());
  await signIn(carol.page, 'Carol');
  const recipe = stew(`double ${randomUUID().slice(0, 8)}`);
  await carol.page.getByRole('link', { name: 'New recipe' }).click();
  await carol.page.getByLabel('Title').fill(recipe.title);
  await carol.page.getByLabel('Ingredients (one per line)').fill(recipe.ingredients.join('\n'));
  await carol.page.getByLabel('Steps (one per line)').fill(recipe.steps.join('\n'));
  await carol.page.getByRole('button', { name: 'Register recipe' }).dblclick();
  await carol.page.waitForURL(/#\/recipes\/[0-9a-f-]{36}/);
  await sleep(1_000); // a second registration, if the page had sent one, has been answered by now
  const mine = await (await apiAs('Carol'))<{ items: { title: string }[] }>('/myrecipes?limit=50');
  t.is(mine.body.items.filter((r) => r.title === recipe.title).length, 1, 'one recipe for the double click');
  assertNoProblems(t, carol);
});

test.serial('a member registers a recipe with the keyboard only, focus always visible', async (t) => {
  const dan = await openMember(browser(), system().gatewayUrl);
  t.teardown(() => dan.context.close());
  const { page } = dan;
  await page.goto('/');
  await page.getByRole('heading', { name: 'Sign in' }).waitFor();

  /** Tabs until the element with this accessible name has focus; checks its focus is drawn. */
  const tabTo = async (name: string) => {
    for (let i = 0; i < 30; i++) {
      await page.keyboard.press('Tab');
      const focused = await page.evaluate(() => {
        const el = document.activeElement as HTMLElement | null;
        if (!el || el === document.body) return undefined;
        const label = el.id ? document.querySelector(`label[for="${el.id}"]`)?.textContent : undefined;
        const style = getComputedStyle(el);
        return {
          name: (el.getAttribute('aria-label') ?? label ?? el.textContent ?? '').trim(),
          outline: style.outlineStyle,
          shadow: style.boxShadow,
        };
      });
      if (focused?.name.startsWith(name)) {
        t.true(focused.outline !== 'none' || focused.shadow !== 'none', `focus on "${name}" is visible`);
        return;
      }
    }
    throw new Error(`Tab never reached "${name}"`);
  };

  await tabTo('Member name');
  await page.keyboard.type('Dan');
  await page.keyboard.press('Enter');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  await tabTo('New recipe');
  await page.keyboard.press('Enter');
  await page.getByRole('heading', { name: 'New recipe', level: 1 }).waitFor();
  const recipe = stew(`keyboard ${randomUUID().slice(0, 8)}`);
  await tabTo('Title');
  await page.keyboard.type(recipe.title);
  await tabTo('Ingredients');
  await page.keyboard.type(recipe.ingredients.join('\n'));
  await tabTo('Steps');
  await page.keyboard.type(recipe.steps.join('\n'));
  await tabTo('Register recipe');
  await page.keyboard.press('Enter');
  await page.waitForURL(/#\/recipes\/[0-9a-f-]{36}/);
  await page.getByRole('heading', { name: recipe.title }).waitFor();
  assertNoProblems(t, dan);
});

test.serial('what the API refuses is shown next to its field, and a lapsed session keeps what was typed', async (t) => {
  const erin = await openMember(browser(), system().gatewayUrl);
  t.teardown(() => erin.context.close());
  const { page } = erin;
  await signIn(page, 'Erin');
  await page.getByRole('link', { name: 'New recipe' }).click();
  await page.getByRole('button', { name: 'Register recipe' }).click();
  await page.getByText('Please correct the fields marked below.').waitFor();
  t.true((await page.getByLabel('Title').getAttribute('aria-invalid')) === 'true', 'the empty title is marked');
  await scan(t, erin, 'new-recipe-invalid');

  const recipe = stew(`draft ${randomUUID().slice(0, 8)}`);
  await page.getByLabel('Title').fill(recipe.title);
  await page.getByLabel('Ingredients (one per line)').fill(recipe.ingredients.join('\n'));
  await page.getByLabel('Steps (one per line)').fill(recipe.steps.join('\n'));
  // The token stops being accepted (as when it expires, or its key is rotated), and the page is loaded again: the API answers 401.
  await page.evaluate(() => {
    const session = JSON.parse(sessionStorage.getItem('recipe.session')!) as { token: string };
    sessionStorage.setItem('recipe.session', JSON.stringify({ ...session, token: `${session.token.slice(0, -4)}AAAA` }));
  });
  await page.reload();
  await page.getByText('Your session has expired. Please sign in again: nothing you typed is lost.').waitFor();
  await page.getByLabel('Member name').fill('Erin');
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByLabel('Title').waitFor();
  t.is(await page.getByLabel('Title').inputValue(), recipe.title, 'the draft is back after signing in again');
  t.is(await page.getByLabel('Steps (one per line)').inputValue(), recipe.steps.join('\n'));
  await page.getByRole('button', { name: 'Register recipe' }).click();
  await page.waitForURL(/#\/recipes\/[0-9a-f-]{36}/);
  const mine = await (await apiAs('Erin'))<{ items: { title: string }[] }>('/myrecipes?limit=50');
  t.is(mine.body.items.filter((r) => r.title === recipe.title).length, 1);
  // The 401 itself is a console error Chromium logs for any failed fetch; nothing else may be.
  t.deepEqual(
    erin.problems.filter((p) => !/401 \(Unauthorized\)/.test(p)),
    [],
  );
});

test.serial('in Korean: the browser language chooses it, and the switch changes it', async (t) => {
  const minji = await openMember(browser(), system().gatewayUrl, { locale: 'ko-KR' });
  t.teardown(() => minji.context.close());
  const { page } = minji;
  await page.goto('/');
  t.is(await page.locator('html').getAttribute('lang'), 'ko');
  await page.getByLabel('회원 이름').fill('민지');
  await page.getByRole('button', { name: '로그인' }).click();
  await page.getByRole('button', { name: '로그아웃' }).waitFor();
  await page.getByRole('heading', { level: 1 }).first().waitFor();
  await scan(t, minji, 'catalogue-ko');
  await page.getByLabel('언어').selectOption('en');
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
  t.is(await page.locator('html').getAttribute('lang'), 'en');
  assertNoProblems(t, minji);
});

// Last: it stops the recommendation service.
test.serial(
  'with the recommendation service down, a delete is refused kindly, nothing changes, and it goes through once the service is back',
  async (t) => {
    const frank = await openMember(browser(), system().gatewayUrl);
    t.teardown(() => frank.context.close());
    const { page } = frank;
    await signIn(page, 'Frank');
    const recipe = stew(`outage ${randomUUID().slice(0, 8)}`);
    const recipeId = await register(page, recipe);
    const grace = await openMember(browser(), system().gatewayUrl);
    t.teardown(() => grace.context.close());
    await signIn(grace.page, 'Grace');
    await grace.page.goto(`/#/recipes/${recipeId}`);
    const recommend = grace.page.getByRole('button', { name: 'Recommend' });
    // The recipe reaches the recommendation service by an event: until then its page is a 404.
    for (const deadline = Date.now() + 30_000; !(await recommend.isVisible()); await sleep(500)) {
      if (Date.now() > deadline) throw new Error('the recipe never became recommendable');
      await grace.page.reload();
    }
    await recommend.click();
    await grace.page.getByRole('button', { name: 'Recommended' }).waitFor();
    await page.getByRole('link', { name: 'My page' }).click();
    const row = page.getByTestId('my-recipe').filter({ hasText: recipe.title });
    await row.getByText('1 point').waitFor({ timeout: 30_000 });

    await system().all('recipe', (r) => r.stopApp('SIGKILL'));
    try {
      await row.getByRole('button', { name: 'Delete' }).click();
      await page.getByRole('dialog').getByRole('button', { name: 'Yes, delete' }).click();
      const kind = page.getByTestId('notice').filter({ hasText: /The service is busy; nothing changed\. Trying again in \d+ s\./ });
      await kind.waitFor({ timeout: 30_000 });
      await screenshot(page, 'delete-refused');
      t.deepEqual(await accessibilityViolations(page), []);
      const asFrank = await apiAs('Frank');
      t.like((await asFrank<{ balance: number }>('/mypages/me')).body, { balance: 1 }, 'nothing changed: the point is still there');
      t.is((await asFrank(`/myrecipes/${recipeId}`)).status, 200, 'nothing changed: the recipe is still there');
    } finally {
      await system().all('recipe', (r) => r.startApp());
    }
    // The page tries again after Retry-After by itself; or the member does, once it gave up.
    const deleted = page.getByTestId('notice').filter({ hasText: 'Recipe deleted; 1 points taken back.' });
    for (const deadline = Date.now() + 60_000; !(await deleted.isVisible()); await sleep(500)) {
      if (Date.now() > deadline) throw new Error('the delete never went through after the service came back');
      const again = page.getByRole('button', { name: 'Try again' });
      if (await again.isVisible()) await again.click();
    }
    await waitForText(page.getByTestId('balance'), '0');
    t.is((await (await apiAs('Frank'))(`/myrecipes/${recipeId}`)).status, 404);
    t.deepEqual(
      frank.problems.filter((p) => !/503 \(Service Unavailable\)/.test(p)),
      [],
    );
  },
);
