// `holdfast logs service/NAME` with the built CLI against the built `holdfast serve`, on test host 2:
// a crash-looping container's output is readable, replicas are interleaved with a prefix, a follow
// goes on across a rollout (the old and the new container), a 50 MB burst read by a slow client does
// not grow the server's memory, and a token without logs:read is refused.
import assert from 'node:assert/strict';
import { execFileSync, spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { request } from 'node:http';
import { after, before, describe, it } from 'node:test';
import { chromium } from 'playwright-core';
import { packageRoot } from '../../core/package-root.js';
import { CLI_PATH, runCli } from '../support/cli-process.js';
import { declareTestServer, serveApi, startServeProcess, type ServeApi, type ServeProcess } from '../support/serve-process.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../support/testhosts.js';
import { until } from '../support/until.js';

const API = '/apis/holdfast.dev/v1alpha1';
const PROJECT = 'logbook';

const service = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name, namespace: PROJECT },
  spec: { environment: 'production', server: 'edge', source: { image: 'holdfast-test/busybox:1' }, ...spec },
});

const TICKER = ['sh', '-c', 'i=0; while true; do echo "tick $i $VERSION"; i=$((i+1)); sleep 0.2; done'];
// 50 MiB of numbered 100-character lines as fast as the engine takes them, then idle. A compose
// source, for a log size limit above the test hosts' default (json-file, 2 files of 10m).
const FLOOD_LINES = 524_288;
const FLOOD_SOURCE = {
  compose: {
    inline: {
      services: {
        flood: {
          image: 'holdfast-test/busybox:1',
          command: ['sh', '-c', `awk 'BEGIN { for (i = 1; i <= ${FLOOD_LINES}; i++) printf "%08d%92s\\n", i, "" }'; echo flood-done; exec sleep 3600`],
          logging: { driver: 'json-file', options: { 'max-size': '200m' } },
        },
      },
    },
  },
};
const FLOOD_CONTAINER = `hf_${PROJECT}_production_flood_flood_1`;

describe('holdfast logs service/NAME against holdfast serve', () => {
  let serve: ServeProcess;
  let api: ServeApi['call'];
  let create: ServeApi['create'];
  let host: TestHost;
  let env: Record<string, string>;
  const holdfast = (...args: string[]) => runCli(args, env);

  const containerRunning = (name: string) => async () => {
    const names = await hostDocker(host, 'ps', '--filter', `name=^${name}$`, '--format', '{{.Names}}');
    return names === name ? true : undefined;
  };

  before(async () => {
    serve = await startServeProcess();
    ({ call: api, create } = serveApi(serve));
    env = { HOLDFAST_URL: serve.url, HOLDFAST_DATA_DIR: serve.dataDir };
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    await declareTestServer(serve, 'edge', host);
    await create('/projects', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: PROJECT }, spec: { environments: [{ name: 'production' }] } });
    await create(`/namespaces/${PROJECT}/services`, service('crash', { command: ['sh', '-c', 'echo boom; echo oops >&2; exit 3'] }));
    await create(`/namespaces/${PROJECT}/services`, service('ticker', { command: TICKER, replicas: 2, env: [{ name: 'VERSION', value: 'v1' }] }));
  });

  after(async () => {
    await serve?.stop();
    // The Services' containers go with the test: nothing of this project stays on the host.
    const ids = host ? (await hostDocker(host, 'ps', '-aq', '--filter', `label=holdfast.dev/project=${PROJECT}`).catch(() => '')).split('\n').filter(Boolean) : [];
    if (ids.length) await hostDocker(host, 'rm', '-f', ...ids).catch(() => undefined);
  });

  it("reads a crash-looping container's stdout and stderr", async () => {
    const res = await until('the crash output', async () => {
      const run = await holdfast('logs', 'service/crash', '-n', PROJECT);
      return run.code === 0 && run.stdout.includes('boom') && run.stdout.includes('oops') ? run : undefined;
    });
    assert.equal(res.stderr, '');
    assert.ok(res.stdout.split('\n').every((line) => line === '' || line === 'boom' || line === 'oops'), res.stdout);

    const tail = await holdfast('logs', 'service/crash', '-n', PROJECT, '--tail', '1', '--timestamps');
    assert.equal(tail.code, 0, tail.stderr);
    assert.match(tail.stdout, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d\.\d+Z (boom|oops)\n$/);
  });

  it('interleaves replicas with a [service-N] prefix, and reads one replica alone', async () => {
    await until('both ticker replicas', containerRunning(`hf_${PROJECT}_production_ticker_2`));
    // The second replica may have started moments ago: wait until each has printed three lines,
    // so --tail 3 has three of each to give.
    const both = await until('three lines of each replica', async () => {
      const run = await holdfast('logs', 'service/ticker', '-n', PROJECT, '--tail', '3');
      const count = (replica: string) => run.stdout.split('\n').filter((l) => l.startsWith(`[${replica}] tick`)).length;
      return count('ticker-1') >= 3 && count('ticker-2') >= 3 ? run : undefined;
    });
    const lines = both.stdout.trimEnd().split('\n');
    assert.equal(lines.length, 6, both.stdout);
    assert.ok(lines.every((l) => /^\[ticker-[12]\] tick \d+ v1$/.test(l)), both.stdout);

    const one = await holdfast('logs', 'service/ticker', '-n', PROJECT, '--replica', '2', '--tail', '2');
    assert.equal(one.code, 0, one.stderr);
    assert.match(one.stdout, /^tick \d+ v1\ntick \d+ v1\n$/);

    const none = await holdfast('logs', 'service/ticker', '-n', PROJECT, '--replica', '3');
    assert.equal(none.code, 1);
    assert.match(none.stderr, /service logbook\/ticker replica 3 has no container on its server: it runs ticker-1, ticker-2/);
  });

  it('follows across a rollout: the old container, then the new one', async () => {
    const child = spawn(process.execPath, [CLI_PATH, 'logs', 'service/ticker', '-n', PROJECT, '--replica', '1', '--tail', '0', '-f'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    let out = '';
    let err = '';
    child.stdout.on('data', (d) => (out += d));
    child.stderr.on('data', (d) => (err += d));
    const exited = new Promise<number | null>((ok) => child.once('close', (code) => ok(code)));
    try {
      await until('a followed line of v1', async () => (/tick \d+ v1\n/.test(out) ? true : undefined), 30_000);
      const patched = await api('PATCH', `/namespaces/${PROJECT}/services/ticker`, { spec: { env: [{ name: 'VERSION', value: 'v2' }] } });
      assert.equal(patched.status, 200, patched.text);
      await until('a followed line of v2', async () => (/tick \d+ v2\n/.test(out) ? true : undefined), 90_000);
      assert.ok(out.indexOf(' v1\n') < out.indexOf(' v2\n'), 'the old container first, then the new one');
    } finally {
      child.kill('SIGINT');
    }
    assert.equal(await exited, 0, err);
  });

  it('holds a 50 MB burst back for a slow reader instead of buffering it', async () => {
    await create(`/namespaces/${PROJECT}/services`, service('flood', { source: FLOOD_SOURCE }));
    await until('the flood container', containerRunning(FLOOD_CONTAINER));
    // Let the container write it all to its log first: the burst is then as fast as the engine reads.
    await until('the flood written', async () => {
      const last = await hostDocker(host, 'logs', '--tail', '1', FLOOD_CONTAINER);
      return last.includes('flood-done') ? true : undefined;
    }, 120_000);

    const rss = () => Number(/VmRSS:\s+(\d+) kB/.exec(readFileSync(`/proc/${serve.child.pid}/status`, 'utf8'))![1]) * 1024;
    const before = rss();
    let peak = before;
    let pausedPeak = before;
    let received = 0;
    const chunks: Buffer[] = [];
    const url = new URL(`${serve.url}${API}/namespaces/${PROJECT}/services/flood/log`);
    await new Promise<void>((ok, fail) => {
      const req = request(url, { headers: { authorization: `Bearer ${serve.token}` } }, (res) => {
        assert.equal(res.statusCode, 200);
        // Read nothing for 5 s: the server must not take the whole log into memory meanwhile.
        res.pause();
        const sampler = setInterval(() => (peak = Math.max(peak, rss())), 100);
        setTimeout(() => {
          pausedPeak = peak;
          res.on('data', (chunk: Buffer) => {
            received += chunk.length;
            chunks.push(chunk);
          });
          res.on('end', () => {
            clearInterval(sampler);
            ok();
          });
          res.resume();
        }, 5000);
      });
      req.on('error', fail);
      req.end();
    });
    const body = Buffer.concat(chunks).toString('utf8');
    const lines = body.trimEnd().split('\n');
    assert.equal(lines.pop(), 'flood-done');
    assert.equal(lines.length, FLOOD_LINES, `every line arrives (${received} bytes)`);
    lines.forEach((line, i) => {
      if (line.length !== 100 || Number(line.slice(0, 8)) !== i + 1) assert.fail(`line ${i + 1} is "${line.slice(0, 20)}…" (${line.length} characters)`);
    });
    const mib = (bytes: number) => Math.round(bytes / 1048576);
    console.log(`# rss before ${mib(before)} MiB, ${mib(pausedPeak)} MiB at most while the reader held back, ${mib(peak)} MiB at most while it read ${mib(received)} MiB`);
    assert.ok(pausedPeak - before < 24 * 1048576, `the server grew by ${mib(pausedPeak - before)} MiB while a reader held back 50 MiB`);
    assert.ok(peak - before < 64 * 1048576, `the server grew by ${mib(peak - before)} MiB while a reader read 50 MiB`);
  });

  it('shows the logs live on the dashboard, with pause and a replica filter', async () => {
    // Build the dashboard from the sources under test, so a stale dist cannot pass.
    execFileSync('npm', ['run', '--silent', 'build:dashboard'], { cwd: packageRoot(), stdio: 'pipe', timeout: 120_000 });
    const userDataDir = mkdtempSync(join(tmpdir(), 'holdfast-chromium-'));
    const context = await chromium.launchPersistentContext(userDataDir, {
      executablePath: '/usr/bin/chromium',
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--disable-quic', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 60_000,
    });
    try {
      const page = context.pages()[0] ?? (await context.newPage());
      page.setDefaultTimeout(20_000);
      await page.goto(serve.url + '/');
      await page.getByRole('button', { name: 'Use an API token instead' }).click();
      await page.getByLabel('API token').fill(serve.token);
      await page.getByRole('button', { name: 'Sign in' }).click();
      await page.locator('[data-ready="true"]').waitFor();
      await page.goto(`${serve.url}/#/services/${PROJECT}/ticker`);
      const logs = page.getByTestId('container-logs');
      const log = logs.locator('pre');
      const text = () => log.textContent().then((t) => t ?? '');
      await until('both replicas on the page', async () => ((await text()).includes('[ticker-1] tick') && (await text()).includes('[ticker-2] tick') ? true : undefined), 30_000);
      await logs.getByRole('status').filter({ hasText: 'Following live' }).waitFor();

      await logs.getByRole('button', { name: 'Pause' }).click();
      const held = await text();
      await new Promise((ok) => setTimeout(ok, 1500));
      assert.equal(await text(), held, 'a paused view holds still');
      await logs.getByRole('status').filter({ hasText: /Paused: \d+ newer lines held back/ }).waitFor();
      await logs.getByRole('button', { name: 'Resume' }).click();
      await until('new lines after resume', async () => ((await text()).length > held.length ? true : undefined), 10_000);

      await logs.getByLabel('Replica').selectOption('ticker-2');
      const one = (await text()).split('\n');
      assert.ok(one.length > 0 && one.every((l) => /^tick \d+ v2$/.test(l)), one.slice(0, 3).join(' | '));
    } finally {
      await context.close().catch(() => {});
      rmSync(userDataDir, { recursive: true, force: true });
    }
  });

  it('refuses a token without logs:read', async () => {
    const created = await api('POST', '/tokens', { name: 'reader', scopes: ['service:read'] });
    assert.equal(created.status, 201, created.text);
    const token = (JSON.parse(created.text) as { token: string }).token;
    const refused = await api('GET', `/namespaces/${PROJECT}/services/crash/log`, undefined, token);
    assert.equal(refused.status, 403, refused.text);
    assert.match(refused.text, /logs:read/);
  });
});
