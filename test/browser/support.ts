import { existsSync, mkdirSync } from 'node:fs';
import { createRequire } from 'node:module';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { ExecutionContext, TestFn } from 'ava';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';

// The web app in Debian's Chromium, driven by playwright-core (Playwright's
// own browser download cannot be reached from these machines).

const ROOT = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');
/** Screenshots and the like of the last run (test-results/ is not committed). */
export const ARTIFACTS = path.join(ROOT, 'test-results', 'browser');
/** Where the README's screenshots live: the run writes them there with UPDATE_SCREENSHOTS=1. */
export const DOC_SCREENSHOTS = path.join(ROOT, 'docs', 'screenshots');

const CHROMIUM = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';
// Without the background-networking flags Chromium keeps calling Google's hosts, which this network refuses.
const ARGS = [
  '--no-sandbox',
  '--disable-gpu',
  '--disable-quic',
  '--no-first-run',
  '--disable-background-networking',
  '--disable-component-update',
  '--disable-sync',
  '--disable-dev-shm-usage',
];

const axeSource = (): string => {
  const require = createRequire(import.meta.url);
  return (require('axe-core') as { source: string }).source;
};

/** One Chromium for the whole file. */
export function useBrowser(test: TestFn): () => Browser {
  let browser: Browser | undefined;
  test.serial.before('start Chromium', async () => {
    if (!existsSync(CHROMIUM)) throw new Error(`no Chromium at ${CHROMIUM}: apt-get install chromium (or set CHROMIUM_PATH)`);
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: ARGS });
  });
  test.serial.after.always('stop Chromium', async () => {
    await browser?.close();
  });
  return () => {
    if (!browser) throw new Error('Chromium is not running');
    return browser;
  };
}

export interface Member {
  context: BrowserContext;
  page: Page;
  /** Console errors, page errors and failed requests seen so far (the test asserts there are none). */
  problems: string[];
}

/** A member's own browser profile at 375 px wide (a phone), in English unless told otherwise. */
export async function openMember(browser: Browser, baseURL: string, { locale = 'en-US', width = 375 } = {}): Promise<Member> {
  const context = await browser.newContext({ baseURL, locale, viewport: { width, height: 812 }, deviceScaleFactor: 1 });
  const page = await context.newPage();
  page.setDefaultTimeout(15_000);
  const problems: string[] = [];
  page.on('console', (message) => {
    if (message.type() === 'error') problems.push(`console: ${message.text()}`);
  });
  page.on('pageerror', (err) => problems.push(`page error: ${err.message}`));
  page.on('requestfailed', (request) => {
    // A poll cut short by navigation is not a failure of the app.
    if (request.failure()?.errorText !== 'net::ERR_ABORTED')
      problems.push(`request failed: ${request.url()} ${request.failure()?.errorText}`);
  });
  return { context, page, problems };
}

/** Signs in with the development sign-in form. */
export async function signIn(page: Page, name: string): Promise<void> {
  await page.goto('/');
  await page.getByLabel('Member name').fill(name);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.getByRole('button', { name: 'Sign out' }).waitFor();
}

/** Serious and critical axe-core violations on the page as it is now. */
export async function accessibilityViolations(page: Page): Promise<string[]> {
  // evaluate runs through the DevTools protocol: the page's Content-Security-Policy stays in force.
  await page.evaluate(axeSource());
  const results = await page.evaluate(async () => {
    const axe = (window as unknown as { axe: { run: (context: Document, options: object) => Promise<AxeResults> } }).axe;
    return axe.run(document, { resultTypes: ['violations'] });
  });
  return results.violations
    .filter((v) => v.impact === 'serious' || v.impact === 'critical')
    .map((v) => `${v.impact} ${v.id}: ${v.help} (${v.nodes.map((n) => n.target.join(' ')).join(', ')})`);
}

interface AxeResults {
  violations: { id: string; impact?: string | null; help: string; nodes: { target: string[] }[] }[];
}

/** A full-page screenshot as a test artifact; with UPDATE_SCREENSHOTS=1 also for the README. */
export async function screenshot(page: Page, name: string, { forReadme = false } = {}): Promise<void> {
  mkdirSync(ARTIFACTS, { recursive: true });
  await page.screenshot({ path: path.join(ARTIFACTS, `${name}.png`), fullPage: true });
  if (forReadme && process.env.UPDATE_SCREENSHOTS === '1') {
    mkdirSync(DOC_SCREENSHOTS, { recursive: true });
    await page.screenshot({ path: path.join(DOC_SCREENSHOTS, `${name}.png`), fullPage: true });
  }
}

/** No console error, page error or failed request in any member's browser. */
export function assertNoProblems(t: ExecutionContext, ...members: Member[]): void {
  t.deepEqual(
    members.flatMap((m) => m.problems),
    [],
    'the browser saw no console error, page error or failed request',
  );
}
