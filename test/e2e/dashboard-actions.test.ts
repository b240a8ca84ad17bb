// The dashboard's actions and its backups, secrets and tokens pages, in Debian's Chromium against the
// built `holdfast serve` on test host 1: each action is confirmed in a dialog that says what will
// happen and followed to its result (sync and rollout undo to their deployment's end, cancel, healing
// on and off, a backup taken and restored, a server cleanup from its preview); a token without the
// scopes is offered none of them and the API refuses them (403); every page passes axe-core with no
// serious or critical violation. Saves screenshots of the new pages into docs/screenshots/.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, rmSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { packageRoot } from '../../core/package-root.js';
import type { Deployment } from '../../dashboard/src/api/types.js';
import { launchBrowser, seriousA11yViolations, signInWithToken, type Browser } from '../support/browser.js';
import { createFleet } from '../support/fleet.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../support/testhosts.js';
import { until } from '../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PROJECT = 'dash-actions';
const SERVER = 'edge';
const APP = 'app';
const STUCK = 'stuck';
const POLICY = 'app-data';
const SECRET_VALUE = 'pa55-w0rd-never-shown';
const APP_CONTAINER = `hf_${PROJECT}_production_${APP}_1`;
const UNUSED_NETWORK = `hf_${PROJECT}_unused`;
const DEST = `/tmp/holdfast-dash-actions-${process.pid}`;
const SCREENSHOTS = join(packageRoot(), 'docs', 'screenshots');
const TERMINAL = new Set(['completed', 'failed', 'canceled']);

const service = (name: string, extra: Record<string, unknown>) => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name, namespace: PROJECT },
  spec: { environment: 'production', server: SERVER, source: { image: 'holdfast-test/busybox:1' }, command: ['sh', '-c', 'exec sleep 100000'], ...extra },
});

describe('dashboard actions, and the backups, secrets and tokens pages', { timeout: 600_000 }, () => {
  let serve: ServeProcess;
  let host: TestHost;
  let browser: Browser;
  let page: Page;
  let readerToken: string;

  const call = async (method: string, path: string, body?: unknown, token = serve.token) => {
    const res = await fetch(serve.url + path, {
      method,
      headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const deployments = async (name: string) => (await call('GET', `${G}/namespaces/${PROJECT}/services/${name}/deployments`)).body.items as Deployment[];
  /** Waits until no deployment of the Service runs, so an action is not refused as a conflict. */
  const settled = (name: string) => until(`${name}'s deployments to end`, async () => ((await deployments(name)).every((d) => TERMINAL.has(d.phase)) ? true : undefined), 60_000);
  const go = (p: Page, hash: string) => p.evaluate((h) => (window.location.hash = h), hash);
  const dialog = (p: Page) => p.locator('dialog[open]');

  async function expectAccessible(p: Page, what: string) {
    assert.deepEqual(await seriousA11yViolations(p), [], `axe on ${what}`);
  }

  before(async () => {
    execFileSync('npm', ['run', '--silent', 'build:dashboard'], { cwd: packageRoot(), stdio: 'pipe', timeout: 120_000 });
    host = testHost(await loadTestHosts({ count: 2 }), 1);
    serve = await startServeProcess({ env: { SERVER_READINESS_POLL_INTERVAL_MS: '3000' } });
    await createFleet({ call }, host, { project: PROJECT, server: SERVER });
    const created = await Promise.all([
      call('POST', `${G}/namespaces/${PROJECT}/secrets`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'db', namespace: PROJECT }, spec: { stringData: { password: SECRET_VALUE } } }),
      call('POST', `${G}/namespaces/${PROJECT}/backuppolicies`, {
        apiVersion: 'holdfast.dev/v1alpha1',
        kind: 'BackupPolicy',
        metadata: { name: POLICY, namespace: PROJECT },
        spec: { service: APP, target: { volume: 'data' }, schedule: '@yearly', destination: { path: DEST } },
      }),
    ]);
    for (const res of created) assert.equal(res.status, 201, JSON.stringify(res.body));
    const services = await Promise.all([
      call('POST', `${G}/namespaces/${PROJECT}/services`, service(APP, {
        env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }],
        volumes: [{ name: 'data', mountPath: '/data' }],
        update: { order: 'stop-first', healthDeadlineSeconds: 30 },
      })),
      // Its probe never passes: its deployment waits in the health step until it is canceled.
      call('POST', `${G}/namespaces/${PROJECT}/services`, service(STUCK, {
        healthcheck: { http: { path: '/', port: 9999 }, intervalSeconds: 2, timeoutSeconds: 1, failureThreshold: 3 },
        update: { healthDeadlineSeconds: 300, autoRollback: false },
      })),
    ]);
    for (const res of services) assert.equal(res.status, 201, JSON.stringify(res.body));
    const reader = await call('POST', `${G}/tokens`, { name: 'reader', scopes: ['project:read', 'service:read', 'deploy:read', 'server:read', 'event:read', 'logs:read', 'backup:read', 'secret:read'] });
    assert.equal(reader.status, 201, JSON.stringify(reader.body));
    readerToken = reader.body.token;
    await hostDocker(host, 'network', 'create', '--label', 'holdfast.dev/managed-by=holdfast', '--label', `holdfast.dev/project=${PROJECT}`, UNUSED_NETWORK);
    const first = await until('the first deployment of app', async () => (await deployments(APP)).find((d) => TERMINAL.has(d.phase)), 90_000);
    assert.equal(first.phase, 'completed', first.message);
    browser = await launchBrowser();
    page = browser.page;
    await signInWithToken(page, serve.url, serve.token);
    mkdirSync(SCREENSHOTS, { recursive: true });
  });

  after(async () => {
    await browser?.close();
    await serve?.stop();
    if (host) {
      const ids = (await hostDocker(host, 'ps', '-aq', '--filter', `label=holdfast.dev/project=${PROJECT}`).catch(() => '')).split('\n').filter(Boolean);
      if (ids.length) await hostDocker(host, 'rm', '-f', ...ids).catch(() => undefined);
      const volumes = (await hostDocker(host, 'volume', 'ls', '-q', '--filter', `name=hf_${PROJECT}_`).catch(() => '')).split('\n').filter(Boolean);
      if (volumes.length) await hostDocker(host, 'volume', 'rm', '-f', ...volumes).catch(() => undefined);
      await hostDocker(host, 'network', 'rm', UNUSED_NETWORK).catch(() => undefined);
    }
    rmSync(DEST, { recursive: true, force: true });
  });

  it('turns healing on and off, each confirmed, and the page shows the drift policy', async () => {
    await go(page, `#/services/${PROJECT}/${APP}`);
    const policyFact = page.locator('.facts__item', { hasText: 'Drift policy' }).locator('dd');
    for (const [button, confirm, mode] of [['Turn healing on', 'Heal drift', 'heal'], ['Turn healing off', 'Only report drift', 'report']] as const) {
      await page.getByRole('button', { name: button }).click();
      assert.match(await dialog(page).innerText(), /drift policy/);
      await dialog(page).getByRole('button', { name: confirm }).click();
      await until(`the drift policy ${mode} on the page`, async () => ((await policyFact.innerText()) === mode ? true : undefined));
      assert.equal((await call('GET', `${G}/namespaces/${PROJECT}/services/${APP}`)).body.spec.driftPolicy.mode, mode);
    }
  });

  it('syncs: the dialog says what will happen, and the queued deployment is followed to its end', async () => {
    await settled(APP);
    await page.getByRole('button', { name: 'Sync', exact: true }).click();
    assert.match(await dialog(page).innerText(), /Queues a deployment of the declared spec \(generation \d+\) to server edge/);
    await expectAccessible(page, 'the sync dialog');
    await dialog(page).getByRole('button', { name: 'Sync now' }).click();
    const result = page.getByTestId('action-result');
    await result.and(page.locator('[data-phase="completed"]')).waitFor({ timeout: 90_000 });
    const id = await result.getAttribute('data-deployment');
    const record = (await call('GET', `${G}/deployments/${id}`)).body as Deployment;
    assert.equal(record.phase, 'completed');
    assert.equal(record.service, APP);
  });

  it('rolls back to a chosen revision, showing its frozen input, and follows the rollback', async () => {
    await settled(APP);
    const oldest = (await deployments(APP)).filter((d) => d.phase === 'completed').sort((a, b) => a.revision! - b.revision!)[0];
    await page.getByRole('button', { name: 'Roll back…' }).click();
    await dialog(page).getByRole('combobox').selectOption(String(oldest.revision));
    const frozen = dialog(page).getByTestId('undo-frozen');
    await until('the frozen input of the chosen revision', async () => ((await frozen.count()) && /holdfast-test\/busybox:1/.test(await frozen.innerText()) ? true : undefined));
    const shown = await frozen.innerText();
    assert.match(shown, /secretHash/, 'the secret is there as its hash');
    assert.ok(!shown.includes(SECRET_VALUE), 'never its value');
    await dialog(page).getByRole('button', { name: `Roll back to revision ${oldest.revision}` }).click();
    const result = page.getByTestId('action-result').filter({ hasText: /^Rollout undo: deployment d-/ });
    await result.and(page.locator('[data-phase="completed"]')).waitFor({ timeout: 90_000 });
    const record = (await call('GET', `${G}/deployments/${await result.getAttribute('data-deployment')}`)).body as Deployment;
    assert.equal(record.rollbackOf, oldest.revision);
  });

  it('cancels a running deployment, which ends canceled', async () => {
    const running = await until('the stuck deployment in its health step', async () => (await deployments(STUCK)).find((d) => d.phase === 'deploy' || d.phase === 'prepare'), 60_000);
    await go(page, `#/services/${PROJECT}/${STUCK}`);
    await page.locator(`[data-deployment="${running.id}"]`).getByRole('button', { name: 'Cancel deployment' }).click();
    assert.match(await dialog(page).innerText(), /stops at its next step boundary and ends canceled/);
    await dialog(page).getByRole('button', { name: 'Cancel the deployment' }).click();
    await page.locator(`li[data-deployment="${running.id}"][data-phase="canceled"]`).waitFor({ timeout: 60_000 });
    assert.equal(((await call('GET', `${G}/deployments/${running.id}`)).body as Deployment).phase, 'canceled');
  });

  it('takes a backup now and restores it after typing the volume name', async () => {
    await settled(APP);
    await hostDocker(host, 'exec', APP_CONTAINER, 'sh', '-c', 'echo before > /data/marker');
    await go(page, '#/backups');
    const card = page.locator(`[data-policy="${PROJECT}/${POLICY}"]`);
    await card.getByRole('button', { name: 'Back up now' }).click();
    assert.match(await dialog(page).innerText(), /Takes a backup of the volume data of service app now/);
    await dialog(page).getByRole('button', { name: 'Back up now' }).click();
    await card.getByTestId('backup-result').waitFor({ timeout: 90_000 });
    assert.match(await card.getByTestId('backup-result').innerText(), /^Backed up \S+ \([\d.]+ \w+, sha256 …[0-9a-f]{8}\) at \S+ on server edge/);
    const kept = (await call('GET', `${G}/namespaces/${PROJECT}/backuppolicies/${POLICY}`)).body.status.backups as Array<{ name: string; sha256: string }>;
    assert.equal(kept.length, 1);
    const row = card.locator(`tr[data-backup="${kept[0].name}"]`);
    await row.waitFor();
    assert.match(await row.innerText(), new RegExp(kept[0].sha256.slice(0, 12)));
    // The run, as a record with its steps: what each did, how big, and its outcome.
    const run = card.locator(`li[data-run][data-result="Succeeded"]`).first();
    await run.waitFor({ timeout: 30_000 });
    assert.match(await run.locator('summary').innerText(), new RegExp(`${kept[0].name}[\\s\\S]*Succeeded[\\s\\S]*by `));
    const steps = await run.locator('li[data-step]').evaluateAll((items) => items.map((li) => `${li.getAttribute('data-step')}=${li.getAttribute('data-result')}`));
    assert.deepEqual(steps, ['prepare=Succeeded', 'archive=Succeeded', 'upload default=Succeeded', 'verify default=Succeeded', 'prune default=Succeeded']);
    assert.match(await run.locator('li[data-step="verify default"]').innerText(), /the archive lists cleanly/);
    await screenshot(page, 'backups');
    await expectAccessible(page, 'the backups page');

    await hostDocker(host, 'exec', APP_CONTAINER, 'sh', '-c', 'echo after > /data/marker');
    await row.getByRole('button', { name: 'Restore…' }).click();
    const restore = dialog(page).getByRole('button', { name: 'Restore', exact: true });
    assert.equal(await restore.isDisabled(), true, 'not before the volume name is typed');
    await dialog(page).getByLabel(/to confirm/).fill('dat');
    assert.equal(await restore.isDisabled(), true, 'nor with another name');
    await dialog(page).getByLabel(/to confirm/).fill('data');
    await restore.click();
    await until('the restore result', async () => (/^Restored /.test(await card.getByTestId('backup-result').innerText()) ? true : undefined), 90_000);
    const marker = await until('the restored file', async () => {
      const text = await hostDocker(host, 'exec', APP_CONTAINER, 'cat', '/data/marker').catch(() => '');
      return text.trim() === 'before' ? text : undefined;
    });
    assert.equal(marker.trim(), 'before');
  });

  it("cleans up the server after showing what the preview removes", async () => {
    await go(page, `#/servers/${SERVER}`);
    await page.getByRole('button', { name: 'Clean up…' }).click();
    const preview = dialog(page).getByTestId('cleanup-preview');
    await preview.waitFor();
    assert.match(await preview.innerText(), new RegExp(`network\\s+${UNUSED_NETWORK}`));
    await expectAccessible(page, 'the cleanup dialog');
    await dialog(page).getByRole('button', { name: /^Remove \d+ objects?$/ }).click();
    await page.getByTestId('cleanup-result').waitFor({ timeout: 60_000 });
    assert.match(await page.getByTestId('cleanup-result').innerText(), /^Removed \d+ objects?, freed /);
    await assert.rejects(hostDocker(host, 'network', 'inspect', UNUSED_NETWORK), 'the network is gone');
  });

  it('lists secrets with their keys and who changed them, never a value', async () => {
    await go(page, '#/secrets');
    const row = page.locator(`tr[data-secret="${PROJECT}/db"]`);
    await row.waitFor();
    assert.equal(await row.locator('[data-field="keys"]').innerText(), 'password');
    await until('who created the secret', async () => (/create by token:admin/.test(await row.locator('[data-field="changes"]').innerText()) ? true : undefined));
    assert.ok(!(await page.content()).includes(SECRET_VALUE));
    await screenshot(page, 'secrets');
    await expectAccessible(page, 'the secrets page');
  });

  it('creates a token with scopes and an expiry, shows it once, and revokes it', async () => {
    await go(page, '#/tokens');
    await page.getByLabel('Name').fill('ci-bot');
    await page.getByLabel('Expires after').selectOption('7d');
    await page.getByRole('checkbox', { name: 'deploy:read' }).check();
    await page.getByRole('button', { name: 'Create token' }).click();
    const shown = page.getByTestId('created-token').getByLabel('Token');
    await shown.waitFor();
    const token = await shown.inputValue();
    assert.match(token, /^hft_/);
    const listed = ((await call('GET', `${G}/tokens`)).body.items as Array<{ name: string; scopes: string[]; expiresAt?: string }>).find((t) => t.name === 'ci-bot');
    assert.deepEqual(listed?.scopes, ['deploy:read']);
    const days = (Date.parse(listed!.expiresAt!) - Date.now()) / 86_400_000;
    assert.ok(days > 6.9 && days <= 7, `expires in 7 days, not ${days}`);
    assert.equal((await call('GET', `${G}/namespaces/${PROJECT}/services/${APP}/deployments`, undefined, token)).status, 200);
    await expectAccessible(page, 'the tokens page');
    await page.getByRole('button', { name: 'Done' }).click();
    assert.ok(!(await page.content()).includes(token), 'the value is gone once dismissed');
    await screenshot(page, 'tokens');

    const row = page.locator('tr[data-token="ci-bot"]');
    await row.getByRole('button', { name: 'Revoke…' }).click();
    await dialog(page).getByRole('button', { name: 'Revoke' }).click();
    await until('the token shown revoked', async () => (/^revoked/.test(await row.locator('[data-field="state"]').innerText()) ? true : undefined));
    assert.equal((await call('GET', `${G}/namespaces/${PROJECT}/services/${APP}/deployments`, undefined, token)).status, 401);
  });

  it('offers no action to a token without the scopes, and the API refuses each (403)', async () => {
    await page.goto('about:blank');
    const other = await browser.newPage();
    try {
      await signInWithToken(other, serve.url, readerToken);
      for (const hash of [`#/services/${PROJECT}/${APP}`, '#/backups', `#/servers/${SERVER}`]) {
        await go(other, hash);
        await other.getByTestId('actions-refused').first().waitFor();
        for (const name of [/^Sync$/, /^Roll back/, /^Turn healing/, /^Back up now$/, /^Restore/, /^Clean up/, /^Cancel deployment$/]) {
          assert.equal(await other.getByRole('button', { name }).count(), 0, `no ${name} button on ${hash}`);
        }
      }
      await go(other, `#/services/${PROJECT}/${STUCK}`);
      await other.getByTestId('actions-refused').waitFor();
      assert.equal(await other.getByRole('button', { name: 'Cancel deployment' }).count(), 0);
    } finally {
      await other.close();
    }
    const stuck = (await deployments(STUCK))[0];
    const refused: Array<[string, string, unknown]> = [
      ['POST', `${G}/namespaces/${PROJECT}/services/${APP}/sync`, {}],
      ['POST', `${G}/namespaces/${PROJECT}/services/${APP}/rollback`, {}],
      ['POST', `${G}/deployments/${stuck.id}/cancel`, {}],
      ['POST', `${G}/namespaces/${PROJECT}/backuppolicies/${POLICY}/run`, {}],
      ['POST', `${G}/namespaces/${PROJECT}/backuppolicies/${POLICY}/restore`, { backup: 'x.tar' }],
      ['POST', `${G}/servers/${SERVER}/cleanup`, { items: [] }],
      ['POST', `${G}/tokens`, { name: 'escalate', scopes: ['deploy:read'] }],
    ];
    for (const [method, path, body] of refused) {
      const res = await call(method, path, body, readerToken);
      assert.equal(res.status, 403, `${method} ${path}: ${JSON.stringify(res.body)}`);
      assert.equal(res.body.kind, 'Status');
    }
  });

  it('passes axe-core on every page, with no serious or critical violation', async () => {
    await page.goto(serve.url + '/');
    await page.locator('[data-ready="true"]').waitFor();
    await expectAccessible(page, 'the overview');
    for (const hash of ['#/services', `#/services/${PROJECT}/${APP}`, '#/servers', `#/servers/${SERVER}`, '#/events', '#/events?tab=audit', '#/backups', '#/secrets', '#/tokens']) {
      await go(page, hash);
      await page.locator('main h1').first().waitFor();
      await page.locator('.state--loading').first().waitFor({ state: 'detached' });
      await expectAccessible(page, hash);
    }
  });

  it('logged no errors in the browser console', () => {
    assert.deepEqual(browser.consoleProblems, []);
  });
});

async function screenshot(page: Page, name: string) {
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}
