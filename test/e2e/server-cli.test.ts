// The server inventory from the CLI against a running server and the real test hosts: server add
// (key moved into the inventory, readiness returned), access-assets ssh-key list/attach/detach/
// rotate/delete, describe server with its resources, a `local` server on an engine reached without SSH, and a wrong key's clear report.
import assert from 'node:assert/strict';
import { execFile, execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { packageRoot } from '../../core/package-root.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { loadTestHosts, testHost, type TestHost } from '../support/testhosts.js';
import { until } from '../support/until.js';

const run = promisify(execFile);

describe('server inventory from the CLI', () => {
  let serve: ServeProcess;
  let host: TestHost;
  let keys: string;
  const cli = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [join(packageRoot(), 'bin', 'holdfast.js'), ...args], {
        env: { ...process.env, HOLDFAST_URL: serve.url, HOLDFAST_TOKEN: serve.token },
        timeout: 120_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  before(async () => {
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    keys = mkdtempSync(join(tmpdir(), 'holdfast-keys-'));
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(keys, 'stranger')]);
    serve = await startServeProcess({ env: { SERVER_READINESS_POLL_INTERVAL_MS: '2000' } });
  });
  after(async () => {
    await serve?.stop();
    rmSync(keys, { recursive: true, force: true });
  });

  it('adds a server from a key file and reports it ready', async () => {
    const res = await cli('server', 'add', '--name', 'edge-1', '--host', host.address, '--ssh-user', host.user, '--ssh-key', host.privateKeyPath, '--yes', '--json');
    assert.equal(res.code, 0, res.stderr + res.stdout);
    const out = JSON.parse(res.stdout);
    assert.equal(out.ok, true);
    assert.equal(out.data.server.readiness, 'ready');
    assert.equal(out.data.server.sshReachable, true);
    assert.match(out.data.server.dockerVersion, /^\d+\./);
    const list = await cli('access-assets', 'ssh-key', 'list', '--json');
    const sshKeys = JSON.parse(list.stdout).data.sshKeys;
    assert.equal(sshKeys.length, 1, 'the raw key moved into the inventory');
    assert.equal(sshKeys[0].name, 'edge-1-ssh');
    assert.deepEqual(sshKeys[0].servers, ['edge-1']);
    assert.doesNotMatch(list.stdout, /PRIVATE KEY/);
  });

  it("describes the server's memory, load, free disk and Docker's disk use", async () => {
    await until('the resources of edge-1 to be measured', async () => {
      const res = await cli('get', 'server', 'edge-1', '-o', 'json');
      return JSON.parse(res.stdout).status?.resources?.dockerDisk ? true : undefined;
    });
    const res = await cli('describe', 'server', 'edge-1');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^Resources:\n {2}CPUs: +\d+\n {2}Memory: +[\d.]+ \w+ available of [\d.]+ \w+\n {2}Load \(1 min\): +[\d.]+\n {2}Disk Free: +[\d.]+ \w+/m);
    assert.match(res.stdout, /^ {4}TYPE +TOTAL +SIZE +RECLAIMABLE\n {4}Images +\d+ +[\d.]+ \w+ +[\d.]+ \w+/m);
    assert.match(res.stdout, /^ {4}Build Cache +\d+/m);
    // The samples behind the trend are in the object, not in the description.
    assert.doesNotMatch(res.stdout, /Disk Free History|Memory Available Bytes/);
  });

  it('reuses a stored key with the same fingerprint for a second server', async () => {
    const res = await cli('server', 'add', '--name', 'edge-1b', '--host', host.address, '--ssh-user', host.user, '--ssh-key', host.privateKeyPath, '--yes');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /sshkey\.holdfast\.dev\/edge-1-ssh reused \(same fingerprint\)/);
  });

  it('reports a key the host refuses, with what to do', async () => {
    const created = await cli('access-assets', 'ssh-key', 'create', '--name', 'stranger', '--private-key-file', join(keys, 'stranger'));
    assert.equal(created.code, 0, created.stderr);
    const attached = await cli('access-assets', 'ssh-key', 'attach', '--key', 'stranger', '--server', 'edge-1b');
    assert.equal(attached.code, 0, attached.stderr);
    const deadline = Date.now() + 30_000;
    let doctor: { data: { failingChecks: Array<{ serverName: string; check: string; message: string; recommendedAction: string }> } } | undefined;
    while (Date.now() < deadline) {
      const res = await cli('doctor', '--json');
      doctor = JSON.parse(res.stdout);
      if (doctor!.data.failingChecks.some((f) => f.serverName === 'edge-1b' && /authentication failed/.test(f.message))) break;
      await new Promise((ok) => setTimeout(ok, 500));
    }
    const failing = doctor!.data.failingChecks.find((f) => f.serverName === 'edge-1b');
    assert.ok(failing, JSON.stringify(doctor));
    assert.match(failing.message, /authentication failed for user "root"/);
    assert.match(failing.recommendedAction, /authorized_keys/);
  });

  it('rotates, detaches and deletes keys; a key in use is not deleted', async () => {
    const inUse = await cli('access-assets', 'ssh-key', 'delete', '--name', 'edge-1-ssh');
    assert.equal(inUse.code, 1);
    assert.match(inUse.stderr, /used by server\(s\) edge-1/);
    const rotated = await cli('access-assets', 'ssh-key', 'rotate', '--name', 'stranger', '--private-key-file', host.privateKeyPath);
    assert.equal(rotated.code, 0, rotated.stderr);
    const list = JSON.parse((await cli('access-assets', 'ssh-key', 'list', '--json')).stdout).data.sshKeys;
    const stranger = list.find((k: { name: string }) => k.name === 'stranger');
    assert.ok(stranger.rotatedAt, 'rotation is recorded');
    const detached = await cli('access-assets', 'ssh-key', 'detach', '--server', 'edge-1b');
    assert.equal(detached.code, 0, detached.stderr);
    const deleted = await cli('access-assets', 'ssh-key', 'delete', '--name', 'stranger');
    assert.equal(deleted.code, 0, deleted.stderr);
  });

  it('checks a local server through its socket, without SSH', async () => {
    // The control plane's "own" engine: here a test host's daemon, reached through its socket file.
    const applyStdin = (input: string) =>
      new Promise<{ code: number; stderr: string }>((resolve) => {
        const child = execFile(process.execPath, [join(packageRoot(), 'bin', 'holdfast.js'), 'apply', '-f', '-'], { env: { ...process.env, HOLDFAST_URL: serve.url, HOLDFAST_TOKEN: serve.token }, timeout: 60_000 }, (err, _stdout, stderr) =>
          resolve({ code: err ? ((err as { code?: number }).code ?? 1) : 0, stderr }),
        );
        child.stdin!.end(input);
      });
    const empty = await applyStdin('');
    assert.equal(empty.code, 1, 'no input: a clear error');
    assert.match(empty.stderr, /^error: .*no objects/m);
    const manifest = `apiVersion: holdfast.dev/v1alpha1\nkind: Server\nmetadata: {name: control}\nspec: {kind: local, dockerSocket: ${host.dockerSocket}}\n`;
    const applied = await applyStdin(manifest);
    assert.equal(applied.code, 0, applied.stderr);
    const deadline = Date.now() + 30_000;
    let row: { readiness: string; sshReachable: boolean | null; dockerVersion: string | null } | undefined;
    while (Date.now() < deadline) {
      const status = JSON.parse((await cli('status', '--json')).stdout);
      row = status.data.servers.checks.find((c: { serverName: string }) => c.serverName === 'control');
      if (row?.dockerVersion) break;
      await new Promise((ok) => setTimeout(ok, 500));
    }
    assert.equal(row?.readiness, 'ready');
    assert.equal(row?.sshReachable, null, 'no SSH for a local server');
    assert.match(row!.dockerVersion!, /^\d+\./);
  });
});
