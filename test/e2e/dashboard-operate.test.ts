// The dashboard's operating views in Debian's Chromium against the built `holdfast serve` on test
// host 2: the server page shows the host's resources as the API holds them (memory, load, free
// disk and its trend, Docker's disk use); the browser terminal (xterm.js over the exec and shell
// WebSockets) runs a shell in a replica and on the server and shows the exit code; a token without
// terminal:open is offered no terminal and is refused at the WebSocket upgrade.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import type { Page } from 'playwright-core';
import { WebSocket } from 'ws';
import { packageRoot } from '../../core/package-root.js';
import { bearerProtocol, CHANNEL_PROTOCOL_V5 } from '../../core/terminal/channel-protocol.js';
import type { Server } from '../../dashboard/src/api/types.js';
import { formatBytes } from '../../dashboard/src/model/time.js';
import { launchBrowser, signInWithToken, type Browser } from '../support/browser.js';
import { createFleet } from '../support/fleet.js';
import { serveApi, startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../support/testhosts.js';
import { until } from '../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PROJECT = 'ops-console';
const SERVER = 'edge';
const SERVICE = 'toolbox';

describe('dashboard: host resources and the browser terminal', { timeout: 600_000 }, () => {
  let serve: ServeProcess;
  let host: TestHost;
  let browser: Browser;
  let page: Page;
  let readerToken: string;

  // The whole path; `serve` is started in before().
  const call = (method: string, path: string, body?: unknown) => serveApi(serve).request(method, path, body);

  const signIn = (p: Page, token: string) => signInWithToken(p, serve.url, token);

  const go = (p: Page, hash: string) => p.evaluate((h) => (window.location.hash = h), hash);

  /** The terminal's screen as text, one line per row. */
  const screen = (p: Page) => p.locator('[data-testid="terminal"] .xterm-rows').innerText();

  /** Waits until the terminal shows `pattern`; the error shows what it showed instead. */
  async function untilScreen(p: Page, pattern: RegExp, what: string) {
    let last = '';
    await until(what, async () => {
      last = await screen(p);
      return pattern.test(last) ? true : undefined;
    }, 45_000).catch((err) => {
      throw new Error(`${(err as Error).message}; the terminal shows: ${JSON.stringify(last)}`);
    });
  }

  async function typeInTerminal(p: Page, text: string) {
    await p.locator('[data-testid="terminal"] .xterm-helper-textarea').focus();
    await p.keyboard.type(text);
    await p.keyboard.press('Enter');
  }

  before(async () => {
    execFileSync('npm', ['run', '--silent', 'build:dashboard'], { cwd: packageRoot(), stdio: 'pipe', timeout: 120_000 });
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    serve = await startServeProcess({ env: { SERVER_READINESS_POLL_INTERVAL_MS: '3000' } });
    await createFleet({ call }, host, { project: PROJECT, server: SERVER });
    const created = await call('POST', `${G}/namespaces/${PROJECT}/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: SERVICE, namespace: PROJECT },
      spec: { environment: 'production', server: SERVER, source: { image: 'holdfast-test/busybox:1' }, command: ['sleep', '86400'] },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    // Everything a reader looks at on these pages, but no terminal.
    const reader = await call('POST', `${G}/tokens`, { name: 'reader', scopes: ['project:read', 'service:read', 'deploy:read', 'server:read', 'event:read', 'logs:read', 'audit:read'] });
    assert.equal(reader.status, 201, JSON.stringify(reader.body));
    readerToken = reader.body.token;
    await until('the toolbox container running', async () => {
      const names = await hostDocker(host, 'ps', '--filter', `label=holdfast.dev/project=${PROJECT}`, '--format', '{{.Names}}');
      return names.includes(SERVICE) ? true : undefined;
    });

    browser = await launchBrowser();
    page = browser.page;
    await signIn(page, serve.token);
  });

  after(async () => {
    await browser?.close();
    await serve?.stop();
    const ids = host ? (await hostDocker(host, 'ps', '-aq', '--filter', `label=holdfast.dev/project=${PROJECT}`).catch(() => '')).split('\n').filter(Boolean) : [];
    if (ids.length) await hostDocker(host, 'rm', '-f', ...ids).catch(() => undefined);
  });

  it("shows the server's memory, load, free disk and Docker's disk use as the API holds them", async () => {
    await go(page, `#/servers/${SERVER}`);
    const text = (selector: string) => page.locator(selector).innerText();
    let shown: Record<string, string> = {};
    let expected: Record<string, string> = {};
    // Figures change with every reading: compare what the page shows with the status of the moment.
    await until('the host resources to match the API', async () => {
      const r = ((await call('GET', `${G}/servers/${SERVER}`)).body as Server).status?.resources;
      // The first readings may predate the toolbox container: wait for one that counts it.
      if (!r?.dockerDisk || r.memoryAvailableBytes === undefined || !(r.dockerDisk.containers?.count! >= 1)) return undefined;
      expected = {
        memory: `${formatBytes(r.memoryAvailableBytes)} of ${formatBytes(r.memoryBytes)}`,
        load: r.load1!.toFixed(2),
        diskFree: formatBytes(r.diskFreeBytes),
        images: String(r.dockerDisk.images!.count),
        imagesSize: formatBytes(r.dockerDisk.images!.sizeBytes),
        containers: String(r.dockerDisk.containers!.count),
      };
      shown = {
        memory: await text('[data-resource="memory"]'),
        load: await text('[data-resource="load"]'),
        diskFree: await text('[data-resource="disk-free"]'),
        images: await text('[data-docker-disk="images"] [data-field="count"]'),
        imagesSize: await text('[data-docker-disk="images"] [data-field="size"]'),
        containers: await text('[data-docker-disk="containers"] [data-field="count"]'),
      };
      return JSON.stringify(shown) === JSON.stringify(expected) ? true : undefined;
    }, 30_000).catch(() => assert.deepEqual(shown, expected));
    assert.ok(Number(shown.images) > 0, 'the test host has images');
    assert.ok(Number(shown.containers) >= 1, 'the toolbox container is counted');
    for (const kind of ['volumes', 'buildCache']) await page.locator(`[data-docker-disk="${kind}"]`).waitFor();
    assert.match(await text('[data-resource="disk-trend"]'), /^(one sample so far|[-+][\d.]+ \w+ in \d+)/);
  });

  it('opens a shell in a replica: what is typed runs, and the exit code is shown', async () => {
    await go(page, `#/services/${PROJECT}/${SERVICE}`);
    await page.getByRole('button', { name: 'Open a shell in a replica' }).click();
    await page.locator('[data-testid="terminal"][data-phase="open"]').waitFor();
    await untilScreen(page, /[#$]\s*$/m, 'the shell prompt');
    await typeInTerminal(page, 'echo $((6*7))');
    // The command line shows 6*7; only the shell's answer is 42 on a line of its own.
    await untilScreen(page, /^42\s*$/m, '42 on the terminal');
    await typeInTerminal(page, 'exit 3');
    await page.locator('[data-testid="terminal"][data-phase="ended"]').waitFor();
    assert.equal(await page.getByTestId('terminal-status').innerText().then((t) => t.replace(/\s*Open another$/, '')), 'The shell exited with code 3.');
    // The session is on the Service's events, with who opened it and how it ended.
    const events = await until('the exec session event', async () => {
      const list = (await call('GET', `${G}/namespaces/${PROJECT}/events?fieldSelector=involvedObject.name%3D${SERVICE}`)).body.items as Array<{ reason: string; message: string }>;
      return list.find((e) => e.reason === 'ExecSession');
    });
    assert.match(events.message, /exit code 3/);
    // And on the events timeline, with the rest of what happened.
    await go(page, '#/events');
    await page.getByText('ExecSession').first().waitFor();
  });

  it('opens a shell on the server', async () => {
    await go(page, `#/servers/${SERVER}`);
    await page.getByRole('button', { name: 'Open a shell on the server' }).click();
    await page.locator('[data-testid="terminal"][data-phase="open"]').waitFor();
    await untilScreen(page, /[#$]\s*$/m, 'the login shell prompt');
    await typeInTerminal(page, 'echo host-$((6*7))');
    await untilScreen(page, /^host-42\s*$/m, 'host-42 on the terminal');
    await typeInTerminal(page, 'exit');
    await page.locator('[data-testid="terminal"][data-phase="ended"]').waitFor();
    assert.match(await page.getByTestId('terminal-status').innerText(), /^The shell exited with code 0\./);
  });

  it('offers no terminal to a token without terminal:open, and the WebSocket refuses it', async () => {
    // Browsers keep a few connections per host: the first page's watch streams are closed first.
    await page.goto('about:blank');
    const other = await browser.newPage();
    try {
      await signIn(other, readerToken);
      for (const hash of [`#/services/${PROJECT}/${SERVICE}`, `#/servers/${SERVER}`]) {
        await go(other, hash);
        await other.getByTestId('terminal-refused').waitFor();
        assert.match(await other.getByTestId('terminal-refused').innerText(), /needs the terminal:open scope/);
        assert.equal(await other.getByRole('button', { name: /Open a shell/ }).count(), 0);
      }
    } finally {
      await other.close();
    }
    // What a page that tried anyway would meet: a 403 Status at the upgrade, never a socket.
    const url = `${serve.url.replace(/^http/, 'ws')}${G}/namespaces/${PROJECT}/services/${SERVICE}/exec?command=sh&stdin=true&tty=true`;
    const refused = await new Promise<number>((resolve, reject) => {
      const ws = new WebSocket(url, [CHANNEL_PROTOCOL_V5, bearerProtocol(readerToken)]);
      ws.on('unexpected-response', (_req, res) => resolve(res.statusCode ?? 0));
      ws.on('open', () => reject(new Error('the socket opened for a token without terminal:open')));
      ws.on('error', () => undefined);
    });
    assert.equal(refused, 403);
  });

  it('logged no errors in the browser console', () => {
    assert.deepEqual(browser.consoleProblems, []);
  });
});
