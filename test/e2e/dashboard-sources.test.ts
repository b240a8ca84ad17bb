// The dashboard's Git sources page in Debian's Chromium against the built `holdfast serve`: a
// GitRepository following a local bare repository shows its revision, its conditions with their
// reasons, its inventory and its last sync; Suspend (confirmed) writes spec.suspend; a token that
// may only read sources is offered no button.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { packageRoot } from '../../core/package-root.js';
import { launchBrowser, signInWithToken, type Browser } from '../support/browser.js';
import { createGitRemote, type GitRemote } from '../support/git-remote.js';
import { serveApi, startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { until } from '../support/until.js';

const NS = 'sources-page';

describe('dashboard: Git sources', { timeout: 600_000 }, () => {
  let serve: ServeProcess;
  let remote: GitRemote;
  let browser: Browser;
  let page: Page;
  let commit: string;
  let readerToken: string;

  const call = (method: string, path: string, body?: unknown) => serveApi(serve).call(method, path, body);

  const signIn = (token: string) => signInWithToken(page, serve.url, token);

  before(async () => {
    execFileSync('npm', ['run', '--silent', 'build:dashboard'], { cwd: packageRoot(), stdio: 'pipe', timeout: 120_000 });
    remote = createGitRemote('site');
    commit = remote.push({ 'db.yaml': 'apiVersion: holdfast.dev/v1alpha1\nkind: Secret\nmetadata: { name: db }\nspec: { stringData: { password: not-shown } }\n' }, 'add the db secret');
    serve = await startServeProcess();
    const project = await call('POST', `/projects`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: NS }, spec: { environments: [{ name: 'production' }] } });
    assert.equal(project.status, 201, JSON.stringify(project.body));
    const source = await call('POST', `/namespaces/${NS}/gitrepositories`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'GitRepository', metadata: { name: 'site' }, spec: { url: remote.bare, interval: '1h' } });
    assert.equal(source.status, 201, JSON.stringify(source.body));
    await until('the source applied', async () => ((await call('GET', `/namespaces/${NS}/gitrepositories/site`)).body.status?.lastAppliedRevision ? true : undefined));
    const reader = await call('POST', `/tokens`, { name: 'source-reader', scopes: ['source:read', 'project:read', 'service:read', 'deploy:read', 'server:read', 'event:read'] });
    assert.equal(reader.status, 201, JSON.stringify(reader.body));
    readerToken = reader.body.token;

    browser = await launchBrowser();
    page = browser.page;
  });

  after(async () => {
    await browser?.close();
    await serve?.stop();
    remote?.remove();
  });

  it('shows the revision, conditions with reasons, inventory and last sync, and suspends on confirmation', async () => {
    await signIn(serve.token);
    await page.getByRole('link', { name: 'Git sources' }).click();
    const card = page.locator(`[data-source="${NS}/site"]`);
    await card.waitFor();
    assert.equal(await card.locator('[data-field="revision"]').innerText(), `main@sha1:${commit}`);
    const ready = card.getByRole('row', { name: /^Ready/ });
    assert.match(await ready.innerText(), /Ready\s+True\s+Succeeded\s+applied revision main@sha1:/);
    assert.equal(await card.locator('[data-field="inventory"]').innerText(), `secret/${NS}/db`);
    assert.match(await card.locator('[data-field="history"] tbody tr').first().innerText(), /^\S.*\s+(change|interval|watch)\s+main@sha1:\w+\s+Applied\s+1 created, 0 configured, 0 pruned, 0 unchanged/);
    assert.doesNotMatch(await page.locator('body').innerText(), /not-shown/);

    await card.getByRole('button', { name: 'Suspend' }).click();
    await page.getByRole('dialog').getByRole('button', { name: 'Suspend' }).click();
    await until('spec.suspend written', async () => ((await call('GET', `/namespaces/${NS}/gitrepositories/site`)).body.spec?.suspend === true ? true : undefined));
    await card.getByRole('button', { name: 'Resume' }).waitFor();
    assert.equal(await card.locator('[data-field="suspended"]').innerText(), 'suspended');
    assert.deepEqual(browser.consoleProblems, []);
  });

  it('offers no suspend or resume to a token that may only read sources', async () => {
    await page.getByRole('button', { name: 'Sign out' }).click();
    await signIn(readerToken);
    // The page asks whether the token may write the source; no button once the answer is in.
    const review = page.waitForResponse((r) => r.url().endsWith('/selfsubjectaccessreviews') && (r.request().postData() ?? '').includes('"gitrepositories"'));
    await page.evaluate(() => (window.location.hash = '#/sources'));
    assert.equal(((await (await review).json()) as { status: { allowed: boolean } }).status.allowed, false);
    const card = page.locator(`[data-source="${NS}/site"]`);
    await card.locator('[data-field="revision"]').waitFor();
    assert.equal(await card.getByRole('button').count(), 0);
    assert.equal(await card.locator('[data-field="suspended"]').innerText(), 'suspended');
  });
});
