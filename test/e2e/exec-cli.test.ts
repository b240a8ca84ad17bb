// `holdfast exec` and `holdfast ssh` with the built CLI against the built `holdfast serve`, on test
// host 2: a shell in a Service's container through a real pseudo-terminal (script(1)) returns its
// exit code, sees the window size and its changes, gets Ctrl-C; plain pipes work for scripts; a
// token without terminal:open is refused by the CLI and at the WebSocket upgrade; sessions are
// audited and on the Service's events; an idle session ends.
import assert from 'node:assert/strict';
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { WebSocket } from 'ws';
import { bearerProtocol, CHANNEL_PROTOCOL_V5 } from '../../core/terminal/channel-protocol.js';
import { CLI_PATH, runCli } from '../support/cli-process.js';
import { declareTestServer, serveApi, startServeProcess, type ServeApi, type ServeProcess } from '../support/serve-process.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../support/testhosts.js';
import { until } from '../support/until.js';

const API = '/apis/holdfast.dev/v1alpha1';
const PROJECT = 'ops';
const IDLE_SECONDS = 6;

/** The CLI on a pseudo-terminal of its own (script(1)), its terminal's name written to `ttyFile`. */
class OnTerminal {
  readonly child: ChildProcessWithoutNullStreams;
  output = '';
  readonly exited: Promise<number | null>;

  constructor(args: string[], env: Record<string, string>, ttyFile: string, size = { rows: 30, cols: 90 }) {
    const quoted = [process.execPath, CLI_PATH, ...args].map((a) => `'${a.replace(/'/g, `'\\''`)}'`).join(' ');
    this.child = spawn('script', ['-qec', `stty rows ${size.rows} cols ${size.cols}; tty > ${ttyFile}; exec ${quoted}`, '/dev/null'], {
      env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', TERM: 'xterm', ...env },
    });
    this.child.stdout.on('data', (d) => (this.output += d));
    this.child.stderr.on('data', (d) => (this.output += d));
    this.exited = new Promise((ok) => this.child.once('close', (code) => ok(code)));
  }

  type(text: string): void {
    this.child.stdin.write(text);
  }

  async waitFor(pattern: RegExp, what: string): Promise<RegExpMatchArray> {
    return until(what, async () => pattern.exec(this.output) ?? undefined, 30_000, 100).catch((err) => {
      throw new Error(`${(err as Error).message}; the terminal shows: ${JSON.stringify(this.output)}`);
    });
  }
}

describe('holdfast exec and ssh against holdfast serve', () => {
  let serve: ServeProcess;
  let api: ServeApi['call'];
  let create: ServeApi['create'];
  let host: TestHost;
  let env: Record<string, string>;
  let work: string;
  let readerToken: string;
  const holdfast = (args: string[], input?: string) => runCli(args, env, { input });

  before(async () => {
    work = mkdtempSync(join(tmpdir(), 'holdfast-exec-'));
    serve = await startServeProcess({ env: { HOLDFAST_TERMINAL_IDLE_TIMEOUT_SECONDS: String(IDLE_SECONDS) } });
    env = { HOLDFAST_URL: serve.url, HOLDFAST_DATA_DIR: serve.dataDir };
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    ({ call: api, create } = serveApi(serve));
    await declareTestServer(serve, 'edge', host);
    await create('/projects', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: PROJECT }, spec: { environments: [{ name: 'production' }] } });
    await create(`/namespaces/${PROJECT}/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'toolbox', namespace: PROJECT },
      spec: { environment: 'production', server: 'edge', source: { image: 'holdfast-test/busybox:1' }, command: ['sleep', '3600'] },
    });
    const reader = await holdfast(['token', 'create', '--name', 'reader', '--scopes', 'service:read,server:read,logs:read']);
    assert.equal(reader.code, 0, reader.stderr);
    readerToken = reader.stdout.trim().split('\n').pop()!.trim();
    await until('the toolbox container running', async () => {
      const names = await hostDocker(host, 'ps', '--filter', `label=holdfast.dev/project=${PROJECT}`, '--format', '{{.Names}}');
      return names.includes('toolbox') ? true : undefined;
    });
  });

  after(async () => {
    await serve?.stop();
    const ids = host ? (await hostDocker(host, 'ps', '-aq', '--filter', `label=holdfast.dev/project=${PROJECT}`).catch(() => '')).split('\n').filter(Boolean) : [];
    if (ids.length) await hostDocker(host, 'rm', '-f', ...ids).catch(() => undefined);
    if (work) rmSync(work, { recursive: true, force: true });
  });

  it('runs a shell on a terminal: its exit code, the window size and its changes, Ctrl-C', async () => {
    const ttyFile = join(work, 'tty-1');
    const term = new OnTerminal(['exec', '-it', 'service/toolbox', '-n', PROJECT, '--', 'sh'], env, ttyFile);
    await term.waitFor(/[#$] /, 'the shell prompt');
    term.type('stty size\r');
    await term.waitFor(/^30 90\r?$/m, 'the starting size inside the container');

    // The terminal changes size: the kernel tells the CLI (SIGWINCH), the CLI tells the container.
    const { execFileSync } = await import('node:child_process');
    execFileSync('stty', ['-F', readFileSync(ttyFile, 'utf8').trim(), 'rows', '50', 'cols', '120']);
    await new Promise((ok) => setTimeout(ok, 500));
    term.type('stty size\r');
    await term.waitFor(/^50 120\r?$/m, 'the new size inside the container');

    // Ctrl-C reaches the process in the container, not the CLI.
    term.type('sleep 30; echo slept\r');
    await new Promise((ok) => setTimeout(ok, 700));
    term.type('\x03');
    term.type('echo after-$((40+2))\r');
    await term.waitFor(/^after-42\r?$/m, 'the shell after Ctrl-C');
    assert.doesNotMatch(term.output, /^slept/m);

    term.type('echo pid=$$; exit 3\r');
    await term.waitFor(/^pid=\d+\r?$/m, 'the shell pid');
    assert.equal(await term.exited, 3, term.output);
  });

  it('works with plain pipes for scripts: stdin to the command, its stdout and stderr, its exit code', async () => {
    const run = await holdfast(['exec', '-i', 'service/toolbox', '-n', PROJECT, '--', 'sh', '-c', 'cat; echo warn >&2; exit 4'], 'line one\nline two\n');
    assert.equal(run.code, 4, run.stderr);
    assert.equal(run.stdout, 'line one\nline two\n');
    assert.equal(run.stderr, 'warn\n');

    const ok = await holdfast(['exec', 'service/toolbox', '-n', PROJECT, '--', 'echo', 'hello']);
    assert.deepEqual([ok.code, ok.stdout, ok.stderr], [0, 'hello\n', '']);

    const none = await holdfast(['exec', 'service/toolbox', '-n', PROJECT, '--replica', '2', '--', 'true']);
    assert.equal(none.code, 1);
    assert.match(none.stderr, /service ops\/toolbox replica 2 has no container on its server: it runs toolbox-1/);
  });

  it('opens a shell on the server over the kept connection (holdfast ssh)', async () => {
    const run = await holdfast(['ssh', 'server/edge'], 'echo "on $(id -un)"; exit 5\n');
    assert.equal(run.code, 5, run.stderr);
    assert.match(run.stdout, new RegExp(`^on ${host.user}$`, 'm'));

    const ttyFile = join(work, 'tty-2');
    const term = new OnTerminal(['ssh', 'server/edge'], env, ttyFile, { rows: 33, cols: 77 });
    // Typed before the remote shell is up, the line is echoed by the local terminal and may never reach it.
    await term.waitFor(/[#$] /, 'the shell prompt');
    term.type('stty size; exit 0\r');
    await term.waitFor(/^33 77\r?$/m, 'the terminal size on the server');
    assert.equal(await term.exited, 0, term.output);
  });

  it('refuses a token without terminal:open, in the CLI and at the WebSocket upgrade', async () => {
    const refused = await runCli(['exec', 'service/toolbox', '-n', PROJECT, '--', 'true'], { ...env, HOLDFAST_TOKEN: readerToken });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Forbidden.*needs terminal:open/);
    const ssh = await runCli(['ssh', 'server/edge'], { ...env, HOLDFAST_TOKEN: readerToken });
    assert.match(ssh.stderr, /Forbidden.*needs terminal:open/);

    // A browser's way in: the token as a subprotocol. Refused before any socket is opened.
    const wsUrl = `${serve.url.replace(/^http/, 'ws')}${API}/namespaces/${PROJECT}/services/toolbox/exec?command=true`;
    const answer = (token: string | undefined) =>
      new Promise<number>((ok, fail) => {
        const ws = new WebSocket(wsUrl, [CHANNEL_PROTOCOL_V5, ...(token ? [bearerProtocol(token)] : [])]);
        ws.once('open', () => {
          ws.terminate();
          ok(101);
        });
        ws.once('unexpected-response', (_req, res) => ok(res.statusCode ?? 0));
        ws.once('error', fail);
      });
    assert.equal(await answer(readerToken), 403);
    assert.equal(await answer(undefined), 401);
    assert.equal(await answer(serve.token), 101);

    const plain = await fetch(wsUrl.replace(/^ws/, 'http'), { headers: { authorization: `Bearer ${serve.token}` } });
    assert.equal(plain.status, 400);
    assert.match(((await plain.json()) as { message: string }).message, /Upgrade request required/);
  });

  it('audits every session and shows it on the Service events', async () => {
    const audit = await until('the exec audit rows', async () => {
      const res = await api('GET', `/auditlog?kind=Service&name=toolbox`);
      const rows = (res.body.items as Array<{ verb: string; actor: string; message?: string }>).filter((r) => r.verb === 'exec');
      return rows.some((r) => /exit code 3/.test(r.message ?? '')) ? rows : undefined;
    });
    assert.ok(audit.every((r) => r.actor === 'token:admin'));
    assert.ok(audit.some((r) => /^opened: exec sh in container hf_ops_production_toolbox_1 on server edge$/.test(r.message ?? '')), JSON.stringify(audit));
    assert.ok(audit.some((r) => /^ended after [\d.]+ s with exit code 3 \(exec sh in container hf_ops_production_toolbox_1 on server edge, opened \d{4}-/.test(r.message ?? '')), JSON.stringify(audit));

    const shell = await api('GET', `/auditlog?kind=Server&name=edge`);
    assert.ok((shell.body.items as Array<{ verb: string; message?: string }>).some((r) => r.verb === 'shell' && /exit code 5/.test(r.message ?? '')));

    const events = await until('the ExecSession event', async () => {
      const res = await api('GET', `/namespaces/${PROJECT}/events`);
      const found = (res.body.items as Array<{ reason: string; message: string; involvedObject: { name: string } }>).filter((e) => e.reason === 'ExecSession');
      return found.some((e) => /exit code 4/.test(e.message)) ? found : undefined;
    });
    assert.ok(events.every((e) => e.involvedObject.name === 'toolbox'));
  });

  it('ends a session that stays idle', async () => {
    const started = Date.now();
    const run = await runCli(['exec', 'service/toolbox', '-n', PROJECT, '--', 'sleep', '120'], env, { timeoutMs: 60_000 });
    const seconds = (Date.now() - started) / 1000;
    assert.equal(run.code, 1, run.stderr);
    assert.match(run.stderr, new RegExp(`no input or output for ${IDLE_SECONDS} s`));
    assert.ok(seconds >= IDLE_SECONDS && seconds < IDLE_SECONDS + 15, `ended after ${seconds} s`);
  });
});
