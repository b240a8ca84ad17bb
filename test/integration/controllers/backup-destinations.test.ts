// Backups copied to several destinations, on a real test host (host 2) through an in-process control
// plane: a directory on the Service's server, an S3 bucket, and an S3 endpoint nobody listens on.
// The backup is taken once and streamed to all three; the unreachable one is reported failed in the
// run record (its upload and its prune) while the other two are written, verified, kept and pruned
// with their own retention; a restore reads the copy from the bucket.
//
// The bucket is served by s3rver (an S3 server in JavaScript, from npm): Debian packages no S3
// server that runs on its own (radosgw needs a Ceph cluster's RADOS), so s3rver is the most real one
// this machine can run. It checks the request signatures, so the credentials from the Secret count.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { GetObjectCommand, ListObjectsV2Command, S3Client } from '@aws-sdk/client-s3';
import { Decrypter, generateIdentity, identityToRecipient } from 'age-encryption';
import S3rver from 's3rver';
import { startBackupTestbed, type BackupTestbed } from '../../support/backup-testbed.js';

const G = '/apis/holdfast.dev/v1alpha1';
const BUCKET = 'holdfast-backups';
/** s3rver's own key pair; it refuses any other. */
const S3_KEYS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' };

interface Copy {
  destination: string;
  location?: string;
  result: string;
  reason?: string;
  verified?: boolean;
  message?: string;
}

/** A port on the loopback that nothing listens on. */
async function closedPort(): Promise<number> {
  const server = createServer();
  await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
  const { port } = server.address() as { port: number };
  await new Promise((ok) => server.close(ok));
  return port;
}

describe('backups to several destinations', { timeout: 180_000 }, () => {
  let bed: BackupTestbed;
  let s3: S3rver;
  let s3Dir: string;
  let endpoint: string;
  let client: S3Client;
  const bucketKeys = async () => ((await client.send(new ListObjectsV2Command({ Bucket: BUCKET }))).Contents ?? []).map((o) => o.Key!).sort();
  const object = async (key: string) => Buffer.from(await (await client.send(new GetObjectCommand({ Bucket: BUCKET, Key: key }))).Body!.transformToByteArray());

  before(async () => {
    s3Dir = mkdtempSync(join(tmpdir(), 'holdfast-s3rver-'));
    s3 = new S3rver({ address: '127.0.0.1', port: 0, silent: true, directory: s3Dir, configureBuckets: [{ name: BUCKET, configs: [] }] });
    const { port } = await s3.run();
    endpoint = `http://127.0.0.1:${port}`;
    client = new S3Client({ endpoint, region: 'us-east-1', forcePathStyle: true, credentials: S3_KEYS });
    bed = await startBackupTestbed({
      project: 'bkdest',
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
    client?.destroy();
    await s3?.close();
    if (s3Dir) rmSync(s3Dir, { recursive: true, force: true });
  });

  it('refuses two destinations of one name, and a bucket with a server', async () => {
    const post = (destinations: unknown[]) =>
      bed.cp.call('POST', `${G}/namespaces/${bed.project}/backuppolicies`, bed.policy('refused', { target: { volume: 'data' }, destinations }));
    const s3 = { bucket: BUCKET, credentialsSecretRef: { name: 's3' } };
    const twice = await post([
      { name: 'a', path: bed.dest },
      { name: 'a', s3 },
    ]);
    assert.equal(twice.status, 400, JSON.stringify(twice.body));
    assert.deepEqual(
      (twice.body.details.causes as Array<{ field: string; message: string }>).map((c) => [c.field, c.message]),
      [['spec.destinations[1]', 'duplicate entry: name "a" is already listed at spec.destinations[0]']],
    );
    const withServer = await post([{ name: 'a', server: bed.server, s3 }]);
    assert.equal(withServer.status, 400, JSON.stringify(withServer.body));
    assert.deepEqual(
      (withServer.body.details.causes as Array<{ field: string }>).map((c) => c.field),
      ['spec.destinations[0].server'],
    );
    assert.match(withServer.body.message, /server applies to a directory \(path\), not to an s3 bucket/);
  });

  it('copies one encrypted backup to a directory and a bucket, reports the unreachable endpoint, and restores from the bucket', async () => {
    const identity = await generateIdentity();
    const secrets = [
      { name: 'offsite-s3', stringData: S3_KEYS },
      { name: 'backup-age', stringData: { recipient: await identityToRecipient(identity), identity } },
    ];
    for (const { name, stringData } of secrets) await bed.createSecret(name, stringData);
    const bucket = (extra: Record<string, unknown>) => ({ bucket: BUCKET, forcePathStyle: true, credentialsSecretRef: { name: 'offsite-s3' }, ...extra });
    await bed.createPolicy('files-data', {
      target: { volume: 'data' },
      destinations: [
        { name: 'local', path: bed.dest },
        { name: 'offsite', s3: bucket({ endpoint, prefix: 'shop' }), retention: { keepLast: 1 } },
        { name: 'gone', s3: bucket({ endpoint: `http://127.0.0.1:${await closedPort()}` }) },
      ],
      retention: { keepLast: 2 },
      encryption: { recipientSecretRef: { name: 'backup-age', key: 'recipient' }, identitySecretRef: { name: 'backup-age', key: 'identity' } },
      verification: { restoreTest: true, restoreChecks: { files: ['hello.txt'] } },
    });
    await bed.inContainer('echo original > /data/hello.txt');

    const first = await bed.runPolicy('files-data');
    assert.equal(first.status, 201, JSON.stringify(first.body));
    const b1 = first.body.backup as { name: string; sha256: string; plaintextSha256: string; verified: boolean; destinations: string[] };
    const copies = first.body.copies as Copy[];
    assert.deepEqual(
      copies.map((c) => [c.destination, c.result, c.verified ?? null]),
      [
        ['local', 'Succeeded', true],
        ['offsite', 'Succeeded', true],
        ['gone', 'Failed', null],
      ],
    );
    assert.equal(copies[0].location, `${bed.dest}/${b1.name} on server ${bed.server}`);
    assert.equal(copies[1].location, `s3://${BUCKET}/shop/${b1.name}`);
    assert.equal(copies[2].reason, 'ServerUnavailable');
    assert.match(copies[2].message!, /ECONNREFUSED/);
    assert.equal(b1.verified, true);
    assert.deepEqual(b1.destinations, ['local', 'offsite']);

    // The same ciphertext in both places, decrypting to the archive.
    const inBucket = await object(`shop/${b1.name}`);
    const onDisk = readFileSync(`${bed.dest}/${b1.name}`);
    assert.equal(createHash('sha256').update(inBucket).digest('hex'), b1.sha256);
    assert.ok(inBucket.equals(onDisk));
    const decrypter = new Decrypter();
    decrypter.addIdentity(identity);
    assert.equal(createHash('sha256').update(await decrypter.decrypt(inBucket)).digest('hex'), b1.plaintextSha256);

    const status = (await bed.status('files-data'));
    assert.equal(status.lastBackup.result, 'Succeeded');
    assert.deepEqual(
      (status.lastBackup.copies as Copy[]).map((c) => [c.destination, c.result]),
      [
        ['local', 'Succeeded'],
        ['offsite', 'Succeeded'],
        ['gone', 'Failed'],
      ],
    );
    const succeeded = (status.conditions as Array<{ type: string; status: string; reason: string; message: string }>).find((c) => c.type === 'LastBackupSucceeded')!;
    assert.deepEqual([succeeded.status, succeeded.reason], ['True', 'CopyFailed']);
    assert.match(succeeded.message, /not copied to gone \(ServerUnavailable/);
    assert.equal(status.lastVerification.restoreTested, true);
    // The run's record: each step with its outcome, the upload and verify steps per destination.
    const [lastRun] = status.runs as Array<{ backup: string; result: string; steps: Array<{ name: string; destination?: string; result: string; sizeBytes?: number; sha256?: string; startTime: string; completionTime: string; message?: string }> }>;
    assert.equal(lastRun.backup, b1.name);
    assert.equal(lastRun.result, 'Succeeded');
    assert.deepEqual(
      lastRun.steps.map((step) => `${step.name}${step.destination ? ` ${step.destination}` : ''}=${step.result}`),
      [
        'prepare=Succeeded', 'archive=Succeeded', 'encrypt=Succeeded', 'upload local=Succeeded', 'upload offsite=Succeeded', 'upload gone=Failed',
        'verify local=Succeeded', 'verify offsite=Succeeded', 'restoreTest=Succeeded', 'prune local=Succeeded', 'prune offsite=Succeeded', 'prune gone=Failed',
      ],
    );
    // Retention cannot list the unreachable endpoint either: said so for it alone, and the others are pruned.
    const step = (name: string, destination?: string) => lastRun.steps.find((x) => x.name === name && x.destination === destination)!;
    assert.deepEqual([step('prune', 'local').message, step('prune', 'offsite').message], ['nothing to delete', 'nothing to delete']);
    assert.match(step('prune', 'gone').message!, /ECONNREFUSED/);
    assert.equal(step('archive').sha256, b1.plaintextSha256);
    assert.deepEqual([step('upload', 'offsite').sizeBytes, step('upload', 'offsite').sha256, step('upload', 'offsite').message], [first.body.backup.sizeBytes, b1.sha256, `s3://${BUCKET}/shop/${b1.name}`]);
    assert.match(step('upload', 'gone').message!, /ECONNREFUSED/);
    assert.ok(lastRun.steps.every((x) => Date.parse(x.completionTime) >= Date.parse(x.startTime)));
    const events = (await bed.cp.call('GET', `${G}/namespaces/${bed.project}/events`)).body.items as Array<{ reason: string; type: string; message: string }>;
    assert.ok(events.some((e) => e.type === 'Warning' && e.reason === 'CopyFailed' && e.message.includes('destination gone')));
    assert.ok(events.some((e) => e.reason === 'BackupStarted' && /^backup of volume "data" of service files started by \S+$/.test(e.message)));
    assert.ok(events.some((e) => e.reason === 'BackupSucceeded' && /steps: prepare [\d.]+ s, archive [\d.]+ s, .*upload gone failed.*prune gone failed\)$/.test(e.message)));
    assert.ok(events.some((e) => e.type === 'Warning' && e.reason === 'RetentionFailed' && /^old backups could not be deleted from destination gone: .*ECONNREFUSED/.test(e.message)));
    assert.ok(!events.some((e) => e.reason === 'RetentionFailed' && /destination (local|offsite)/.test(e.message)));
    assert.ok(!JSON.stringify({ status, events }).includes(identity.slice(20)), 'the age identity shows nowhere');

    // Restored from the bucket's copy.
    await bed.inContainer('echo changed > /data/hello.txt');
    const restored = await bed.cp.call('POST', `${bed.policyPath('files-data')}/restore`, { backup: b1.name, destination: 'offsite' });
    assert.equal(restored.status, 200, JSON.stringify(restored.body));
    assert.equal(restored.body.destination, 'offsite');
    assert.equal(await bed.inContainer('cat /data/hello.txt'), 'original');
    const unknown = await bed.cp.call('POST', `${bed.policyPath('files-data')}/restore`, { backup: b1.name, destination: 'nowhere' });
    assert.equal(unknown.status, 400, JSON.stringify(unknown.body));
    assert.match(unknown.body.message, /no destination "nowhere" \(its destinations: local, offsite, gone\)/);

    // A second backup: the bucket keeps one, the directory two.
    await bed.inContainer('echo second > /data/hello.txt');
    const second = await bed.runPolicy('files-data');
    assert.equal(second.status, 201, JSON.stringify(second.body));
    const b2 = second.body.backup as { name: string };
    assert.deepEqual(second.body.removed, [`${b1.name} (offsite)`]);
    const secondRun = (await bed.status('files-data')).runs[0] as { steps: Array<{ name: string; destination?: string; result: string; message?: string }> };
    const pruned = secondRun.steps.filter((x) => x.name === 'prune');
    assert.deepEqual(
      pruned.map((x) => [x.destination, x.result]),
      [
        ['local', 'Succeeded'],
        ['offsite', 'Succeeded'],
        ['gone', 'Failed'],
      ],
    );
    assert.deepEqual([pruned[0].message, pruned[1].message], ['nothing to delete', `deleted ${b1.name}`]);
    assert.match(pruned[2].message!, /ECONNREFUSED/);
    assert.deepEqual(await bucketKeys(), [`shop/${b2.name}`]);
    assert.deepEqual(readdirSync(bed.dest).sort(), [b1.name, b2.name].sort());
    const kept = (await bed.status('files-data')).backups as Array<{ name: string; destinations: string[] }>;
    assert.deepEqual(
      kept.map((b) => [b.name, b.destinations]),
      [
        [b2.name, ['local', 'offsite']],
        [b1.name, ['local']],
      ],
    );
  });
});
