// The dashboard in Debian's Chromium (driven by playwright-core, no browser download) against the
// built `holdfast serve` as a child process: sign in, overview counts, service filters, the three
// views, live updates through the watch stream, keyboard and narrow-screen use, no console errors,
// and the first paint of the overview with 200 services. Saves screenshots of the main pages into
// docs/screenshots/ for the README.
import assert from 'node:assert/strict';
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { chromium, type BrowserContext, type ConsoleMessage, type Page } from 'playwright-core';
import { packageRoot } from '../../core/package-root.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

const CHROMIUM = '/usr/bin/chromium';
const API = '/apis/holdfast.dev/v1alpha1';
const SCREENSHOTS = join(packageRoot(), 'docs', 'screenshots');
const WIDE = { width: 1280, height: 860 };
const NARROW = { width: 375, height: 760 };
const FIRST_PAINT_BUDGET_MS = 1000;
const LOAD_SERVICES = 200;

// Endpoints that later parts of the API add; until they exist the dashboard shows a designed
// "not available" state, and the browser logs their 404 as a failed resource load.
const OPTIONAL_ENDPOINTS = /\/services\/[^/]+\/(views|deployments)$|\/auditlog(\?|$)/;

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
  const res = await fetch(serve.url + API + path, {
    method,
    headers: { Authorization: `Bearer ${serve.token}`, ...(body ? { 'Content-Type': contentType } : {}) },
    body: body ? JSON.stringify(body) : undefined,
    signal: AbortSignal.timeout(15_000),
  });
  const text = await res.text();
  if (!res.ok) throw new Error(`${method} ${path}: ${res.status} ${text}`);
  return text ? JSON.parse(text) : undefined;
}

const ago = (seconds: number) => new Date(Date.now() - seconds * 1000).toISOString();
const condition = (type: string, status: 'True' | 'False' | 'Unknown', reason: string, message: string, since = 600) => ({
  type,
  status,
  reason,
  message,
  lastTransitionTime: ago(since),
});

function serviceManifest(namespace: string, name: string, spec: Record<string, unknown>) {
  return {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name, namespace },
    spec: { replicas: 1, ...spec },
  };
}

async function setStatus(kind: string, path: string, status: Record<string, unknown>) {
  await api('PATCH', `${path}/status`, { status }, 'application/merge-patch+json').catch((err: Error) => {
    throw new Error(`${kind} status: ${err.message}`);
  });
}

async function event(namespace: string, name: string, involved: Record<string, string>, type: 'Normal' | 'Warning', reason: string, message: string, secondsAgo: number) {
  await api('POST', `/namespaces/${namespace}/events`, {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Event',
    metadata: { name },
    involvedObject: { apiVersion: 'holdfast.dev/v1alpha1', ...involved },
    reason,
    message,
    type,
    count: 1,
    firstTimestamp: ago(secondsAgo),
    lastTimestamp: ago(secondsAgo),
    source: { component: 'service-controller' },
  });
}

/** A small estate in every state the overview counts, shaped like what the controllers write. */
async function seed() {
  for (const [name, envs, description] of [
    ['shop', ['staging', 'production'], 'The online shop'],
    ['ops', ['production'], 'Monitoring and backups'],
    ['blog', ['staging', 'production'], 'Company blog'],
    // Events about cluster-scoped objects (Servers) live in the "default" namespace.
    ['default', ['production'], 'Cluster-wide events'],
  ] as const) {
    await api('POST', '/projects', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name }, spec: { description, environments: envs.map((e) => ({ name: e })) } });
  }
  const servers: Array<[string, string, string, Record<string, unknown>]> = [
    ['edge-1', 'docker-engine', '10.213.0.2', {
      conditions: [condition('Ready', 'True', 'ChecksPassed', 'All readiness checks passed'), condition('HostKeyVerified', 'True', 'Pinned', 'Host key matches the pinned fingerprint'), condition('DockerAvailable', 'True', 'Reachable', 'Docker Engine API answers')],
      checks: [
        { name: 'ssh', result: 'Pass', message: 'Logged in as deploy (12 ms)', lastCheckTime: ago(20) },
        { name: 'docker', result: 'Pass', message: 'Docker Engine 26.1.5, API 1.45', lastCheckTime: ago(20) },
        { name: 'disk', result: 'Pass', message: '61 GiB free on /var/lib/docker', lastCheckTime: ago(20) },
      ],
      docker: { version: '26.1.5', apiVersion: '1.45', os: 'linux', arch: 'amd64' },
      resources: { cpus: 4, memoryBytes: 8 * 1024 ** 3, diskFreeBytes: 61 * 1024 ** 3, load1: 0.42 },
      lastContactTime: ago(20),
    }],
    ['edge-2', 'docker-engine', '10.213.0.3', {
      conditions: [condition('Ready', 'True', 'ChecksPassed', 'Ready, with a warning'), condition('HostKeyVerified', 'True', 'Pinned', 'Host key matches')],
      checks: [
        { name: 'ssh', result: 'Pass', message: 'Logged in as deploy (15 ms)', lastCheckTime: ago(25) },
        { name: 'docker', result: 'Pass', message: 'Docker Engine 26.1.5, API 1.45', lastCheckTime: ago(25) },
        { name: 'disk', result: 'Warn', message: 'Only 3.1 GiB free on /var/lib/docker (6%)', lastCheckTime: ago(25) },
      ],
      docker: { version: '26.1.5', apiVersion: '1.45', os: 'linux', arch: 'amd64' },
      lastContactTime: ago(25),
    }],
    ['swarm-1', 'docker-swarm-manager', '10.213.0.4', {
      conditions: [condition('Ready', 'True', 'ChecksPassed', 'All readiness checks passed'), condition('HostKeyVerified', 'True', 'Pinned', 'Host key matches')],
      checks: [
        { name: 'ssh', result: 'Pass', message: 'Logged in as deploy (11 ms)', lastCheckTime: ago(15) },
        { name: 'docker', result: 'Pass', message: 'Docker Engine 26.1.5, API 1.45', lastCheckTime: ago(15) },
        { name: 'swarm', result: 'Pass', message: 'Manager of a swarm of 2 nodes', lastCheckTime: ago(15) },
      ],
      docker: { version: '26.1.5', apiVersion: '1.45', os: 'linux', arch: 'amd64', swarm: { nodeID: 'q8w2kx1l0v7n3c5b9m4z6a2s1', role: 'manager', managers: 1, nodes: 2 } },
      lastContactTime: ago(15),
    }],
    ['db-1', 'docker-engine', '10.213.0.5', {
      conditions: [condition('Ready', 'False', 'HostKeyMismatch', 'The host key changed: SHA256:4b1… is not the pinned SHA256:Qm9…'), condition('HostKeyVerified', 'False', 'Mismatch', 'The host key does not match the pinned fingerprint')],
      checks: [{ name: 'ssh', result: 'Fail', message: 'Host key mismatch: refusing to authenticate', lastCheckTime: ago(40) }],
      lastContactTime: ago(40),
    }],
  ];
  for (const [name, kind, host, status] of servers) {
    await api('POST', '/servers', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name }, spec: { kind, host, port: 22, user: 'deploy', sshKeyRef: { name: 'deploy-key' } } });
    await setStatus('Server', `/servers/${name}`, status);
  }

  const ready = (replicas = 1) => ({
    observedGeneration: 1,
    replicas,
    readyReplicas: replicas,
    conditions: [condition('Ready', 'True', 'Healthy', `${replicas} of ${replicas} replicas ready`), condition('Drifted', 'False', 'NoDrift', 'Live state matches the deployment')],
    currentDeployment: { name: 'd-7f3a', generation: 1, phase: 'completed', startedAt: ago(3600), finishedAt: ago(3540) },
    drift: { count: 0, liveVsFrozen: 0, declaredVsFrozen: 0, lastCheckedTime: ago(5) },
  });
  const services: Array<[string, string, Record<string, unknown>, Record<string, unknown> | undefined]> = [
    ['shop', 'web', { environment: 'production', server: 'edge-1', source: { image: 'registry.example/shop/web:1.4.2' }, command: ['httpd', '-f', '-p', '8080'], env: [{ name: 'GREETING', value: 'hello' }, { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }], ports: [{ containerPort: 8080, hostPort: 18080, protocol: 'tcp' }], replicas: 2 }, ready(2)],
    ['shop', 'storefront', { environment: 'staging', server: 'edge-1', source: { image: 'registry.example/shop/storefront:2.0.1' } }, {
      ...ready(),
      conditions: [condition('Ready', 'True', 'Healthy', '1 of 1 replicas ready'), condition('Drifted', 'True', 'LiveDiffers', '2 fields differ from the deployment: image, env.FEATURE_FLAGS', 120)],
      drift: { count: 2, liveVsFrozen: 2, declaredVsFrozen: 0, lastCheckedTime: ago(3) },
    }],
    ['shop', 'checkout', { environment: 'production', server: 'edge-2', source: { image: 'registry.example/shop/checkout:3.2.0' } }, {
      observedGeneration: 2,
      replicas: 1,
      readyReplicas: 1,
      conditions: [condition('Ready', 'True', 'Healthy', '1 of 1 replicas ready'), condition('Progressing', 'True', 'RollingOut', 'Starting checkout 3.2.0 beside 3.1.4 (start-first)', 30)],
      currentDeployment: { name: 'd-9c21', generation: 2, phase: 'deploy', startedAt: ago(30) },
    }],
    ['shop', 'worker', { environment: 'production', server: 'edge-2', source: { image: 'registry.example/shop/worker:1.4.2' } }, ready()],
    ['ops', 'metrics', { environment: 'production', server: 'swarm-1', source: { image: 'registry.example/ops/metrics:0.9.0' } }, {
      observedGeneration: 1,
      replicas: 1,
      readyReplicas: 0,
      conditions: [condition('Ready', 'False', 'Unhealthy', '0 of 1 replicas ready'), condition('Degraded', 'True', 'CrashLoop', 'Container exits with code 1; restarted 5 times in 2 minutes', 90)],
      currentDeployment: { name: 'd-51b0', generation: 1, phase: 'failed', startedAt: ago(200), finishedAt: ago(100) },
    }],
    ['ops', 'backup-agent', { environment: 'production', server: 'swarm-1', source: { image: 'registry.example/ops/backup-agent:1.1.0' } }, ready()],
    ['blog', 'api', { environment: 'staging', server: 'edge-2', source: { image: 'registry.example/blog/api:0.3.0' } }, undefined],
    ['blog', 'frontend', { environment: 'production', server: 'edge-1', source: { compose: { file: 'compose.yaml' } } }, ready()],
  ];
  for (const [ns, name, spec, status] of services) {
    await api('POST', `/namespaces/${ns}/services`, serviceManifest(ns, name, spec));
    if (status) await setStatus('Service', `/namespaces/${ns}/services/${name}`, status);
  }

  await event('shop', 'web.deployed', { kind: 'Service', namespace: 'shop', name: 'web' }, 'Normal', 'DeploymentCompleted', 'Deployment d-7f3a completed: 2 of 2 replicas healthy', 3540);
  await event('shop', 'storefront.drift', { kind: 'Service', namespace: 'shop', name: 'storefront' }, 'Warning', 'DriftDetected', 'image changed on the host: registry.example/shop/storefront:2.0.1 → :2.0.1-hotfix', 120);
  await event('shop', 'checkout.started', { kind: 'Service', namespace: 'shop', name: 'checkout' }, 'Normal', 'DeploymentStarted', 'Deployment d-9c21 started for generation 2 (trigger: apply)', 30);
  await event('ops', 'metrics.crash', { kind: 'Service', namespace: 'ops', name: 'metrics' }, 'Warning', 'CrashLoop', 'hf_ops_production_metrics_1 exited with code 1 (5 restarts)', 90);
  await event('default', 'db-1.hostkey', { kind: 'Server', name: 'db-1' }, 'Warning', 'HostKeyMismatch', 'db-1 presented another host key; deployments to it are blocked', 40);
  await event('default', 'edge-2.disk', { kind: 'Server', name: 'edge-2' }, 'Warning', 'DiskSpaceLow', 'Only 3.1 GiB free on /var/lib/docker', 25);
}

// ---- browser helpers ------------------------------------------------------------------------

async function go(hash: string) {
  await page.evaluate((h) => (window.location.hash = h), hash);
}

async function statValue(name: string): Promise<number> {
  return Number(await page.locator(`[data-stat="${name}"] .stat__value`).innerText());
}

async function waitForStat(name: string, value: number) {
  await page.waitForFunction(
    ([n, v]) => document.querySelector(`[data-stat="${n}"] .stat__value`)?.textContent === String(v),
    [name, value] as const,
    { timeout: 10_000 },
  );
}

async function serviceRows(): Promise<string[]> {
  return page.locator('tr[data-service]').evaluateAll((rows) => rows.map((r) => r.getAttribute('data-service')!).sort());
}

async function screenshot(name: string) {
  mkdirSync(SCREENSHOTS, { recursive: true });
  // Let the last watch events and fonts settle so the picture is the page, not a transition.
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

describe('dashboard', { timeout: 600_000 }, () => {
  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (scripts/setup.sh test)`);
    // Build the dashboard from the sources under test, so a stale dist cannot pass.
    execFileSync('npm', ['run', '--silent', 'build:dashboard'], { cwd: packageRoot(), stdio: 'pipe', timeout: 120_000 });
    serve = await startServeProcess();
    await seed();
    userDataDir = mkdtempSync(join(tmpdir(), 'holdfast-chromium-'));
    context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      viewport: WIDE,
      timeout: 60_000,
    });
    page = context.pages()[0] ?? (await context.newPage());
    page.setDefaultTimeout(15_000);
    page.on('console', onConsole);
    page.on('pageerror', (err) => consoleProblems.push(`uncaught: ${err.message}`));
  });

  after(async () => {
    await context?.close().catch(() => {});
    if (restarted) await stopControlPlane(restarted);
    await serve?.stop();
    if (userDataDir) rmSync(userDataDir, { recursive: true, force: true });
  });

  it('refuses a wrong token with a clear message, then signs in with the real one', async () => {
    await page.goto(serve.url + '/');
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

  it('overview counts servers and services by state, and lists recent events', async () => {
    const counts = Object.fromEntries(
      await Promise.all(
        ['servers-ready', 'servers-attention', 'servers-blocked', 'services-synced', 'services-progressing', 'services-drifted', 'services-failed'].map(async (n) => [n, await statValue(n)] as const),
      ),
    );
    assert.deepEqual(counts, {
      'servers-ready': 2,
      'servers-attention': 1,
      'servers-blocked': 1,
      'services-synced': 4,
      'services-progressing': 1,
      'services-drifted': 1,
      'services-failed': 1,
    });
    await page.getByText('1 not observed yet').waitFor();
    await page.locator('.timeline__item').filter({ hasText: 'DriftDetected' }).waitFor();
    await screenshot('overview');
  });

  it('services list filters by project, environment and status', async () => {
    await go('#/services');
    await page.locator('tr[data-service]').first().waitFor();
    assert.equal((await serviceRows()).length, 8);

    await page.getByLabel('Project').selectOption('ops');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-service]').length === 2);
    assert.deepEqual(await serviceRows(), ['ops/backup-agent', 'ops/metrics']);

    await page.getByLabel('Status').selectOption('failed');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-service]').length === 1);
    assert.deepEqual(await serviceRows(), ['ops/metrics']);
    assert.match(await page.evaluate(() => window.location.hash), /project=ops.*status=failed|status=failed.*project=ops/);

    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await page.getByLabel('Environment').selectOption('staging');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-service]').length === 2);
    assert.deepEqual(await serviceRows(), ['blog/api', 'shop/storefront']);

    await page.getByLabel('Environment').selectOption('');
    await page.getByLabel('Search').fill('checkout');
    await page.waitForFunction(() => document.querySelectorAll('tr[data-service]').length === 1);
    assert.deepEqual(await serviceRows(), ['shop/checkout']);

    await page.getByLabel('Search').fill('no-such-service');
    await page.getByText('No service matches these filters').waitFor();
    await page.getByRole('button', { name: 'Clear filters' }).first().click();
    await page.waitForFunction(() => document.querySelectorAll('tr[data-service]').length === 8);
    await screenshot('services');
  });

  it('service detail shows declared, frozen and live side by side', async () => {
    await page.locator('a', { hasText: /^storefront$/ }).click();
    await page.waitForFunction(() => window.location.hash === '#/services/shop/storefront');
    for (const column of ['view-declared', 'view-frozen', 'view-live']) await page.getByTestId(column).waitFor();
    const declared = page.getByTestId('view-declared');
    await declared.locator('[data-path="source.image"]').filter({ hasText: 'registry.example/shop/storefront:2.0.1' }).waitFor();
    await declared.locator('[data-path="environment"]').filter({ hasText: 'staging' }).waitFor();
    // Frozen and live come from the views API: either its data, or a designed state saying why not.
    for (const column of ['view-frozen', 'view-live']) {
      const text = await page.getByTestId(column).innerText();
      assert.ok(text.trim().length > 0, `${column} is blank`);
    }
    await page.locator('h1').filter({ hasText: 'storefront' }).locator('.badge', { hasText: 'Drifted' }).waitFor();
    await page.getByRole('button', { name: 'Copy state JSON' }).waitFor();
    await page.getByRole('button', { name: 'Download' }).waitFor();
    await screenshot('service-detail');
  });

  it('the state artifact downloads as JSON with declared, frozen, live, drift and deployments', async () => {
    const [download] = await Promise.all([page.waitForEvent('download'), page.getByRole('button', { name: 'Download' }).click()]);
    assert.equal(download.suggestedFilename(), 'holdfast-shop-storefront-state.json');
    const file = await download.path();
    const artifact = JSON.parse((await import('node:fs')).readFileSync(file, 'utf8'));
    for (const key of ['declared', 'frozen', 'live', 'drift', 'deployments']) assert.ok(key in artifact, `artifact lacks ${key}`);
    assert.equal(artifact.service.name, 'storefront');
    assert.equal(artifact.declared.source.image, 'registry.example/shop/storefront:2.0.1');
  });

  it('changes made through the API appear without a reload (watch)', async () => {
    // A status change on the page being looked at.
    await go('#/services/shop/web');
    await page.locator('h1').filter({ hasText: 'web' }).locator('.badge', { hasText: 'Synced' }).waitFor();
    await setStatus('Service', '/namespaces/shop/services/web', {
      conditions: [condition('Ready', 'True', 'Healthy', '2 of 2 replicas ready'), condition('Drifted', 'True', 'LiveDiffers', '1 field differs from the deployment: ports', 1)],
      drift: { count: 1, liveVsFrozen: 1, declaredVsFrozen: 0, lastCheckedTime: ago(1) },
    });
    await page.locator('h1').filter({ hasText: 'web' }).locator('.badge', { hasText: 'Drifted' }).waitFor({ timeout: 10_000 });

    // The overview counts follow.
    await go('#/');
    await waitForStat('services-drifted', 2);
    await waitForStat('services-synced', 3);

    // A new object, and a deleted one, in the list.
    await go('#/services');
    await page.locator('tr[data-service]').first().waitFor();
    await api('POST', '/namespaces/blog/services', serviceManifest('blog', 'search', { environment: 'production', server: 'edge-1', source: { image: 'registry.example/blog/search:1.0.0' } }));
    await page.locator('tr[data-service="blog/search"]').waitFor({ timeout: 10_000 });
    await api('DELETE', '/namespaces/blog/services/search');
    await page.locator('tr[data-service="blog/search"]').waitFor({ state: 'detached', timeout: 10_000 });

    // A new event on the events page.
    await go('#/events');
    await page.locator('.timeline__item').first().waitFor();
    await event('shop', 'web.healed', { kind: 'Service', namespace: 'shop', name: 'web' }, 'Normal', 'DriftHealed', 'Put ports back as deployed', 0);
    await page.locator('.timeline__item').filter({ hasText: 'DriftHealed' }).waitFor({ timeout: 10_000 });

    assert.equal(await page.evaluate(() => (window as unknown as { __sameDocument?: boolean }).__sameDocument), true, 'the page was reloaded');
  });

  it('servers list and detail show readiness checks, versions and swarm topology', async () => {
    await go('#/servers');
    await page.locator('tr[data-server]').first().waitFor();
    assert.equal(await page.locator('tr[data-server]').count(), 4);
    await page.locator('tr[data-server="db-1"] .badge', { hasText: 'Blocked' }).waitFor();
    await page.locator('tr[data-server="edge-2"] .badge', { hasText: 'Attention' }).waitFor();
    await screenshot('servers');

    await page.locator('a', { hasText: /^swarm-1$/ }).click();
    await page.locator('[data-check="swarm"]').filter({ hasText: 'Pass' }).waitFor();
    await page.getByText('26.1.5').first().waitFor();
    await page.locator('.facts__item', { hasText: 'Role' }).filter({ hasText: 'manager' }).waitFor();
    await screenshot('server-detail');

    await go('#/servers/edge-2');
    await page.locator('[data-check="disk"]').filter({ hasText: 'Warn' }).filter({ hasText: 'Free disk space on the Docker data root' }).waitFor();
  });

  it('events page lists events; the audit log lists the writes made through the API', async () => {
    await go('#/events');
    await page.locator('.timeline__item').filter({ hasText: 'HostKeyMismatch' }).waitFor();
    await page.getByLabel('Warnings only').check();
    assert.equal(await page.locator('.timeline__item--normal').count(), 0);
    await page.getByLabel('Warnings only').uncheck();
    await screenshot('events');

    await page.getByRole('link', { name: 'Audit log' }).click();
    await page.locator('tr[data-audit]').first().waitFor();
    assert.equal(await page.locator('.state--error').count(), 0);
    // Newest first: the event just recorded by the watch test came after the services were created.
    const first = await page.locator('tr[data-audit]').first().innerText();
    assert.match(first, /create/);
    await screenshot('audit');
    await page.getByLabel('Search').fill('service/shop/web');
    await page.locator('tr[data-audit]').filter({ hasText: 'patch-status' }).first().waitFor();
    const objects = await page.locator('tr[data-audit] td[data-label="Object"]').evaluateAll((cells) => cells.map((c) => c.textContent ?? ''));
    assert.ok(objects.length > 0 && objects.every((o) => o === 'service/shop/web'), `search left ${JSON.stringify(objects)}`);
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
      for (const hash of ['#/', '#/services', '#/services/shop/web', '#/servers', '#/servers/edge-1', '#/events']) {
        await go(hash);
        await page.locator('.page').first().waitFor();
        await page.waitForTimeout(200);
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
    const existing = (await api('GET', '/services')).items.length as number;
    await api('POST', '/projects', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: 'load' }, spec: { environments: [{ name: 'production' }] } });
    const names = Array.from({ length: LOAD_SERVICES }, (_, i) => `svc-${String(i).padStart(3, '0')}`);
    for (let i = 0; i < names.length; i += 10) {
      await Promise.all(
        names.slice(i, i + 10).map(async (name, j) => {
          await api('POST', '/namespaces/load/services', serviceManifest('load', name, { environment: 'production', server: 'edge-1', source: { image: `registry.example/load/${name}:1.0.0` } }));
          if ((i + j) % 4 !== 3) await setStatus('Service', `/namespaces/load/services/${name}`, { observedGeneration: 1, replicas: 1, readyReplicas: 1, conditions: [condition('Ready', 'True', 'Healthy', '1 of 1 replicas ready')] });
        }),
      );
    }
    const total = existing + LOAD_SERVICES;

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
    const shown = (await Promise.all(['synced', 'progressing', 'drifted', 'failed'].map((s) => statValue(`services-${s}`)))).reduce((a, b) => a + b, 0);
    const pending = Number((await page.getByText(/not observed yet/).innerText()).match(/\d+/)?.[0] ?? 0);
    assert.equal(shown + pending, total, 'the overview counts every service');
    assert.ok(timing.ready !== undefined, 'the overview never marked itself ready');
    process.stdout.write(
      `overview first paint with ${total} services: ${Math.round(timing.ready!)} ms from navigation to counts on screen ` +
        `(first contentful paint ${Math.round(timing.firstContentfulPaint ?? NaN)} ms, ${wallMs} ms wall clock incl. browser navigation)\n`,
    );
    assert.ok(timing.ready! < FIRST_PAINT_BUDGET_MS, `overview took ${Math.round(timing.ready!)} ms with ${total} services (budget ${FIRST_PAINT_BUDGET_MS} ms)`);
  });

  it('reconnects after the control plane restarts, and keeps following changes', async () => {
    await go('#/');
    await page.locator('[data-ready="true"]').waitFor();
    await page.locator('.live', { hasText: 'Live' }).waitFor();
    const before = await statValue('services-synced');
    const problemsBefore = consoleProblems.length;

    await stopControlPlane(serve.child);
    await page.locator('.live', { hasText: 'Reconnecting' }).waitFor({ timeout: 15_000 });
    restarted = await restartControlPlane();
    // Backoff is capped at 30 s; a restart is seen well within that.
    await page.locator('.live', { hasText: 'Live' }).waitFor({ timeout: 40_000 });

    await api('POST', '/namespaces/shop/services', serviceManifest('shop', 'after-restart', { environment: 'production', server: 'edge-1', source: { image: 'registry.example/shop/after-restart:1.0.0' } }));
    await setStatus('Service', '/namespaces/shop/services/after-restart', { observedGeneration: 1, conditions: [condition('Ready', 'True', 'Healthy', '1 of 1 replicas ready')] });
    await waitForStat('services-synced', before + 1);

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
    if (optionalNotFound.size) process.stdout.write(`endpoints not served yet (designed "not available" states shown): ${[...optionalNotFound].map((p) => p.replace(/\?.*/, '')).sort().filter((p, i, a) => a.indexOf(p) === i).join(', ')}\n`);
    assert.deepEqual(consoleProblems, []);
  });
});
