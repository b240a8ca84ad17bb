// Debian's Chromium driven by playwright-core for dashboard tests: a headless persistent context,
// signing in with an API token, and an axe-core accessibility check of the page as it is.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { createRequire } from 'node:module';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { chromium, type BrowserContext, type Page } from 'playwright-core';

export const CHROMIUM = '/usr/bin/chromium';

export interface Browser {
  context: BrowserContext;
  page: Page;
  /** Errors the pages wrote to the console, and uncaught exceptions. */
  consoleProblems: string[];
  /** Opens another tab that reports its console errors too. */
  newPage(): Promise<Page>;
  close(): Promise<void>;
}

export async function launchBrowser(): Promise<Browser> {
  assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (scripts/setup.sh test)`);
  const userDataDir = mkdtempSync(join(tmpdir(), 'holdfast-chromium-'));
  const context = await chromium.launchPersistentContext(userDataDir, {
    executablePath: CHROMIUM,
    headless: true,
    args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
    viewport: { width: 1280, height: 900 },
    timeout: 60_000,
  });
  const consoleProblems: string[] = [];
  const watch = (p: Page) => {
    p.setDefaultTimeout(20_000);
    p.on('console', (m) => m.type() === 'error' && consoleProblems.push(`${m.text()} (${m.location().url ?? ''})`));
    p.on('pageerror', (err) => consoleProblems.push(`uncaught: ${err.message}`));
    return p;
  };
  const page = watch(context.pages()[0] ?? (await context.newPage()));
  return {
    context,
    page,
    consoleProblems,
    newPage: async () => watch(await context.newPage()),
    close: async () => {
      await context.close().catch(() => undefined);
      rmSync(userDataDir, { recursive: true, force: true });
    },
  };
}

/** Signs in on the dashboard's sign-in page with an API token and waits for the first page. */
export async function signInWithToken(page: Page, url: string, token: string): Promise<void> {
  await page.goto(url + '/');
  await page.getByRole('button', { name: 'Use an API token instead' }).click();
  await page.getByLabel('API token').fill(token);
  await page.getByRole('button', { name: 'Sign in' }).click();
  await page.locator('[data-ready="true"]').waitFor();
}

let axeSource: string | undefined;

/**
 * The serious and critical axe-core violations on the page as it is now, one line each. axe is
 * evaluated through the DevTools protocol: the dashboard's CSP (script-src 'self') rightly refuses
 * an injected <script>, and the check must not need the CSP turned off.
 */
export async function seriousA11yViolations(page: Page): Promise<string[]> {
  axeSource ??= readFileSync(createRequire(import.meta.url).resolve('axe-core/axe.min.js'), 'utf8');
  if (!(await page.evaluate(() => 'axe' in window))) await page.evaluate(axeSource);
  const violations = await page.evaluate(async () => {
    const result = await (window as unknown as { axe: { run: (ctx: Document, opts: object) => Promise<{ violations: Array<{ id: string; impact?: string; help: string; nodes: Array<{ target: unknown[] }> }> }> } }).axe.run(document, {
      resultTypes: ['violations'],
    });
    return result.violations.map((v) => ({ id: v.id, impact: v.impact, help: v.help, targets: v.nodes.slice(0, 3).map((n) => JSON.stringify(n.target)) }));
  });
  return violations.filter((v) => v.impact === 'serious' || v.impact === 'critical').map((v) => `${v.impact} ${v.id}: ${v.help} at ${v.targets.join(', ')}`);
}
