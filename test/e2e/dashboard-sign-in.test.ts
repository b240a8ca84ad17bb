// The dashboard's password sign-in in Debian's Chromium against the built `holdfast serve`: a wrong
// password is refused with a clear message; a viewer signs in (an HttpOnly session cookie the page's
// script cannot read), reads services, is offered no actions on them, and is refused what the viewer
// role does not grant, with the API's reason on the page; writes from the page need the CSRF value
// and are refused by role even with it; signing out ends the session on the server, so its cookie
// stops working at once. A user
// with a TOTP second factor is asked for the code after the password and signs in with it; the audit
// page, filtered by that person and the verb login, lists the sign-ins and the refused code.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { packageRoot } from '../../core/package-root.js';
import { serveApi, startServeProcess, type ServeApi, type ServeProcess } from '../support/serve-process.js';

const CHROMIUM = '/usr/bin/chromium';
const PROJECT = 'signin-shop';
const USER = 'vera';
const PASSWORD = 'quartz-meadow-lantern-81';

describe('dashboard sign-in with a password', { timeout: 600_000 }, () => {
  let serve: ServeProcess;
  let api: ServeApi;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (scripts/setup.sh test)`);
    execFileSync('npm', ['run', '--silent', 'build:dashboard'], { cwd: packageRoot(), stdio: 'pipe', timeout: 120_000 });
    serve = await startServeProcess();
    api = serveApi(serve);
    await api.create('/projects', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: PROJECT }, spec: { environments: [{ name: 'production' }] } });
    await api.create(`/namespaces/${PROJECT}/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'web', namespace: PROJECT },
      spec: { environment: 'production', server: 'nowhere', source: { image: 'holdfast-test/busybox:1' }, replicas: 1 },
    });
    await api.create('/users', { name: USER, password: PASSWORD });
    await api.create('/clusterrolebindings', {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'vera-viewer' },
      spec: { roleRef: { kind: 'Role', name: 'viewer' }, subjects: [{ kind: 'User', name: USER }] },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 60_000,
    });
    context = await browser.newContext();
    page = await context.newPage();
    page.setDefaultTimeout(15_000);
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await serve?.stop();
  });

  it('refuses a wrong password with a clear message', async () => {
    await page.goto(serve.url + '/');
    await page.getByLabel('User name').fill(USER);
    await page.getByLabel('Password', { exact: true }).fill('not-the-password-at-all');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong user name or password.' }).waitFor();
    assert.deepEqual(await context.cookies(), [], 'no cookie after a refused sign-in');
  });

  it('signs a viewer in with an HttpOnly session cookie the page cannot read', async () => {
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-ready="true"]').waitFor();
    const session = (await context.cookies()).find((c) => c.name === 'holdfast_session');
    assert.ok(session, 'the session cookie is set');
    assert.equal(session.httpOnly, true);
    assert.equal(session.sameSite, 'Strict');
    const visible = await page.evaluate(() => document.cookie);
    assert.doesNotMatch(visible, /holdfast_session/);
    assert.match(visible, /holdfast_csrf=/);
    assert.equal(await page.evaluate(() => sessionStorage.length), 0, 'no token is kept in the tab');
  });

  it('shows what the viewer may read and the API\'s reason for what it may not', async () => {
    await page.goto(`${serve.url}/#/services/${PROJECT}/web`);
    await page.getByRole('heading', { level: 1 }).filter({ hasText: 'web' }).waitFor();
    await page
      .getByTestId('container-logs')
      .getByRole('status')
      .filter({ hasText: `forbidden: user:${USER} cannot GET` })
      .filter({ hasText: `no role bound to user:${USER} allows logs services/web in project "${PROJECT}"` })
      .waitFor();
    // The page asked the API's access review: a viewer is offered no action (the API's 403 for them is below).
    await page.getByTestId('actions-refused').waitFor();
    for (const name of [/^Sync$/, /^Roll back/, /^Turn healing/]) assert.equal(await page.getByRole('button', { name }).count(), 0, `no ${name} button`);
  });

  it('refuses writes from the page: without the CSRF value, and by role with it', async () => {
    // No named functions inside: the page does not have the helpers tsx would wrap them with.
    const [withoutCsrf, withCsrf] = await page.evaluate(async (project) => {
      const csrf = document.cookie.split('; ').find((c) => c.startsWith('holdfast_csrf='))!.split('=')[1];
      const answers: Array<{ status: number; message: string }> = [];
      for (const headers of [{}, { 'x-csrf-token': csrf }] as Array<Record<string, string>>) {
        const res = await fetch(`/apis/holdfast.dev/v1alpha1/namespaces/${project}/services/web/sync`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: '{}' });
        answers.push({ status: res.status, message: ((await res.json()) as { message: string }).message });
      }
      return answers;
    }, PROJECT);
    assert.equal(withoutCsrf.status, 403);
    assert.match(withoutCsrf.message, /X-CSRF-Token/);
    assert.equal(withCsrf.status, 403);
    assert.match(withCsrf.message, new RegExp(`no role bound to user:${USER} allows deploy services/web in project "${PROJECT}"`));
  });

  it('signs out: the server ends the session, so its cookie stops working on the next request', async () => {
    const session = (await context.cookies()).find((c) => c.name === 'holdfast_session')!;
    const whoami = () => fetch(`${serve.url}/auth/whoami`, { headers: { cookie: `holdfast_session=${session.value}` } });
    assert.equal((await whoami()).status, 200);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await page.getByLabel('User name').waitFor();
    assert.equal((await whoami()).status, 401);
    assert.equal((await context.cookies()).some((c) => c.name === 'holdfast_session' && c.value), false, 'the browser dropped the cookie');
  });

  it('asks a user with a second factor for the one-time code, refuses a wrong one, and signs in with the right one', async () => {
    await api.create('/users', { name: 'tomas', password: PASSWORD });
    const { secret } = (await api.create('/users/tomas/totp', {})).body as { secret: string };
    await api.create('/clusterrolebindings', {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'ClusterRoleBinding',
      metadata: { name: 'tomas-viewer' },
      spec: { roleRef: { kind: 'Role', name: 'viewer' }, subjects: [{ kind: 'User', name: 'tomas' }] },
    });
    await page.goto(serve.url + '/');
    await page.getByLabel('User name').fill('tomas');
    await page.getByLabel('Password', { exact: true }).fill(PASSWORD);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Enter the one-time code from your authenticator app.' }).waitFor();
    const code = await generate({ secret });
    await page.getByLabel('One-time code').fill(code === '000000' ? '111111' : '000000');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'Wrong or already used one-time code' }).waitFor();
    assert.deepEqual(await context.cookies(), [], 'no session before the right code');
    // A fresh code: the one above may belong to a step that has passed while the page worked.
    await page.getByLabel('One-time code').fill(await generate({ secret }));
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-ready="true"]').waitFor();
    assert.ok((await context.cookies()).some((c) => c.name === 'holdfast_session' && c.value));
    const whoami = await page.evaluate(async () => ((await (await fetch('/auth/whoami')).json()) as { status: { userInfo: { username: string } } }).status.userInfo.username);
    assert.equal(whoami, 'user:tomas');
  });

  it('filters the audit page by person and verb: the sign-ins of one user, refused and accepted', async () => {
    const admin = await browser.newContext();
    const auditor = await admin.newPage();
    auditor.setDefaultTimeout(15_000);
    await auditor.goto(serve.url + '/');
    await auditor.getByRole('button', { name: 'Use an API token instead' }).click();
    await auditor.getByLabel('API token').fill(serve.token);
    await auditor.getByRole('button', { name: 'Sign in' }).click();
    await auditor.locator('[data-ready="true"]').waitFor();
    await auditor.goto(`${serve.url}/#/events?tab=audit`);
    await auditor.getByLabel('Person').fill('user:tomas');
    await auditor.getByLabel('Verb').selectOption('login');
    const rows = auditor.locator('tr[data-audit]');
    await rows.filter({ hasText: 'wrong or already used one-time code' }).first().waitFor();
    await rows.filter({ hasText: 'Success' }).first().waitFor();
    const actors = await rows.locator('td[data-label="Actor"]').allTextContents();
    const verbs = await rows.locator('td[data-label="Verb"]').allTextContents();
    assert.ok(actors.length >= 3, `the refused and accepted sign-ins: ${actors.length} rows`);
    assert.deepEqual([...new Set(actors)], ['user:tomas'], 'only that person');
    assert.deepEqual([...new Set(verbs)], ['login'], 'only sign-ins');
    await admin.close();
  });
});
