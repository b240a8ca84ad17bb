// What the CLI and `holdfast serve` refuse before anything is stored or removed, with controllers
// running: compose files the rollout could not deploy, undeclared environments, a server that does
// not exist yet (a warning, and --wait failing at once), guarded deletes of Projects and Servers,
// confirmations of destructive commands, and `server add` taking back what it created.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli-process.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

const project = (name: string) => `apiVersion: holdfast.dev/v1alpha1
kind: Project
metadata: { name: ${name} }
spec:
  environments: [ { name: staging }, { name: production } ]
`;

const service = (name: string, server: string, extra = '  source: { image: busybox:1 }\n', environment = 'production') => `apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata: { name: ${name}, namespace: shop }
spec:
  environment: ${environment}
  server: ${server}
${extra}`;

describe('safe defaults: the CLI against holdfast serve with controllers', () => {
  let serve: ServeProcess;
  let dir: string;
  let env: Record<string, string>;
  const holdfast = (...args: string[]) => runCli(args, env, { timeoutMs: 120_000 });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    return path;
  };

  before(async () => {
    serve = await startServeProcess();
    env = { HOLDFAST_URL: serve.url, HOLDFAST_DATA_DIR: serve.dataDir };
    dir = mkdtempSync(join(tmpdir(), 'holdfast-safe-e2e-'));
    const keyFile = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'e2e', '-f', keyFile]);
    const privateKey = readFileSync(keyFile, 'utf8');
    // A server nobody answers on: the controllers mark it not ready, which these cases do not need.
    file('site/project.yaml', project('shop'));
    file('site/server.yaml', `apiVersion: holdfast.dev/v1alpha1
kind: SSHKey
metadata: { name: deploy-key }
spec:
  privateKey: |
${privateKey.trimEnd().replace(/^/gm, '    ')}
---
apiVersion: holdfast.dev/v1alpha1
kind: Server
metadata: { name: edge-1 }
spec: { kind: docker-engine, host: 127.0.0.250, port: 1, user: root, sshKeyRef: { name: deploy-key } }
`);
    const res = await holdfast('apply', '-f', join(dir, 'site'));
    assert.equal(res.code, 0, res.stderr);
  });

  after(async () => {
    await serve?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('a compose file with configz is refused at --dry-run=server and at apply, naming file and key; nothing is stored', async () => {
    file('compose-bad/compose.yaml', 'services:\n  web: { image: busybox:1 }\nconfigz:\n  c: { file: ./c.conf }\n');
    const manifest = file('compose-bad/web.yaml', service('web', 'edge-1', '  source: { compose: { file: compose.yaml } }\n'));
    for (const args of [['--dry-run=server'], []]) {
      const res = await holdfast('apply', '-f', manifest, ...args);
      assert.equal(res.code, 1, res.stdout);
      assert.match(res.stderr, /Error from server \(Invalid\): .*compose file compose\.yaml: not supported: configz/);
    }
    const get = await holdfast('get', 'service', 'web', '-n', 'shop');
    assert.equal(get.code, 1);
    assert.match(get.stderr, /NotFound/);
  });

  it('an environment the Project does not declare is refused', async () => {
    const res = await holdfast('apply', '-f', file('prod.yaml', service('web', 'edge-1', undefined, 'prod')));
    assert.equal(res.code, 1);
    assert.match(res.stderr, /Error from server \(Invalid\): .*Service shop\/web is invalid\n {2}- spec\.environment: environment "prod" is not declared by Project shop \(it declares staging, production\)\n/);
  });

  it('a server that does not exist yet is a warning, and apply --wait fails at once with ServerNotFound', async () => {
    const started = Date.now();
    const res = await holdfast('apply', '-f', file('edge-9.yaml', service('later', 'edge-9')), '--wait', '--timeout', '5m');
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stdout, /service\.holdfast\.dev\/later created/);
    assert.match(res.stderr, /^Warning: server edge-9 does not exist yet$/m);
    assert.match(res.stdout + res.stderr, /service\/later: failed: ServerNotFound: server edge-9 does not exist/);
    assert.ok(Date.now() - started < 60_000, 'failed at once, not at the timeout');
  });

  it('deleting a Project that holds other objects is refused with the list; -f that names them all deletes it', async () => {
    file('shop-files/project.yaml', project('shop'));
    file('shop-files/later.yaml', service('later', 'edge-9'));
    const refused = await holdfast('delete', 'project', 'shop');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Error from server \(Conflict\): project shop still holds 1 object\(s\) this request does not delete: service\/later; .*--cascade/);
    assert.equal((await holdfast('get', 'project', 'shop')).code, 0);
    // Everything the Project holds is in the files: it goes, with them.
    const byFiles = await holdfast('delete', '-f', join(dir, 'shop-files'), '--timeout', '60s');
    assert.equal(byFiles.code, 0, byFiles.stderr);
    assert.match(byFiles.stdout, /project\.holdfast\.dev "shop" deleted/);
    assert.equal((await holdfast('get', 'project', 'shop')).code, 1);
  });

  it('--cascade asks first: refused without a terminal and without --yes, then deletes everything with --yes', async () => {
    assert.equal((await holdfast('apply', '-f', file('cascade/project.yaml', project('shop')))).code, 0);
    assert.equal((await holdfast('apply', '-f', file('cascade/services.yaml', `${service('a', 'edge-9')}---\n${service('b', 'edge-9')}`))).code, 0);
    const refused = await holdfast('delete', 'project', 'shop', '--cascade');
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /project "shop" and everything in it will be deleted:\n {2}service\.holdfast\.dev\/a\n {2}service\.holdfast\.dev\/b\n/);
    assert.match(refused.stderr, /refusing to delete project shop with everything in it without confirmation: stdin is not a terminal; pass --yes/);
    assert.equal((await holdfast('get', 'services', '-n', 'shop', '-o', 'name')).stdout, 'service.holdfast.dev/a\nservice.holdfast.dev/b\n');
    const rows = (await holdfast('get', 'services', '-n', 'shop', '--no-headers')).stdout.split('\n').filter(Boolean);
    assert.deepEqual(rows.map((r) => r.split(/\s+/)[0]), ['a', 'b'], 'kubectl\'s --no-headers: the rows alone');
    const cascade = await holdfast('delete', 'project', 'shop', '--cascade', '--yes', '--timeout', '60s');
    assert.equal(cascade.code, 0, cascade.stderr);
    assert.match(cascade.stdout, /project\.holdfast\.dev "shop" deleted/);
    assert.equal((await holdfast('get', 'project', 'shop')).code, 1);
  });

  it('deleting a Server that Services target is refused with their names; --force marks it and --wait says what it waits for', async () => {
    assert.equal((await holdfast('apply', '-f', file('pinned/project.yaml', project('shop')))).code, 0);
    assert.equal((await holdfast('apply', '-f', file('pinned/web.yaml', service('web', 'edge-1')))).code, 0);
    const refused = await holdfast('delete', 'server', 'edge-1');
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Error from server \(Conflict\): server edge-1 is still the target of 1 service\(s\): service\/shop\/web; .*--force/);
    const forced = await holdfast('delete', 'server', 'edge-1', '--force', '--timeout', '3s');
    assert.equal(forced.code, 1, 'the Server waits for its Service');
    assert.match(forced.stdout, /server\.holdfast\.dev "edge-1" deleted\n/);
    assert.match(forced.stdout, /server\.holdfast\.dev "edge-1" terminating: waiting for holdfast\.dev\/in-use \(service\/shop\/web\)/);
    assert.match(forced.stderr, /timed out waiting for server\.holdfast\.dev "edge-1" to be deleted: waiting for holdfast\.dev\/in-use \(service\/shop\/web\)/);
    const get = await holdfast('get', 'servers');
    assert.match(get.stdout, /edge-1 .*Terminating \(holdfast\.dev\/in-use\)/);
    // The Service goes (it never ran anywhere), and the Server with it.
    const rest = await holdfast('delete', 'service', 'web', '-n', 'shop', '--timeout', '60s');
    assert.equal(rest.code, 0, rest.stderr);
    const until = Date.now() + 30_000;
    while ((await holdfast('get', 'server', 'edge-1')).code === 0 && Date.now() < until) await new Promise((ok) => setTimeout(ok, 500));
    assert.equal((await holdfast('get', 'server', 'edge-1')).code, 1);
  });
  it('backup restore says what it would overwrite and refuses without a terminal and without --yes', async () => {
    const files = file('restore/files.yaml', `${service('files', 'edge-9', '  source: { image: busybox:1 }\n  volumes: [ { name: data, mountPath: /data } ]\n')}---
apiVersion: holdfast.dev/v1alpha1
kind: BackupPolicy
metadata: { name: files-data, namespace: shop }
spec:
  service: files
  target: { volume: data }
  schedule: "0 3 * * *"
  destination: { path: /var/backups/shop }
`);
    assert.equal((await holdfast('apply', '-f', files)).code, 0);
    const res = await holdfast('backup', 'restore', 'backuppolicy/files-data', '-n', 'shop', '--backup', 'files-data-20261126T030000Z.tar');
    assert.equal(res.code, 1);
    assert.equal(res.stdout, 'backup files-data-20261126T030000Z.tar will be restored into volume data of service files in project shop: what is there now is written over\n');
    assert.equal(res.stderr, 'error: refusing to restore files-data-20261126T030000Z.tar into service files without confirmation: stdin is not a terminal; pass --yes to go ahead\n');
  });

  it('server add that cannot reach the server deletes the Server and SSHKey it created, and says so', async () => {
    const keyFile = join(dir, 'id_unused');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'e2e', '-f', keyFile]);
    const res = await holdfast('server', 'add', '--name', 'edge-bad', '--host', '127.0.0.1', '--ssh-port', '1', '--ssh-user', 'root', '--ssh-key', keyFile, '--yes', '--wait', '60s');
    assert.equal(res.code, 1, res.stdout + res.stderr);
    assert.match(res.stdout, /^sshkey\.holdfast\.dev\/edge-bad-ssh created$/m);
    assert.match(res.stdout, /^server\.holdfast\.dev\/edge-bad created$/m);
    assert.match(res.stdout, /^server\.holdfast\.dev\/edge-bad deleted again: the server cannot be used as given$/m);
    assert.match(res.stdout, /^sshkey\.holdfast\.dev\/edge-bad-ssh deleted again: the server cannot be used as given$/m);
    // Both go once their finalizers let them (the key waits for the Server).
    const left = async () => [(await holdfast('get', 'server', 'edge-bad')).code, (await holdfast('get', 'sshkey', 'edge-bad-ssh')).code];
    const until = Date.now() + 30_000;
    while ((await left()).includes(0) && Date.now() < until) await new Promise((ok) => setTimeout(ok, 500));
    assert.deepEqual(await left(), [1, 1]);
  });
});
