// Backups on a real test host (host 2), through an in-process control plane: a BackupPolicy on a
// Service's volume is scheduled (Ready, nextScheduleTime); a backup taken through the API action is
// a tar of the volume on the destination with the recorded size and sha256, verified on the host;
// the volume is changed and restored to what was backed up; retention deletes the oldest backups;
// a volume is held by a command of its own (consistency mode command) with its post command run even
// when it fails; a database component the Service lacks, missing volumes and an unwritable destination are clear
// conditions, not crashes.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHash } from 'node:crypto';
import { existsSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { Decrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import { packageRoot } from '../../../core/package-root.js';
import { startBackupTestbed, type BackupTestbed } from '../../support/backup-testbed.js';
import { until } from '../../support/until.js';

const run = promisify(execFile);
const G = '/apis/holdfast.dev/v1alpha1';

describe('backups on a real Docker host', { timeout: 180_000 }, () => {
  let bed: BackupTestbed;
  /** The CLI from source, against this control plane with its admin token. */
  const holdfast = async (...args: string[]) => {
    const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', HOLDFAST_URL: bed.cp.url, HOLDFAST_DATA_DIR: bed.cp.dataDir };
    try {
      const { stdout } = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: packageRoot(), env, timeout: 60_000 });
      return { code: 0, stdout };
    } catch (err) {
      const e = err as { code?: number; stdout?: string; stderr?: string };
      return { code: e.code ?? 1, stdout: `${e.stdout ?? ''}${e.stderr ?? ''}` };
    }
  };

  before(async () => {
    bed = await startBackupTestbed({
      project: 'bkup',
      service: 'files',
      serviceSpec: () => ({
        source: { image: 'holdfast-test/busybox:1' },
        command: ['sh', '-c', 'exec sleep 100000'],
        volumes: [{ name: 'data', mountPath: '/data' }],
        update: { order: 'stop-first', healthDeadlineSeconds: 15 },
      }),
    });
  });

  after(async () => {
    await bed?.stop();
  });

  it('backs up, verifies, restores and prunes a volume', async () => {
    await bed.inContainer('echo original > /data/hello.txt && mkdir -p /data/sub && echo nested > /data/sub/b.txt');
    await bed.createPolicy('files-data', { target: { volume: 'data' }, retention: { keepLast: 2 } });
    const ready = await until('Ready=True', async () => ((await bed.condition('files-data', 'Ready'))?.status === 'True' ? bed.condition('files-data', 'Ready') : undefined));
    assert.equal(ready!.reason, 'Scheduled');
    const next = (await bed.status('files-data')).nextScheduleTime as string;
    assert.match(next, /-01-01T00:00:00(\.000)?Z$/, 'the next run is at new year, 00:00 UTC');
    assert.ok(Date.parse(next) > Date.now());

    // Take one now, through the API action.
    const first = await bed.runPolicy('files-data');
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const b1 = first.body.backup as { name: string; sizeBytes: number; sha256: string; verified: boolean };
    assert.match(b1.name, /^files-data-\d{8}T\d{6}Z\.tar$/);
    const file1 = `${bed.dest}/${b1.name}`;
    const bytes = readFileSync(file1);
    assert.equal(bytes.length, b1.sizeBytes);
    assert.equal(createHash('sha256').update(bytes).digest('hex'), b1.sha256);
    assert.equal(b1.verified, true);
    const listed = (await run('tar', ['-tf', file1])).stdout.split('\n').filter(Boolean).sort();
    assert.ok(listed.includes('./hello.txt') && listed.includes('./sub/b.txt'), `archive lists ${listed.join(', ')}`);
    assert.deepEqual(readdirSync(bed.dest).filter((n) => n.endsWith('.partial')), [], 'no partial file is left');
    const status = await bed.status('files-data');
    assert.equal(status.lastBackup.result, 'Succeeded');
    assert.equal(status.lastBackup.name, b1.name);
    assert.equal(status.lastBackup.sha256, b1.sha256);
    assert.equal(status.lastVerification.result, 'Succeeded');
    assert.equal(status.lastVerification.backup, b1.name);
    assert.equal(status.backupCount, 1);
    assert.equal((await bed.condition('files-data', 'LastBackupSucceeded'))?.reason, 'BackupSucceeded');

    // Change the volume, then restore: the backed-up content comes back.
    await bed.inContainer('echo changed > /data/hello.txt && rm -r /data/sub');
    const restored = await bed.cp.call('POST', `${bed.policyPath('files-data')}/restore`, { backup: b1.name });
    assert.equal(restored.status, 200, JSON.stringify(restored.body));
    assert.equal(await bed.inContainer('cat /data/hello.txt'), 'original');
    assert.equal(await bed.inContainer('cat /data/sub/b.txt'), 'nested');
    assert.ok((await bed.events()).some((e) => e.reason === 'Restored' && e.message.includes(b1.name)));

    // Bad restore requests are clear refusals.
    const malformed = await bed.cp.call('POST', `${bed.policyPath('files-data')}/restore`, { backup: '../../etc/passwd' });
    assert.equal(malformed.status, 400, JSON.stringify(malformed.body));
    const unknownName = await bed.cp.call('POST', `${bed.policyPath('files-data')}/restore`, { backup: 'files-data-20200101T000000Z.tar' });
    assert.equal(unknownName.status, 404, JSON.stringify(unknownName.body));
    assert.match(unknownName.body.message, /not found/);
    const noBody = await bed.cp.call('POST', `${bed.policyPath('files-data')}/restore`, {});
    assert.equal(noBody.status, 400);

    // Two more: keepLast 2 deletes the first.
    await bed.inContainer('echo second > /data/hello.txt');
    const cliRun = await holdfast('backup', 'run', 'backuppolicy/files-data', '-n', bed.project);
    assert.equal(cliRun.code, 0, cliRun.stdout);
    assert.match(cliRun.stdout, /^backuppolicy\/files-data backed up: files-data-\d{8}T\d{6}Z\.tar \(.*\) at .* on server bkup-edge\nverification succeeded/);
    const second = { body: { backup: { name: /(files-data-\d{8}T\d{6}Z\.tar)/.exec(cliRun.stdout)![1] } } };
    const third = await bed.runPolicy('files-data');
    assert.equal(third.status, 201, JSON.stringify(third.body));
    assert.deepEqual(third.body.removed, [b1.name]);
    assert.deepEqual(readdirSync(bed.dest).sort(), [second.body.backup.name, third.body.backup.name].sort());
    const after3 = await bed.status('files-data');
    assert.deepEqual(after3.backups.map((b: { name: string }) => b.name), [third.body.backup.name, second.body.backup.name]);
    assert.equal(after3.backupCount, 2);
    assert.ok((await bed.events()).some((e) => e.reason === 'BackupsPruned' && e.message.includes(b1.name)));

    const listedByCli = await holdfast('backup', 'list', 'bp/files-data', '-n', bed.project);
    assert.equal(listedByCli.code, 0, listedByCli.stdout);
    const lines = listedByCli.stdout.trim().split('\n');
    assert.match(lines[0], /^NAME\s+SIZE\s+SHA256\s+VERIFIED\s+AGE$/);
    assert.deepEqual(lines.slice(1, 3).map((l) => l.split(/\s+/)[0]), [third.body.backup.name, second.body.backup.name]);
    assert.match(lines[3], /^Next scheduled backup: .*-01-01T00:00:00/);
    await bed.inContainer('echo third > /data/hello.txt');
    const cliRestore = await holdfast('backup', 'restore', 'backuppolicy/files-data', '-n', bed.project, '--backup', second.body.backup.name, '--yes');
    assert.equal(cliRestore.code, 0, cliRestore.stdout);
    assert.equal(await bed.inContainer('cat /data/hello.txt'), 'second');
    const cliBad = await holdfast('backup', 'restore', 'service/files', '-n', bed.project, '--backup', 'x');
    assert.equal(cliBad.code, 1);
    assert.match(cliBad.stdout, /works on backup policies only/);

    const audit = (await bed.cp.call('GET', `${G}/auditlog?kind=BackupPolicy&name=files-data`)).body.items as Array<{ verb: string; outcome: string }>;
    assert.ok(audit.some((a) => a.verb === 'restore' && a.outcome === 'Success'), 'restore is audited');
    assert.ok(audit.some((a) => a.verb === 'restore' && a.outcome === 'Failure'), 'a refused restore is audited');
    assert.ok(audit.some((a) => a.verb === 'backup' && a.outcome === 'Success'), 'a backup run is audited');
  });

  it('encrypts with age, holds the container still for the read, and tests the restore in a scratch volume', async () => {
    const identity = await generateIdentity();
    const recipient = await identityToRecipient(identity);
    const secret = await bed.cp.call('POST', `${G}/namespaces/${bed.project}/secrets`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Secret',
      metadata: { name: 'backup-age', namespace: bed.project },
      spec: { stringData: { recipient, identity: `# created: now\n${identity}\n` } },
    });
    assert.equal(secret.status, 201, JSON.stringify(secret.body));
    await bed.inContainer('echo sealed > /data/hello.txt && mkdir -p /data/sub && echo nested > /data/sub/b.txt');
    const encryption = { recipientSecretRef: { name: 'backup-age', key: 'recipient' }, identitySecretRef: { name: 'backup-age', key: 'identity' } };
    await bed.createPolicy('files-sealed', {
      target: { volume: 'data' },
      consistency: { mode: 'pause', timeoutSeconds: 60 },
      encryption,
      verification: { restoreTest: true, restoreChecks: { files: ['hello.txt', 'sub/b.txt'] } },
    });

    const since = Math.floor(Date.now() / 1000) - 1;
    const ran = await bed.runPolicy('files-sealed');
    assert.equal(ran.status, 201, JSON.stringify(ran.body));
    const until = Math.ceil(Date.now() / 1000) + 1;
    const backup = ran.body.backup as { name: string; sha256: string; plaintextSha256: string; encrypted: boolean; verified: boolean };
    assert.match(backup.name, /^files-sealed-\d{8}T\d{6}Z\.tar\.age$/);
    assert.equal(backup.encrypted, true);
    assert.equal(backup.verified, true);

    // The file is age ciphertext: no tar can read it; the identity turns it back into the archive.
    const file = `${bed.dest}/${backup.name}`;
    const bytes = readFileSync(file);
    assert.equal(bytes.subarray(0, 21).toString(), 'age-encryption.org/v1');
    assert.equal(createHash('sha256').update(bytes).digest('hex'), backup.sha256);
    await assert.rejects(run('tar', ['-tf', file]));
    const decrypter = new Decrypter();
    decrypter.addIdentity(identity);
    const plain = await decrypter.decrypt(bytes);
    assert.equal(createHash('sha256').update(plain).digest('hex'), backup.plaintextSha256);
    assert.ok(Buffer.from(plain).includes(Buffer.from('sealed\n')), 'the archive holds the file');

    // Paused for the read, running after.
    const pauses = await bed.docker('events', '--since', String(since), '--until', String(until), '--filter', `container=${bed.container}`, '--filter', 'event=pause', '--filter', 'event=unpause', '--format', '{{.Action}}');
    assert.deepEqual(pauses.split('\n'), ['pause', 'unpause']);
    assert.equal(await bed.docker('inspect', '-f', '{{.State.Status}}', bed.container), 'running');
    const status = await bed.status('files-sealed');
    assert.equal(typeof status.lastBackup.pausedSeconds, 'number');
    assert.match(status.lastBackup.message, /encrypted\) written to .*; the container was paused for [\d.]+ s$/);
    assert.equal(status.lastVerification.restoreTested, true);
    assert.match(status.lastVerification.message, /decrypts to the archive written.*restored into a scratch volume on server bkup-edge and found "hello.txt", "sub\/b.txt"/);
    const verified = await bed.condition('files-sealed', 'Verified');
    assert.deepEqual([verified?.status, verified?.reason], ['True', 'RestoreTestPassed']);
    assert.equal(await bed.scratchLeft('files-sealed'), '', 'the scratch container is removed');
    assert.equal(await bed.docker('volume', 'ls', '-q', '--filter', `label=holdfast.dev/restore-test=${bed.project}.files-sealed`), '', 'the scratch volume is removed');

    // Restored from ciphertext.
    await bed.inContainer('echo changed > /data/hello.txt');
    const restored = await bed.cp.call('POST', `${bed.policyPath('files-sealed')}/restore`, { backup: backup.name });
    assert.equal(restored.status, 200, JSON.stringify(restored.body));
    assert.equal(await bed.inContainer('cat /data/hello.txt'), 'sealed');

    // A restore test that does not find a declared file fails verification, with the file named.
    await bed.createPolicy('files-checked', {
      target: { volume: 'data' },
      verification: { restoreTest: true, restoreChecks: { files: ['hello.txt', 'db/missing.sqlite'] } },
    });
    const checkedRun = await bed.runPolicy('files-checked');
    assert.equal(checkedRun.status, 201, JSON.stringify(checkedRun.body));
    assert.equal(checkedRun.body.backup.verified, false);
    const failedCheck = await bed.condition('files-checked', 'Verified');
    assert.deepEqual([failedCheck?.status, failedCheck?.reason], ['False', 'RestoreTestFailed']);
    assert.match(failedCheck!.message, /"db\/missing.sqlite" is missing/);
    assert.equal(await bed.scratchLeft('files-checked'), '', 'the scratch container is removed after a failed test too');

    // One flipped byte: the stored archive is refused for restore.
    const flipped = Buffer.from(bytes);
    flipped[flipped.length - 20] ^= 0xff;
    writeFileSync(file, flipped);
    const refused = await bed.cp.call('POST', `${bed.policyPath('files-sealed')}/restore`, { backup: backup.name });
    assert.equal(refused.status, 409, JSON.stringify(refused.body));
    assert.match(refused.body.message, /changed since it was written/);

    // Without the identity, an encrypted backup cannot be restored, and the policy says why.
    await bed.createPolicy('files-sealed-only', {
      target: { volume: 'data' },
      encryption: { recipientSecretRef: encryption.recipientSecretRef },
    });
    const sealedOnly = await bed.runPolicy('files-sealed-only');
    assert.equal(sealedOnly.status, 201, JSON.stringify(sealedOnly.body));
    assert.match(sealedOnly.body.verification.message, /the plaintext is not checked: spec.encryption has no identitySecretRef/);
    const cannot = await bed.cp.call('POST', `${bed.policyPath('files-sealed-only')}/restore`, { backup: sealedOnly.body.backup.name });
    assert.equal(cannot.status, 409, JSON.stringify(cannot.body));
    assert.match(cannot.body.message, /is encrypted: spec.encryption.identitySecretRef must name the age identity/);
  });

  it('holds the volume with a command of its own before the read and runs postCommand after, even when the command fails', async () => {
    await bed.inContainer('rm -f /data/.flushed /tmp/locked /tmp/unlocked');
    const refused = await bed.cp.call('POST', `${G}/namespaces/${bed.project}/backuppolicies`, bed.policy('files-nocmd', { target: { volume: 'data' }, consistency: { mode: 'command' } }));
    assert.equal(refused.status, 400, JSON.stringify(refused.body));
    assert.match(refused.body.message, /spec.consistency.command: mode command needs the command/);
    await bed.createPolicy('files-flushed', {
      target: { volume: 'data' },
      consistency: { mode: 'command', command: ['sh', '-c', 'echo flushed > /data/.flushed && touch /tmp/locked'], postCommand: ['sh', '-c', 'rm /tmp/locked && touch /tmp/unlocked'], timeoutSeconds: 60 },
    });
    const ran = await bed.runPolicy('files-flushed');
    assert.equal(ran.status, 201, JSON.stringify(ran.body));
    const listed = (await run('tar', ['-tf', `${bed.dest}/${ran.body.backup.name}`])).stdout.split('\n');
    assert.ok(listed.includes('./.flushed'), 'the command ran before the read');
    assert.equal(await bed.inContainer('test -e /tmp/unlocked && test ! -e /tmp/locked && echo unlocked'), 'unlocked', 'postCommand ran after it');
    const status = await bed.status('files-flushed');
    assert.match(status.lastBackup.message, /; the container was held by spec.consistency.command for [\d.]+ s$/);

    // A command that fails fails the backup, with its complaint; postCommand still runs.
    await bed.inContainer('rm -f /tmp/unlocked');
    await bed.createPolicy('files-lockfail', {
      target: { volume: 'data' },
      consistency: { mode: 'command', command: ['sh', '-c', 'echo cannot lock >&2; exit 3'], postCommand: ['touch', '/tmp/unlocked'] },
    });
    const failed = await bed.runPolicy('files-lockfail');
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    assert.match(failed.body.message, /spec.consistency.command in container \S+ on server bkup-edge exited with status 3: cannot lock/);
    assert.equal((await bed.condition('files-lockfail', 'LastBackupSucceeded'))?.reason, 'ConsistencyFailed');
    assert.equal(await bed.inContainer('test -e /tmp/unlocked && echo unlocked'), 'unlocked');
    assert.deepEqual(readdirSync(bed.dest).filter((n) => n.startsWith('files-lockfail')), [], 'no file is written');
  });

  it('says clearly why a policy cannot run', async () => {
    for (const [name, spec] of [
      ['files-db', { target: { database: { type: 'mysql', component: 'db' } } }],
      ['files-none', { target: { volume: 'nope' } }],
    ] as const) {
      const res = await bed.cp.call('POST', `${G}/namespaces/${bed.project}/backuppolicies`, bed.policy(name, spec));
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    const noComponent = await until('ComponentNotFound', async () => ((await bed.condition('files-db', 'Ready'))?.reason === 'ComponentNotFound' ? bed.condition('files-db', 'Ready') : undefined));
    assert.equal(noComponent!.status, 'False');
    const missing = await until('VolumeNotFound', async () => ((await bed.condition('files-none', 'Ready'))?.reason === 'VolumeNotFound' ? bed.condition('files-none', 'Ready') : undefined));
    assert.match(missing!.message, /no volume "nope".*its volumes: data/);
    const runDb = await bed.runPolicy('files-db');
    assert.equal(runDb.status, 409, JSON.stringify(runDb.body));
    assert.match(runDb.body.message, /service "files" has no component "db"/);

    await bed.createPolicy('files-ro', { target: { volume: 'data' }, destination: { path: '/proc/holdfast-backups' } });
    const failed = await bed.runPolicy('files-ro');
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    assert.match(failed.body.message, /not writable/);
    const c = await bed.condition('files-ro', 'LastBackupSucceeded');
    assert.equal(c?.status, 'False');
    assert.equal(c?.reason, 'DestinationUnwritable');
    assert.equal((await bed.status('files-ro')).lastBackup.result, 'Failed');
    assert.ok((await bed.events()).some((e) => e.involvedObject.name === 'files-ro' && e.reason === 'BackupFailed' && e.type === 'Warning'));
    assert.ok(!existsSync('/proc/holdfast-backups'));

    // Nothing runs that mounts the volume: refused with the reason, for backups and restores alike.
    await bed.docker('stop', '-t', '0', bed.container);
    const stopped = await bed.runPolicy('files-data');
    assert.equal(stopped.status, 409, JSON.stringify(stopped.body));
    assert.match(stopped.body.message, /no container that mounts volume "data" of service "files" is running/);
    assert.equal((await bed.condition('files-data', 'LastBackupSucceeded'))?.reason, 'ContainerNotRunning');
    const backups = (await bed.status('files-data')).backups as Array<{ name: string }>;
    const notRestored = await bed.cp.call('POST', `${bed.policyPath('files-data')}/restore`, { backup: backups[0].name });
    assert.equal(notRestored.status, 409, JSON.stringify(notRestored.body));
    assert.equal((await bed.status('files-data')).backups.length, 2, 'a failed run deletes nothing');
  });
});
