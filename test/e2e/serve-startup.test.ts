// `holdfast serve` start-up as an operator meets it, with real processes: one server per data
// directory (a second exits naming the first's pid; a `kill -9`ed one blocks nothing), a listener
// that cannot bind ends the process, the data directory's files are the owner's only, the admin
// token is written to its file and never printed, and `--reset-admin-token` makes a new one.
import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import { createServer, type Server } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { runCli } from '../support/cli-process.js';
import { freePort, startServeProcess, type ServeProcess } from '../support/serve-process.js';

const G = '/apis/holdfast.dev/v1alpha1';
const dirs: string[] = [];
const running: ServeProcess[] = [];

function newDataDir(mode = 0o700): string {
  const dir = mkdtempSync(join(tmpdir(), 'holdfast-startup-'));
  chmodSync(dir, mode);
  dirs.push(dir);
  return dir;
}

async function start(dataDir: string, args: string[] = []): Promise<ServeProcess> {
  const serve = await startServeProcess({ dataDir, args });
  running.push(serve);
  return serve;
}

/** A `holdfast serve` expected to exit: its exit code and what it printed. */
const serveOnce = async (dataDir: string, listen?: string) =>
  runCli(['serve', '--data-dir', dataDir, '--listen', listen ?? `127.0.0.1:${await freePort()}`, '--log-level', 'warn'], {}, { timeoutMs: 60_000 });

/** Entries under `dir` that a group or other users may read, write or enter, with their modes. */
function openToOthers(dir: string): string[] {
  const found: string[] = [];
  const visit = (path: string) => {
    const stat = statSync(path);
    if (stat.mode & 0o077) found.push(`${path} ${(stat.mode & 0o777).toString(8)}`);
    if (stat.isDirectory()) for (const name of readdirSync(path)) visit(join(path, name));
  };
  visit(dir);
  return found;
}

const status = async (serve: ServeProcess, token: string, path = `${G}/projects`) =>
  (await fetch(serve.url + path, { headers: { authorization: `Bearer ${token}` } })).status;

describe('holdfast serve start-up', () => {
  after(async () => {
    for (const serve of running) await serve.stop();
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  });

  it('refuses a second server on a data directory in use, naming the first one; a kill -9ed server blocks nothing', async () => {
    const dataDir = newDataDir();
    const first = await start(dataDir);
    const second = await serveOnce(dataDir);
    assert.equal(second.code, 1, second.stderr);
    assert.match(second.stderr, new RegExp(`data directory ${dataDir} is in use by pid ${first.child.pid}`));
    assert.doesNotMatch(second.stderr, /\n\s+at /, 'no stack trace');
    assert.equal(await status(first, first.token), 200, 'the first server keeps serving');

    const exited = new Promise((ok) => first.child.once('exit', ok));
    first.child.kill('SIGKILL');
    await exited;
    const next = await start(dataDir);
    assert.equal(await status(next, next.token), 200, 'a server killed with -9 leaves no lock behind');
    await next.stop();
  });

  it('exits 1 with a clear message, and frees the data directory, when it cannot listen', async () => {
    const dataDir = newDataDir();
    await (await start(dataDir)).stop();
    const blocker: Server = createServer();
    const port = await freePort();
    await new Promise<void>((ok) => blocker.listen(port, '127.0.0.1', ok));
    try {
      const busy = await serveOnce(dataDir, `127.0.0.1:${port}`);
      assert.equal(busy.code, 1, busy.stderr);
      assert.match(busy.stderr, new RegExp(`cannot listen on 127\\.0\\.0\\.1:${port}: the address is already in use`));
    } finally {
      await new Promise((ok) => blocker.close(ok));
    }
    const again = await start(dataDir);
    assert.equal(await status(again, again.token), 200, 'the failed start released the store');
    await again.stop();
  });

  it('leaves nothing under a pre-made 0755 data directory readable or writable by other users', async () => {
    const dataDir = newDataDir(0o755);
    const serve = await start(dataDir);
    assert.deepEqual(openToOthers(dataDir), []);
    await serve.stop();
    // The modes of a directory loosened while stopped are tightened on the next start.
    chmodSync(join(dataDir, 'admin.token'), 0o644);
    chmodSync(join(dataDir, 'pgdata'), 0o755);
    await (await start(dataDir)).stop();
    assert.deepEqual(openToOthers(dataDir), []);
  });

  it('writes the first admin token to a 0600 file and says where, never printing the value', async () => {
    const dataDir = newDataDir();
    const serve = await start(dataDir);
    const file = join(dataDir, 'admin.token');
    assert.equal(statSync(file).mode & 0o777, 0o600);
    assert.ok(!serve.output().includes(serve.token), 'the token value is not in the output');
    assert.match(serve.output(), new RegExp(`created the admin token; it is in ${file}`));
    await serve.stop();
  });

  it('--reset-admin-token revokes the admin token, writes a new one to the file and audits it', async () => {
    const dataDir = newDataDir();
    const first = await start(dataDir);
    const oldToken = first.token;
    // While the server runs on the embedded store, the reset is refused: it needs the store to itself.
    const whileRunning = await runCli(['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${await freePort()}`, '--reset-admin-token'], {});
    assert.equal(whileRunning.code, 1, whileRunning.stderr);
    assert.match(whileRunning.stderr, /is in use by pid \d+/);
    assert.equal(readFileSync(join(dataDir, 'admin.token'), 'utf8').trim(), oldToken, 'the refused reset changed nothing');
    await first.stop();

    const reset = await start(dataDir, ['--reset-admin-token']);
    assert.notEqual(reset.token, oldToken);
    assert.ok(!reset.output().includes(reset.token), 'the new value is not printed');
    assert.match(reset.output(), /reset the admin token; it is in /);
    assert.equal(statSync(join(dataDir, 'admin.token')).mode & 0o777, 0o600);
    assert.equal(await status(reset, oldToken), 401, 'the old admin token no longer works');
    assert.equal(await status(reset, reset.token), 200);
    const audit = await fetch(`${reset.url}${G}/auditlog?kind=Token`, { headers: { authorization: `Bearer ${reset.token}` } }).then((r) => r.json());
    const rows = (audit.items as Array<{ actor: string; verb: string; name: string }>).filter((e) => e.actor === 'system:holdfast serve --reset-admin-token');
    assert.deepEqual(rows.map((e) => `${e.verb} ${e.name}`), ['revoke admin', 'create admin']);
  });
});
