// Backups on a real test host (host 2), through an in-process control plane: a BackupPolicy on a
// Service's volume is scheduled (Ready, nextScheduleTime); a backup taken through the API action is
// a tar of the volume on the destination with the recorded size and sha256, verified on the host;
// the volume is changed and restored to what was backed up; retention deletes the oldest backups;
// unsupported targets, missing volumes and an unwritable destination are clear conditions, not crashes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { packageRoot } from '../../../core/package-root.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const run = promisify(execFile);
const G = '/apis/holdfast.dev/v1alpha1';
const NS = 'bkup';
const SERVER = 'bkup-edge';
const CONTAINER = `hf_${NS}_production_files_1`;
const DEST = `/tmp/holdfast-backup-test-${randomBytes(4).toString('hex')}`;

interface Condition {
  type: string;
  status: string;
  reason: string;
  message: string;
}


const policy = (name: string, spec: Record<string, unknown>) => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'BackupPolicy',
  metadata: { name, namespace: NS },
  spec: { service: 'files', schedule: '0 3 * * *', destination: { path: DEST }, ...spec },
});

describe('backups on a real Docker host', { timeout: 120_000 }, () => {
  let cp: TestControlPlane;
  let host: TestHost;
  const docker = async (...args: string[]) => (await run('docker', ['-H', `unix://${host.dockerSocket}`, ...args], { timeout: 30_000 })).stdout.trim();
  const policyPath = (name: string) => `${G}/namespaces/${NS}/backuppolicies/${name}`;
  const getPolicy = async (name: string) => (await cp.call('GET', policyPath(name))).body as { status?: Record<string, any> };
  const condition = async (name: string, type: string) => ((await getPolicy(name)).status?.conditions as Condition[] | undefined)?.find((c) => c.type === type);
  const events = async () => (await cp.call('GET', `${G}/namespaces/${NS}/events`)).body.items as Array<{ involvedObject: { name: string }; reason: string; message: string; type: string }>;
  const inVolume = (script: string) => docker('exec', CONTAINER, 'sh', '-c', script);
  /** The CLI from source, against this control plane with its admin token. */
  const holdfast = async (...args: string[]) => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', HOLDFAST_URL: cp.url, HOLDFAST_DATA_DIR: cp.dataDir };
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: packageRoot(), env, timeout: 60_000 });
      return { code: 0, stdout };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? 1, stdout: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  };

  before(async () => {
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    await docker('rm', '-f', CONTAINER).catch(() => undefined);
    cp = await startTestControlPlane('pglite');
    await createFleet(cp, host, { project: NS, server: SERVER });
    const res = await cp.call('POST', `${G}/namespaces/${NS}/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'files', namespace: NS },
      spec: {
        environment: 'production',
        server: SERVER,
        source: { image: 'holdfast-test/busybox:1' },
        command: ['sh', '-c', 'exec sleep 100000'],
        volumes: [{ name: 'data', mountPath: '/data' }],
        update: { order: 'stop-first', healthDeadlineSeconds: 15 },
      },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const deployed = await until('files to deploy', async () => {
      const items = (await cp.call('GET', `${G}/namespaces/${NS}/services/files/deployments`)).body.items as Array<{ phase: string; message?: string }>;
      return items.find((d) => ['completed', 'failed', 'canceled'].includes(d.phase));
    });
    assert.equal(deployed.phase, 'completed', deployed.message);
  });

  after(async () => {
    await cp?.stop();
    await docker('rm', '-f', CONTAINER).catch(() => undefined);
    const volumes = (await docker('volume', 'ls', '-q', '--filter', `name=hf_${NS}_`).catch(() => '')).split('\n').filter(Boolean);
    for (const v of volumes) await docker('volume', 'rm', '-f', v).catch(() => undefined);
    rmSync(DEST, { recursive: true, force: true });
  });

  it('backs up, verifies, restores and prunes a volume', async () => {
    await inVolume('echo original > /data/hello.txt && mkdir -p /data/sub && echo nested > /data/sub/b.txt');
    const created = await cp.call('POST', `${G}/namespaces/${NS}/backuppolicies`, policy('files-data', { target: { volume: 'data' }, retention: { keepLast: 2 } }));
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const ready = await until('Ready=True', async () => ((await condition('files-data', 'Ready'))?.status === 'True' ? condition('files-data', 'Ready') : undefined));
    assert.equal(ready!.reason, 'Scheduled');
    const next = (await getPolicy('files-data')).status!.nextScheduleTime as string;
    assert.match(next, /T03:00:00(\.000)?Z$/, 'the next run is at 03:00 UTC');
    assert.ok(Date.parse(next) > Date.now());

    // Take one now, through the API action.
    const first = await cp.call('POST', `${policyPath('files-data')}/run`, {});
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const b1 = first.body.backup as { name: string; sizeBytes: number; sha256: string; verified: boolean };
    assert.match(b1.name, /^files-data-\d{8}T\d{6}Z\.tar$/);
    const file1 = `${DEST}/${b1.name}`;
    const bytes = readFileSync(file1);
    assert.equal(bytes.length, b1.sizeBytes);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), b1.sha256);
    assert.equal(b1.verified, true);
    const listed = (await run('tar', ['-tf', file1])).stdout.split('\n').filter(Boolean).sort();
    assert.ok(listed.includes('./hello.txt') && listed.includes('./sub/b.txt'), `archive lists ${listed.join(', ')}`);
    assert.deepEqual(readdirSync(DEST).filter((n) => n.endsWith('.partial')), [], 'no partial file is left');
    const status = (await getPolicy('files-data')).status!;
    assert.equal(status.lastBackup.result, 'Succeeded');
    assert.equal(status.lastBackup.name, b1.name);
    assert.equal(status.lastBackup.sha256, b1.sha256);
    assert.equal(status.lastVerification.result, 'Succeeded');
    assert.equal(status.lastVerification.backup, b1.name);
    assert.equal(status.backupCount, 1);
    assert.equal((await condition('files-data', 'LastBackupSucceeded'))?.reason, 'BackupSucceeded');

    // Change the volume, then restore: the backed-up content comes back.
    await inVolume('echo changed > /data/hello.txt && rm -r /data/sub');
    const restored = await cp.call('POST', `${policyPath('files-data')}/restore`, { backup: b1.name });
    assert.equal(restored.status, 200, JSON.stringify(restored.body));
    assert.equal(await inVolume('cat /data/hello.txt'), 'original');
    assert.equal(await inVolume('cat /data/sub/b.txt'), 'nested');
    assert.ok((await events()).some((e) => e.reason === 'Restored' && e.message.includes(b1.name)));

    // Bad restore requests are clear refusals.
    const malformed = await cp.call('POST', `${policyPath('files-data')}/restore`, { backup: '../../etc/passwd' });
    assert.equal(malformed.status, 400, JSON.stringify(malformed.body));
    const unknownName = await cp.call('POST', `${policyPath('files-data')}/restore`, { backup: 'files-data-20200101T000000Z.tar' });
    assert.equal(unknownName.status, 404, JSON.stringify(unknownName.body));
    assert.match(unknownName.body.message, /not found/);
    const noBody = await cp.call('POST', `${policyPath('files-data')}/restore`, {});
    assert.equal(noBody.status, 400);

    // Two more: keepLast 2 deletes the first.
    await inVolume('echo second > /data/hello.txt');
    const cliRun = await holdfast('backup', 'run', 'backuppolicy/files-data', '-n', NS);
    assert.equal(cliRun.code, 0, cliRun.stdout);
    assert.match(cliRun.stdout, /^backuppolicy\/files-data backed up: files-data-\d{8}T\d{6}Z\.tar \(.*\) at .* on server bkup-edge\nverification succeeded/);
    const second = { body: { backup: { name: /(files-data-\d{8}T\d{6}Z\.tar)/.exec(cliRun.stdout)![1] } } };
    const third = await cp.call('POST', `${policyPath('files-data')}/run`, {});
    assert.equal(third.status, 201, JSON.stringify(third.body));
    assert.deepEqual(third.body.removed, [b1.name]);
    assert.deepEqual(readdirSync(DEST).sort(), [second.body.backup.name, third.body.backup.name].sort());
    const after3 = (await getPolicy('files-data')).status!;
    assert.deepEqual(after3.backups.map((b: { name: string }) => b.name), [third.body.backup.name, second.body.backup.name]);
    assert.equal(after3.backupCount, 2);
    assert.ok((await events()).some((e) => e.reason === 'BackupsPruned' && e.message.includes(b1.name)));

    const listedByCli = await holdfast('backup', 'list', 'bp/files-data', '-n', NS);
    assert.equal(listedByCli.code, 0, listedByCli.stdout);
    const lines = listedByCli.stdout.trim().split('\n');
    assert.match(lines[0], /^NAME\s+SIZE\s+SHA256\s+VERIFIED\s+AGE$/);
    assert.deepEqual(lines.slice(1, 3).map((l) => l.split(/\s+/)[0]), [third.body.backup.name, second.body.backup.name]);
    assert.match(lines[3], /^Next scheduled backup: .*T03:00:00/);
    await inVolume('echo third > /data/hello.txt');
    const cliRestore = await holdfast('backup', 'restore', 'backuppolicy/files-data', '-n', NS, '--backup', second.body.backup.name);
    assert.equal(cliRestore.code, 0, cliRestore.stdout);
    assert.equal(await inVolume('cat /data/hello.txt'), 'second');
    const cliBad = await holdfast('backup', 'restore', 'service/files', '-n', NS, '--backup', 'x');
    assert.equal(cliBad.code, 1);
    assert.match(cliBad.stdout, /works on backup policies only/);

    const audit = (await cp.call('GET', `${G}/auditlog?kind=BackupPolicy&name=files-data`)).body.items as Array<{ verb: string; outcome: string }>;
    assert.ok(audit.some((a) => a.verb === 'restore' && a.outcome === 'Success'), 'restore is audited');
    assert.ok(audit.some((a) => a.verb === 'restore' && a.outcome === 'Failure'), 'a refused restore is audited');
    assert.ok(audit.some((a) => a.verb === 'backup' && a.outcome === 'Success'), 'a backup run is audited');
  });

  it('says clearly why a policy cannot run', async () => {
    for (const [name, spec] of [
      ['files-db', { target: { database: { type: 'postgres' } } }],
      ['files-none', { target: { volume: 'nope' } }],
    ] as const) {
      const res = await cp.call('POST', `${G}/namespaces/${NS}/backuppolicies`, policy(name, spec));
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const notSupported = await until('NotSupported', async () => ((await condition('files-db', 'Ready'))?.reason === 'NotSupported' ? condition('files-db', 'Ready') : undefined));
    assert.equal(notSupported!.status, 'False');
    const missing = await until('VolumeNotFound', async () => ((await condition('files-none', 'Ready'))?.reason === 'VolumeNotFound' ? condition('files-none', 'Ready') : undefined));
    assert.match(missing!.message, /no volume "nope".*its volumes: data/);
    const runDb = await cp.call('POST', `${policyPath('files-db')}/run`, {});
    assert.equal(runDb.status, 400, JSON.stringify(runDb.body));
    assert.match(runDb.body.message, /not supported/);

    const unwritable = await cp.call('POST', `${G}/namespaces/${NS}/backuppolicies`, {
      ...policy('files-ro', { target: { volume: 'data' } }),
      spec: { service: 'files', schedule: '@daily', target: { volume: 'data' }, destination: { path: '/proc/holdfast-backups' } },
    });
    assert.equal(unwritable.status, 201, JSON.stringify(unwritable.body));
    const failed = await cp.call('POST', `${policyPath('files-ro')}/run`, {});
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    assert.match(failed.body.message, /not writable/);
    const c = await condition('files-ro', 'LastBackupSucceeded');
    assert.equal(c?.status, 'False');
    assert.equal(c?.reason, 'DestinationUnwritable');
    assert.equal((await getPolicy('files-ro')).status!.lastBackup.result, 'Failed');
    assert.ok((await events()).some((e) => e.involvedObject.name === 'files-ro' && e.reason === 'BackupFailed' && e.type === 'Warning'));
    assert.ok(!existsSync('/proc/holdfast-backups'));

    // Nothing runs that mounts the volume: refused with the reason, for backups and restores alike.
    await docker('stop', '-t', '0', CONTAINER);
    const stopped = await cp.call('POST', `${policyPath('files-data')}/run`, {});
    assert.equal(stopped.status, 409, JSON.stringify(stopped.body));
    assert.match(stopped.body.message, /no container that mounts volume "data" of service "files" is running/);
    assert.equal((await condition('files-data', 'LastBackupSucceeded'))?.reason, 'ContainerNotRunning');
    const backups = (await getPolicy('files-data')).status!.backups as Array<{ name: string }>;
    const notRestored = await cp.call('POST', `${policyPath('files-data')}/restore`, { backup: backups[0].name });
    assert.equal(notRestored.status, 409, JSON.stringify(notRestored.body));
    assert.equal((await getPolicy('files-data')).status!.backups.length, 2, 'a failed run deletes nothing');
  });
});
