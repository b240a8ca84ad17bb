// The dashboard in Debian's Chromium (driven by playwright-core, no browser download) against the
// built `holdfast serve` as a child process, whose controllers manage real test hosts: sign in; the
// overview counts what the API holds; service filters; declared | frozen | live; a rollout followed
// as it happens; a change made on a host shown as drift, field by field; live updates through the
// watch stream; reconnecting after a restart; keyboard and 375 px use; no console errors; the first
// paint of the overview with 200 services. Saves screenshots of the main pages into
// docs/screenshots/ for the README.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { packageRoot } from '../../core/package-root.js';
import type { Deployment, Server, Service, ServiceViews } from '../../dashboard/src/api/types.js';
import { SERVER_STATES, serverState, serviceState } from '../../dashboard/src/model/status.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { hostDocker, loadTestHosts, readPrivateKey, testHost, type TestHost, type TestHosts } from '../support/testhosts.js';

const CHROMIUM = '/usr/bin/chromium';
const API = '/apis/holdfast.dev/v1alpha1';
const SCREENSHOTS = join(packageRoot(), 'docs', 'screenshots');
const WIDE = { width: 1280, height: 860 };
const NARROW = { width: 375, height: 760 };
const FIRST_PAINT_BUDGET_MS = 1000;
const LOAD_SERVICES = 200;

// Endpoints that a control plane may not serve; the dashboard then shows a designed "not
// available" state, and the browser logs their 404 as a failed resource load.
const OPTIONAL_ENDPOINTS = /\/services\/[^/]+\/(views|deployments|drift\/history)(\?|$)|\/auditlog(\?|$)/;

let hosts: TestHosts;
let serve: ServeProcess;
/** The control plane started again on the same port and data directory (reconnect test). */
let restarted: ChildProcess | undefined;
let context: BrowserContext;
let page: Page;
let userDataDir: string;
const consoleProblems: string[] = [];
const optionalNotFound = new Set<string>();

// ---- seeding through the API ---------------------------------------------------------------

async function api(method: string, path: string, body?: unknown, contentType = 'application/json'): Promise<any> {
  const send = () =>
    fetch(serve.url + API + path, {
      method,
      headers: { Authorization: `Bearer ${serve.token}`, ...(body ? { 'Content-Type': contentType } : {}) },
      body: body ? JSON.stringify(body) : undefined,
      signal: AbortSignal.timeout(15_000),
    });
  let res: Response;
  let retried = false;
  try {
    res = await send();
  } catch (err) {
    // A kept-alive connection the server closed as it was reused: send once more. A create that
    // did land the first time then answers AlreadyExists, which is what was wanted.
    if (!(err instanceof TypeError)) throw err;
    await new Promise((ok) => setTimeout(ok, 200));
    res = await send();
    retried = true;
  }
  const text = await res.text();
  if (retried && method === 'POST' && res.status === 409 && /AlreadyExists/.test(text)) return undefined;
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();

// Project names of this test only: test hosts are shared, and container names derive from them.
const SHOP = 'acme';
const OPS = 'acme-ops';
const BLOG = 'acme-blog';
const PROJECTS = [SHOP, OPS, BLOG];
const SECRET_VALUE = 'dashboard-e2e-secret-7Qm2';
/** Pins a host key no test host has: that server is blocked before it authenticates. */
const WRONG_HOST_KEY = `SHA256:${'A'.repeat(43)}`;

const httpd = ['httpd', '-f', '-p', '8080', '-h', '/www'];
const healthy = { http: { path: '/', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 2, failureThreshold: 3 };

function serviceManifest(namespace: string, name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { replicas: 1, ...spec },
  };
}

function storefrontSpec(greeting: string) {
  return {
    environment: 'production',
    server: 'edge-1',
    source: { image: 'holdfast-test/busybox:1' },
    command: httpd,
    env: [
      { name: 'GREETING', value: greeting },
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
    ],
    healthcheck: healthy,
    update: { order: 'stop-first', healthDeadlineSeconds: 30, autoRollback: true },
  };
}

async function event(namespace: string, name: string, involved: Record<string, string>, type: 'Normal' | 'Warning', reason: string, message: string) {
  await api('POST', `/namespaces/${namespace}/events`, {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Event',
    metadata: { name },
    involvedObject: { apiVersion: 'holdfast.dev/v1alpha1', ...involved },
    reason,
    message,
    type,
    count: 1,
    firstTimestamp: ago(0),
    lastTimestamp: ago(0),
    source: { component: 'dashboard-e2e' },
  });
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 90_000): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await new Promise((ok) => setTimeout(ok, 300));
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

const getService = (ns: string, name: string) => api('GET', `/namespaces/${ns}/services/${name}`) as Promise<Service>;
const deploymentsOf = async (ns: string, name: string) => (await api('GET', `/namespaces/${ns}/services/${name}/deployments`)).items as Deployment[];

/** Waits for a deployment of that revision to end, and returns it. */
const deploymentEnded = (ns: string, name: string, revision: number, ms = 120_000) =>
  until(`${ns}/${name} revision ${revision} to end`, async () => {
    const d = (await deploymentsOf(ns, name)).find((x) => x.revision === revision);
    return d && ['completed', 'failed', 'canceled'].includes(d.phase) ? d : undefined;
  }, ms);

/**
 * A small estate on the real test hosts: three servers (one blocked by a host key that does not
 * match) and services the controllers deploy for real, some of which cannot succeed.
 */
async function seed() {
  for (const [name, envs, description] of [
    [SHOP, ['staging', 'production'], 'The online shop'],
    [OPS, ['production'], 'Monitoring and backups'],
    [BLOG, ['staging', 'production'], 'Company blog'],
  ] as const) {
    await api('POST', '/projects', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name }, spec: { description, environments: envs.map((e) => ({ name: e })) } });
  }
  await api('POST', `/namespaces/${SHOP}/secrets`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'db', namespace: SHOP }, spec: { stringData: { password: SECRET_VALUE } } });
  const h1 = testHost(hosts, 1);
  const h2 = testHost(hosts, 2);
  await api('POST', '/sshkeys', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'SSHKey', metadata: { name: 'deploy-key' }, spec: { privateKey: readPrivateKey(h2) } });
  const server = (name: string, kind: string, host: TestHost, hostKeyFingerprint: string) =>
    api('POST', '/servers', {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Server',
      metadata: { name },
      spec: { kind, host: host.address, port: host.port, user: host.user, sshKeyRef: { name: 'deploy-key' }, hostKeyFingerprint },
    });
  await server('edge-1', 'docker-engine', h2, h2.hostKeyFingerprint);
  await server('swarm-1', 'docker-swarm-manager', h1, h1.hostKeyFingerprint);
  // The address of a real host, a pinned key that is not its own.
  await server('db-1', 'docker-engine', h1, WRONG_HOST_KEY);

  const services: Array<[string, string, Record<string, unknown>]> = [
    [SHOP, 'storefront', storefrontSpec('hello')],
    // Never answers its healthcheck: its first rollout fails.
    [SHOP, 'checkout', { environment: 'staging', server: 'edge-1', source: { image: 'holdfast-test/busybox:1' }, command: httpd, healthcheck: { http: { path: '/', port: 9999 }, intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 2 }, update: { order: 'stop-first', healthDeadlineSeconds: 5, autoRollback: true } }],
    [SHOP, 'worker', { environment: 'production', server: 'edge-1', source: { image: 'holdfast-test/busybox:1' }, command: ['sleep', '86400'] }],
    // Its server is blocked.
    [OPS, 'metrics', { environment: 'production', server: 'db-1', source: { image: 'holdfast-test/busybox:1' }, command: httpd }],
    [BLOG, 'api', { environment: 'staging', server: 'edge-1', source: { image: 'holdfast-test/busybox:1' }, command: httpd, healthcheck: healthy }],
  ];
  for (const [ns, name, spec] of services) await api('POST', `/namespaces/${ns}/services`, serviceManifest(ns, name, spec));

  // The controllers at work: every server checked, the first rollouts ended.
  await until('every server to be checked', async () => {
    const { items } = (await api('GET', '/servers')) as { items: Server[] };
    return items.every((s) => s.status?.conditions?.some((c) => c.type === 'Ready' && c.status !== 'Unknown')) ? true : undefined;
  });
  const storefront = await deploymentEnded(SHOP, 'storefront', 1);
  assert.equal(storefront.phase, 'completed', `storefront's first rollout: ${storefront.reason}: ${storefront.message}`);
  assert.equal((await deploymentEnded(SHOP, 'checkout', 1)).phase, 'failed');
  await deploymentEnded(SHOP, 'worker', 1);
  await deploymentEnded(BLOG, 'api', 1);
  await until('storefront to be Ready', async () => ((await getService(SHOP, 'storefront')).status?.conditions?.some((c) => c.type === 'Ready' && c.status === 'True') ? true : undefined));
}

/** Removes what the controllers made on the test hosts for this test's projects. */
async function cleanUpHosts() {
  for (const host of hosts?.hosts ?? []) {
    for (const project of PROJECTS) {
      const filter = `label=holdfast.dev/project=${project}`;
      const ids = async (...args: string[]) => (await hostDocker(host, ...args).catch(() => '')).split('\n').filter(Boolean);
      for (const id of await ids('ps', '-aq', '--filter', filter)) await hostDocker(host, 'rm', '-f', id).catch(() => undefined);
      for (const id of await ids('network', 'ls', '-q', '--filter', filter)) await hostDocker(host, 'network', 'rm', id).catch(() => undefined);
      for (const id of await ids('volume', 'ls', '-q', '--filter', filter)) await hostDocker(host, 'volume', 'rm', id).catch(() => undefined);
    }
  }
}

/** Counts by state as the overview should show them, from what the API holds now. */
async function expectedCounts(): Promise<Record<string, number>> {
  const services = ((await api('GET', '/services')) as { items: Service[] }).items;
  const servers = ((await api('GET', '/servers')) as { items: Server[] }).items;
  const counts: Record<string, number> = {};
  for (const s of SERVER_STATES) counts[`servers-${s}`] = servers.filter((x) => serverState(x).state === s).length;
  for (const s of ['synced', 'progressing', 'drifted', 'failed'] as const) counts[`services-${s}`] = services.filter((x) => serviceState(x).state === s).length;
  return counts;
}

// ---- browser helpers ------------------------------------------------------------------------

async function go(hash: string) {
  await page.evaluate((h) => (window.location.hash = h), hash);
}

async function statValue(name: string): Promise<number> {
  return Number(await page.locator(`[data-stat="${name}"] .stat__value`).innerText());
}

async function serviceRows(): Promise<string[]> {
  return page.locator('tr[data-service]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service')!).sort());
}

async function screenshot(name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Let the last watch events and fonts settle so the picture is the page, not a transition.
  await page.evaluate(() => window.scrollTo(0, 0));
  await page.waitForTimeout(300);
  await page.screenshot({ path: join(SCREENSHOTS, `${name}.png`), fullPage: true });
}

async function noHorizontalOverflow(): Promise<void> {
  const { scrollWidth, clientWidth } = await page.evaluate(() => ({ scrollWidth: document.documentElement.scrollWidth, clientWidth: document.documentElement.clientWidth }));
  assert.ok(scrollWidth <= clientWidth + 1, `page is ${scrollWidth}px wide in a ${clientWidth}px viewport`);
}

function onConsole(message: ConsoleMessage) {
  if (message.type() !== 'error') return;
  const url = message.location().url ?? '';
  if (/Failed to load resource: the server responded with a status of 404/.test(message.text()) && OPTIONAL_ENDPOINTS.test(url)) {
    optionalNotFound.add(url.replace(/^https?:\/\/[^/]+/, ''));
    return;
  }
  consoleProblems.push(`${message.text()} (${url})`);
}

/** Stops the control plane by PID, keeping its data directory, and waits for it to exit. */
async function stopControlPlane(child: ChildProcess) {
  if (child.exitCode !== null || child.signalCode !== null) return;
  const exited = new Promise((ok) => child.once('exit', ok));
  child.kill('SIGTERM');
  await Promise.race([exited, new Promise((ok) => setTimeout(ok, 10_000))]);
  if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
}

/** `holdfast serve` again on the address and data directory of the first one: a restart. */
async function restartControlPlane(): Promise<ChildProcess> {
  const port = new URL(serve.url).port;
  const child = spawn(process.execPath, [join(packageRoot(), 'bin', 'holdfast.js'), 'serve', '--data-dir', serve.dataDir, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn'], {
    env: { ...process.env, HOLDFAST_DATA_DIR: serve.dataDir },
    stdio: ['ignore', 'ignore', 'pipe'],
  });
  let stderr = '';
  child.stderr!.on('data', (d) => (stderr += d));
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`holdfast serve exited with ${child.exitCode}: ${stderr}`);
    const up = await fetch(serve.url + '/readyz', { signal: AbortSignal.timeout(2000) }).then((r) => r.status === 200, () => false);
    if (up) return child;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`holdfast serve did not come back within 60 s: ${stderr}`);
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

// ---- the tests ----------------------------------------------------------------------------

describe('dashboard', { timeout: 900_000 }, () => {
  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (scripts/setup.sh test)`);
    // Build the dashboard from the sources under test, so a stale dist cannot pass.
    execFileSync('npm', ['run', '--silent', 'build:dashboard'], { cwd: packageRoot(), stdio: 'pipe', timeout: 120_000 });
    hosts = await loadTestHosts({ count: 2 });
    await cleanUpHosts();
    serve = await startServeProcess();
    await seed();
    userDataDir = mkdtempSync(join(tmpdir(), 'holdfast-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: WIDE,
      acceptDownloads: true,
      timeout: 60_000,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('console', onConsole);
    page.on('pageerror', (err) => consoleProblems.push(`uncaught: ${err.message}`));
  });

  after(async () => {
    await context?.close().catch(() => {});
    // Let the controllers remove what they made, then make sure nothing of this test is left.
    const onHosts = [[SHOP, 'storefront'], [SHOP, 'checkout'], [SHOP, 'worker'], [BLOG, 'api'], [BLOG, 'search']];
    if (serve) {
      for (const [ns, name] of onHosts) await api('DELETE', `/namespaces/${ns}/services/${name}`).catch(() => undefined);
      await until('the services to be cleaned up', async () => {
        const left = await Promise.all(onHosts.map(([ns, name]) => getService(ns, name).then(() => true, () => false)));
        return left.some(Boolean) ? undefined : true;
      }, 60_000).catch(() => undefined);
    }
    if (restarted) await stopControlPlane(restarted);
    await serve?.stop();
    await cleanUpHosts();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('refuses a wrong token with a clear message, then signs in with the real one', async () => {
    await page.goto(serve.url + '/');
    await page.getByRole('button', { name: 'Use an API token instead' }).click();
    await page.getByLabel('API token').fill('hft_not-a-real-token');
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.getByRole('alert').filter({ hasText: 'does not accept this token' }).waitFor();
    // The browser logs the refused check as a failed load: expected here, and only here.
    const refused = consoleProblems.splice(0).filter((p) => !/status of 401/.test(p));
    assert.deepEqual(refused, []);

    await page.getByLabel('API token').fill(serve.token);
    await page.getByRole('button', { name: 'Sign in' }).click();
    await page.locator('[data-ready="true"]').waitFor();
    assert.equal(await page.evaluate(() => window.location.href.includes('hft_')), false, 'the token must never appear in the URL');
    await page.evaluate(() => ((window as unknown as { __sameDocument: boolean }).__sameDocument = true));
  });

  it('overview counts servers and services by state, as the API holds them', async () => {
    const names = ['servers-ready', 'servers-attention', 'servers-blocked', 'services-synced', 'services-progressing', 'services-drifted', 'services-failed'];
    let shown: Record<string, number> = {};
    let expected: Record<string, number> = {};
    await until('the overview to match the API', async () => {
      expected = await expectedCounts();
      shown = Object.fromEntries(await Promise.all(names.map(async (n) => [n, await statValue(n)] as const)));
      return names.every((n) => shown[n] === expected[n]) ? true : undefined;
    }, 20_000).catch(() => assert.deepEqual(shown, expected));
    // What the estate is built to show: a blocked server, a running service, failed rollouts.
    const services = ((await api('GET', '/services')) as { items: Service[] }).items;
    const states = Object.fromEntries(services.map((x) => [`${x.metadata.namespace}/${x.metadata.name}`, serviceState(x)]));
    assert.ok(shown['servers-blocked'] >= 1, 'db-1 (host key mismatch) is blocked');
    assert.equal(states[`${SHOP}/storefront`].state, 'synced', JSON.stringify(states));
    assert.equal(states[`${SHOP}/checkout`].state, 'failed', JSON.stringify(states));
    // Its server is blocked: its rollout waits (queued) or has failed, it never runs.
    assert.ok(['progressing', 'failed'].includes(states[`${OPS}/metrics`].state), JSON.stringify(states));
    await page.locator('.timeline__item').first().waitFor();
    await screenshot('overview');
  });

  it('services list filters by project, environment, status and text', async () => {
    await go('#/services');
    await page.locator('tr[data-service]').first().waitFor();
    assert.deepEqual(await serviceRows(), [`${BLOG}/api`, `${SHOP}/checkout`, `${SHOP}/storefront`, `${SHOP}/worker`, `${OPS}/metrics`].sort());
    // Every Service's Ready column shows the API status's own counts (ready of the replicas the deployed
    // input declares), whatever state it is in: never the spec's count beside the status's.
    await until('the Ready column to show the API counts', async () => {
      const services = ((await api('GET', '/services')) as { items: Service[] }).items;
      const expected = services.map((x) => `${x.metadata.namespace}/${x.metadata.name} ${x.status?.readyReplicas ?? 0}/${x.status?.replicas ?? x.spec?.replicas ?? '—'}`).sort();
      const shown = await page.locator('tr[data-service]').evaluateAll((rows) => rows.map((r) => `${r.getAttribute('data-service')} ${r.querySelector('td[data-label="Ready"]')?.textContent?.trim()}`).sort());
      return JSON.stringify(shown) === JSON.stringify(expected) ? true : undefined;
    }, 15_000);

    await page.getByLabel('Project').selectOption(OPS);
    await page.waitForFunction(() => document.querySelectorAll('tr[data-service]').length === 1);
    assert.deepEqual(await serviceRows(), [`${OPS}/metrics`]);
    assert.match(await page.evaluate(() => window.location.hash), new RegExp(`project=${OPS}`));

    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await page.getByLabel('Environment').selectOption('staging');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-service]').length === 2);
    assert.deepEqual(await serviceRows(), [`${BLOG}/api`, `${SHOP}/checkout`]);

    await page.getByLabel('Environment').selectOption('');
    await page.getByLabel('Status').selectOption('failed');
    await until('the failed services', async () => {
      const services = ((await api('GET', '/services')) as { items: Service[] }).items;
      const failed = services.filter((x) => serviceState(x).state === 'failed').map((x) => `${x.metadata.namespace}/${x.metadata.name}`).sort();
      return JSON.stringify(await serviceRows()) === JSON.stringify(failed) ? true : undefined;
    }, 15_000);
    assert.ok((await serviceRows()).includes(`${SHOP}/checkout`));

    await page.getByLabel('Status').selectOption('');
    await page.getByLabel('Search').fill('storefront');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-service]').length === 1);
    assert.deepEqual(await serviceRows(), [`${SHOP}/storefront`]);

    await page.getByLabel('Search').fill('no-such-service');
    await page.getByText('No service matches these filters').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await page.waitForFunction(() => document.querySelectorAll('tr[data-service]').length === 5);
    await screenshot('services');
  });

  it('service detail shows declared, frozen and live side by side, secrets masked, and its deployments', async () => {
    await page.locator('a', { hasText: /^storefront$/ }).click();
    await page.waitForFunction((h) => window.location.hash === h, `#/services/${SHOP}/storefront`);
    for (const column of ['view-declared', 'view-frozen', 'view-live']) await page.getByTestId(column).waitFor();
    const declared = page.getByTestId('view-declared');
    await declared.locator('[data-path="source.image"]').filter({ hasText: 'holdfast-test/busybox:1' }).waitFor();
    await declared.locator('[data-path="env[GREETING].value"]').filter({ hasText: 'hello' }).waitFor();
    // The frozen input of the deployment that runs: the rendered container, its secret only masked.
    const frozen = page.getByTestId('view-frozen');
    const container = `containers[hf_${SHOP}_production_storefront_1]`;
    await frozen.locator(`[data-path="${container}.image"]`).filter({ hasText: 'holdfast-test/busybox:1' }).waitFor();
    await frozen.locator(`[data-path="${container}.env.DB_PASSWORD"]`).filter({ hasText: '••••••' }).waitFor();
    assert.ok((await page.getByTestId('view-live').innerText()).trim().length > 0, 'the live column is blank');
    const shownStatus = (await getService(SHOP, 'storefront')).status as { readyReplicas?: number; replicas?: number };
    await page.getByText(`${shownStatus.readyReplicas ?? 0} ready of ${shownStatus.replicas}`).first().waitFor();
    assert.doesNotMatch(await page.locator('body').innerText(), new RegExp(SECRET_VALUE), 'a secret value reached the page');

    const first = page.locator('li[data-deployment]').filter({ hasText: 'Revision 1' });
    await first.and(page.locator('[data-phase="completed"]')).waitFor();
    await first.locator('summary').first().click();
    await first.locator('[data-step="health"]').filter({ hasText: 'succeeded' }).waitFor();
    await page.getByRole('button', { name: 'Copy state JSON' }).waitFor();
    await screenshot('service-detail');
  });

  it('the state artifact downloads as JSON with declared, frozen, live, drift and deployments, no secret in it', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
    assert.equal(download.suggestedFilename(), `holdfast-${SHOP}-storefront-state.json`);
    const text = readFileSync(await download.path(), 'utf8');
    const artifact = JSON.parse(text);
    for (const key of ['declared', 'frozen', 'live', 'drift', 'deployments']) assert.ok(key in artifact, `artifact lacks ${key}`);
    assert.equal(artifact.service.name, 'storefront');
    assert.equal(artifact.declared.source.image, 'holdfast-test/busybox:1');
    assert.ok(artifact.frozen?.containers?.length >= 1, 'the artifact carries the frozen input');
    assert.ok(artifact.deployments.length >= 1);
    assert.doesNotMatch(text, new RegExp(SECRET_VALUE));
  });

  it('follows a rollout as it happens, without a reload', async () => {
    // Still on storefront. A declared change rolls out as revision 2.
    // An unconditional update (no resourceVersion): the controllers write status meanwhile.
    const { resourceVersion: _rv, ...metadata } = (await getService(SHOP, 'storefront')).metadata;
    await api('PUT', `/namespaces/${SHOP}/services/storefront`, { ...serviceManifest(SHOP, 'storefront', storefrontSpec('bonjour')), metadata });
    const second = page.locator('li[data-deployment]').filter({ hasText: 'Revision 2' });
    await second.waitFor({ timeout: 20_000 });
    // While it runs, it is open and its log is followed; it may also be over already.
    const phase = await second.getAttribute('data-phase');
    if (phase && !['completed', 'failed', 'canceled'].includes(phase)) {
      await second.locator('.followed-log').waitFor();
    }
    await second.and(page.locator('[data-phase="completed"]')).waitFor({ timeout: 120_000 });
    const d = await deploymentEnded(SHOP, 'storefront', 2);
    assert.equal(d.phase, 'completed', `${d.reason}: ${d.message}`);
    // The declared column follows the watch stream too.
    await page.getByTestId('view-declared').locator('[data-path="env[GREETING].value"]').filter({ hasText: 'bonjour' }).waitFor();
    // Newest first.
    const revisions = await page.locator('li[data-deployment] .deployment__title').allInnerTexts();
    assert.deepEqual(revisions.slice(0, 2), ['Revision 2', 'Revision 1']);
    await second.locator('summary').first().click().catch(() => undefined);
    await page.getByRole('button', { name: 'Show the full log' }).first().click();
    await page.locator('pre.log').first().waitFor();
    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'the page was reloaded');
  });

  it('shows a change made on the host behind Holdfast\'s back as drift, field by field', async () => {
    const host = testHost(hosts, 2);
    const container = `hf_${SHOP}_production_storefront_1`;
    const views = (await api('GET', `/namespaces/${SHOP}/services/storefront/views`)) as ServiceViews;
    const frozenPolicy = (views.frozen as { containers: Array<{ name: string; restartPolicy: { name: string } }> }).containers.find((c) => c.name === container)!.restartPolicy.name;
    const changed = frozenPolicy === 'always' ? 'no' : 'always';
    await go(`#/services/${SHOP}/storefront`);
    await page.locator('h1 .badge', { hasText: 'Synced' }).waitFor();

    await hostDocker(host, 'update', '--restart', changed, container);
    try {
      // Docker's events reach the live-state cache, the drift controller records it, the watch
      // stream brings the Service's new status: no reload.
      await page.locator('h1 .badge', { hasText: 'Drifted' }).waitFor({ timeout: 30_000 });
      const path = `containers[${container}].restartPolicy`;
      await page.locator(`tr[data-drift-path^="${path}"]`).first().waitFor({ timeout: 15_000 });
      await page.getByTestId('view-live').locator(`[data-path^="${path}"][data-drifted="true"]`).filter({ hasText: changed }).first().waitFor();
      await page.getByTestId('view-frozen').locator(`[data-path^="${path}"][data-drifted="true"]`).filter({ hasText: frozenPolicy }).first().waitFor();
      await screenshot('service-drifted');
    } finally {
      await hostDocker(host, 'update', '--restart', frozenPolicy, container);
    }
    await page.locator('h1 .badge', { hasText: 'Synced' }).waitFor({ timeout: 30_000 });
    // And it stays on record: when it was seen, and that it went.
    await page.locator('tr[data-history-path^="containers["]').filter({ hasText: 'restartPolicy' }).filter({ hasText: 'gone' }).first().waitFor({ timeout: 15_000 });
  });

  it('changes made through the API appear without a reload (watch)', async () => {
    await go('#/services');
    await page.locator('tr[data-service]').first().waitFor();
    await api('POST', `/namespaces/${BLOG}/services`, serviceManifest(BLOG, 'search', { environment: 'production', server: 'edge-1', source: { image: 'holdfast-test/busybox:1' }, command: ['sleep', '86400'] }));
    await page.locator(`tr[data-service="${BLOG}/search"]`).waitFor({ timeout: 10_000 });
    await deploymentEnded(BLOG, 'search', 1);
    await api('DELETE', `/namespaces/${BLOG}/services/search`);
    // Deleting runs through the finalizer that removes its container: then the row goes.
    await page.locator(`tr[data-service="${BLOG}/search"]`).waitFor({ state: 'detached', timeout: 60_000 });

    await go('#/events');
    await page.locator('.timeline__item').first().waitFor();
    await event(SHOP, 'storefront.note', { kind: 'Service', namespace: SHOP, name: 'storefront' }, 'Normal', 'OperatorNote', 'Maintenance window tonight');
    await page.locator('.timeline__item').filter({ hasText: 'OperatorNote' }).waitFor({ timeout: 10_000 });

    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'the page was reloaded');
  });

  it('servers list and detail show readiness checks, latency, versions and swarm topology', async () => {
    await go('#/servers');
    await page.locator('tr[data-server]').first().waitFor();
    assert.equal(await page.locator('tr[data-server]').count(), 3);
    await page.locator('tr[data-server="db-1"] .badge', { hasText: 'Blocked' }).waitFor();
    await screenshot('servers');

    const swarm = (await api('GET', '/servers/swarm-1')) as Server;
    await page.locator('a', { hasText: /^swarm-1$/ }).click();
    await page.locator('[data-check="ssh"]').filter({ hasText: 'Pass' }).waitFor();
    await page.locator('[data-check="swarm"]').waitFor();
    await page.getByText(swarm.status!.docker!.version!).first().waitFor();
    await page.locator('.facts__item', { hasText: 'Role' }).filter({ hasText: 'manager' }).waitFor();
    if (typeof swarm.status?.latencyMs === 'number') await page.locator('.facts__item', { hasText: 'Latency' }).filter({ hasText: /\d+(\.\d+)? (ms|s)\b/ }).waitFor();
    // A warning comes with what to do about it.
    const warned = swarm.status?.checks?.find((c) => c.result === 'Warn');
    if (warned) await page.locator(`[data-check="${warned.name}"] .check__action`).waitFor();
    await screenshot('server-detail');

    await go('#/servers/db-1');
    await page.locator('h1 .badge', { hasText: 'Blocked' }).waitFor();
  });

  it('events page lists events; the audit log lists the writes made through the API', async () => {
    await go('#/events');
    await page.locator('.timeline__item').filter({ hasText: 'OperatorNote' }).waitFor();
    await page.getByLabel('Warnings only').check();
    assert.equal(await page.locator('.timeline__item--normal').count(), 0);
    await page.getByLabel('Warnings only').uncheck();
    await screenshot('events');

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('tr[data-audit]').first().waitFor();
    assert.equal(await page.locator('.state--error').count(), 0);
    await screenshot('audit');
    await page.getByLabel('Search').fill(`service/${SHOP}/storefront`);
    await page.locator('tr[data-audit]').filter({ hasText: 'update' }).first().waitFor();
    const objects = await page.locator('tr[data-audit] td[data-label="Object"]').evaluateAll((cells) => cells.map((c) => c.textContent ?? ''));
    assert.ok(objects.length > 0 && objects.every((o) => o === `service/${SHOP}/storefront`), `search left ${JSON.stringify(objects)}`);
  });

  it('is reachable by keyboard, with a visible focus', async () => {
    await go('#/');
    await page.locator('[data-ready="true"]').waitFor();
    await page.locator('a.brand').focus();
    const reached: string[] = [];
    for (let i = 0; i < 4; i++) {
      await page.keyboard.press('Tab');
      reached.push(await page.evaluate(() => document.activeElement?.textContent?.trim() ?? ''));
      if (reached.at(-1) === 'Services') break;
    }
    assert.equal(reached.at(-1), 'Services', `Tab reached ${JSON.stringify(reached)}`);
    const outline = await page.evaluate(() => getComputedStyle(document.activeElement!).outlineStyle);
    assert.notEqual(outline, 'none', 'the focused link shows no focus ring');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => window.location.hash === '#/services');
  });

  it('works on a 375 px screen without sideways scrolling', async () => {
    await page.setViewportSize(NARROW);
    try {
      for (const hash of ['#/', '#/services', `#/services/${SHOP}/storefront`, '#/servers', '#/servers/swarm-1', '#/events', '#/events?tab=audit']) {
        await go(hash);
        await page.locator('.page').first().waitFor();
        await page.waitForTimeout(300);
        await noHorizontalOverflow();
      }
      await go('#/');
      await page.locator('[data-ready="true"]').waitFor();
      await screenshot('overview-narrow');
    } finally {
      await page.setViewportSize(WIDE);
    }
  });

  it(`paints the overview within ${FIRST_PAINT_BUDGET_MS} ms with ${LOAD_SERVICES} services`, async () => {
    await api('POST', '/projects', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: 'acme-load' }, spec: { environments: [{ name: 'production' }] } });
    const names = Array.from({ length: LOAD_SERVICES }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
    // Their server is not declared: the service controller records each as failed without touching a host.
    for (let i = 0; i < names.length; i += 10) {
      await Promise.all(names.slice(i, i + 10).map((name) => api('POST', '/namespaces/acme-load/services', serviceManifest('acme-load', name, { environment: 'production', server: 'not-declared', source: { image: `registry.example/load/${name}:1.0.0` } }))));
    }
    const total = ((await api('GET', '/services')) as { items: Service[] }).items.length;
    assert.ok(total >= LOAD_SERVICES);

    // A fresh document load of the overview, signed in (the token is in this tab's sessionStorage).
    await page.goto('about:blank');
    const started = Date.now();
    await page.goto(serve.url + '/#/');
    await page.locator('[data-ready="true"]').waitFor({ timeout: 10_000 });
    const wallMs = Date.now() - started;
    const timing = await page.evaluate(() => ({
      ready: performance.getEntriesByName('holdfast:overview-ready')[0]?.startTime,
      firstContentfulPaint: performance.getEntriesByName('first-contentful-paint')[0]?.startTime,
    }));
    // One synchronous read of the DOM: the counts update live as the controller marks Services, and
    // separate reads could see a Service leave "pending" after its state's figure was read.
    // (No named functions inside: tsx would wrap them in a helper the page does not have.)
    const { shown, pending } = await page.evaluate(() => {
      let sum = 0;
      for (const state of ['synced', 'progressing', 'drifted', 'failed']) {
        sum += Number(document.querySelector(`[data-stat="services-${state}"] .stat__value`)?.textContent ?? NaN);
      }
      // The services card's footnote only: the "Needs a look" list may say "not observed yet" as well.
      const footnote = document.querySelector('section[aria-labelledby="services-heading"] .card__footnote')?.textContent ?? '';
      return { shown: sum, pending: Number(footnote.match(/(\d+) not observed yet/)?.[1] ?? 0) };
    });
    assert.equal(shown + pending, total, 'the overview counts every service');
    assert.ok(timing.ready !== undefined, 'the overview never marked itself ready');
    process.stdout.write(
      `overview first paint with ${total} services: ${Math.round(timing.ready!)} ms from navigation to counts on screen ` +
        `(first contentful paint ${Math.round(timing.firstContentfulPaint ?? NaN)} ms, ${wallMs} ms wall clock incl. browser navigation)\n`,
    );
    assert.ok(timing.ready! < FIRST_PAINT_BUDGET_MS, `overview took ${Math.round(timing.ready!)} ms with ${total} services (budget ${FIRST_PAINT_BUDGET_MS} ms)`);
  });

  it('reconnects after the control plane restarts, and keeps following changes', async () => {
    await go('#/services');
    await page.locator('tr[data-service]').first().waitFor();
    await page.locator('.live', { hasText: 'Live' }).waitFor();
    const problemsBefore = consoleProblems.length;

    await stopControlPlane(serve.child);
    await page.locator('.live', { hasText: 'Reconnecting' }).waitFor({ timeout: 15_000 });
    restarted = await restartControlPlane();
    // Backoff is capped at 30 s; a restart is seen well within that.
    await page.locator('.live', { hasText: 'Live' }).waitFor({ timeout: 40_000 });

    await api('POST', '/namespaces/acme-load/services', serviceManifest('acme-load', 'after-restart', { environment: 'production', server: 'not-declared', source: { image: 'registry.example/load/after-restart:1.0.0' } }));
    await page.locator('tr[data-service="acme-load/after-restart"]').waitFor({ timeout: 10_000 });

    // The browser logs the refused connections of the outage; nothing else may appear.
    const outage = consoleProblems.splice(problemsBefore);
    const unexpected = outage.filter((p) => !/net::ERR_(CONNECTION_REFUSED|EMPTY_RESPONSE|INCOMPLETE_CHUNKED_ENCODING|CONNECTION_RESET)/.test(p));
    assert.deepEqual(unexpected, []);
  });

  it('logged no console errors', async () => {
    // 404s from endpoints other parts of the API have not added yet are expected while they are missing.
    for (const path of optionalNotFound) {
      const res = await fetch(serve.url + path, { headers: { Authorization: `Bearer ${serve.token}` }, signal: AbortSignal.timeout(10_000) });
      assert.equal(res.status, 404, `${path} exists now, yet the dashboard saw a 404 from it`);
    }
    if (optionalNotFound.size) {
      const paths = [...new Set([...optionalNotFound].map((p) => p.replace(/\?.*/, '')))].sort();
      process.stdout.write(`endpoints not served yet (designed "not available" states shown): ${paths.join(', ')}\n`);
    }
    assert.deepEqual(consoleProblems, []);
  });
});
