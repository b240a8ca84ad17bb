// kill -9 of `holdfast serve` while a backup streams to its destination, then a restart on the same
// data directory: the run is recorded as failed (Interrupted) with the reason, and what it had
// written is removed — no file under a backup's name, nothing a restore or retention could take for
// a good backup.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { createFleet } from '../support/fleet.js';
import { serveApi, startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { loadTestHosts, testHost, type TestHost } from '../support/testhosts.js';
import { until } from '../support/until.js';

const run = promisify(execFile);
const G = '/apis/holdfast.dev/v1alpha1';
const NS = 'bkill';
const CONTAINER = `hf_${NS}_production_files_1`;
const DEST = `/tmp/holdfast-backup-kill-${randomBytes(4).toString('hex')}`;

describe('kill -9 during a backup', { timeout: 300_000 }, () => {
  let host: TestHost;
  let dataDir: string;
  let serve: ServeProcess | undefined;
  // The whole path; `serve` is started in before().
  const call = (method: string, path: string, body?: unknown) => serveApi(serve!).request(method, path, body);
  const docker = async (...args: string[]) => (await run('docker', ['-H', `unix://${host.dockerSocket}`, ...args], { timeout: 60_000 })).stdout.trim();
  const policyPath = `${G}/namespaces/${NS}/backuppolicies/files-data`;

  before(async () => {
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    await docker('rm', '-f', CONTAINER).catch(() => undefined);
    dataDir = mkdtempSync(join(tmpdir(), 'holdfast-backup-kill-'));
    serve = await startServeProcess({ dataDir });
    await createFleet({ call }, host, { project: NS });
    const service = await call('POST', `${G}/namespaces/${NS}/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'files', namespace: NS },
      spec: {
        environment: 'production',
        server: 'edge',
        source: { image: 'holdfast-test/busybox:1' },
        command: ['sh', '-c', 'exec sleep 100000'],
        volumes: [{ name: 'data', mountPath: '/data' }],
      },
    });
    assert.equal(service.status, 201, JSON.stringify(service.body));
    await until('files to run', async () => ((await call('GET', `${G}/namespaces/${NS}/services/files`)).body.status?.conditions?.find((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ? true : undefined), 120_000);
    // Enough data that the stream is still going when the control plane is killed.
    await docker('exec', CONTAINER, 'dd', 'if=/dev/urandom', 'of=/data/big', 'bs=1M', 'count=400');
    const policy = await call('POST', `${G}/namespaces/${NS}/backuppolicies`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'BackupPolicy',
      metadata: { name: 'files-data', namespace: NS },
      spec: { service: 'files', schedule: '@yearly', target: { volume: 'data' }, destination: { path: DEST } },
    });
    assert.equal(policy.status, 201, JSON.stringify(policy.body));
  });

  after(async () => {
    if (serve) {
      await call('DELETE', `${G}/namespaces/${NS}/services/files`).catch(() => undefined);
      await until('cleanup', async () => ((await docker('ps', '-aq', '--filter', `name=${CONTAINER}`)) === '' ? true : undefined), 30_000).catch(() => undefined);
      await serve.stop();
    }
    await docker('rm', '-f', CONTAINER).catch(() => undefined);
    for (const v of (await docker('volume', 'ls', '-q', '--filter', `name=hf_${NS}_`).catch(() => '')).split('\n').filter(Boolean)) await docker('volume', 'rm', '-f', v).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
    rmSync(DEST, { recursive: true, force: true });
  });

  it('records the run as interrupted after a restart and keeps nothing of it', async () => {
    // The run's answer never comes: the server is killed under it.
    const running = call('POST', `${policyPath}/run`, {}).catch(() => undefined);
    const partial = await until('the backup to be streaming', async () => {
      const name = (() => {
        try {
          return readdirSync(DEST).find((n) => n.endsWith('.partial'));
        } catch {
          return undefined;
        }
      })();
      return name && statSync(join(DEST, name)).size > 1024 * 1024 ? name : undefined;
    }, 60_000, 20);
    serve!.child.kill('SIGKILL');
    await running;
    // The cut stream ends the write's input normally: what it left must not become a backup.
    // The host's `sh -c 'cat > …'` sees the end of its input once sshd closes the channel.
    await until('the write on the destination to end', () => run('pgrep', ['-f', DEST]).then(() => undefined, () => true), 30_000);
    assert.ok(readdirSync(DEST).includes(partial), 'the cut write keeps its .partial name');
    assert.deepEqual(readdirSync(DEST).filter((n) => !n.endsWith('.partial')), [], 'no file under a backup\'s name');

    serve = await startServeProcess({ dataDir });
    const last = await until('the run to be recorded as interrupted', async () => {
      const status = (await call('GET', policyPath)).body.status;
      return status?.lastBackup?.result === 'Failed' ? status : undefined;
    }, 60_000);
    assert.match(last.lastBackup.message, /the control plane stopped while this backup was being taken/);
    const condition = (last.conditions as Array<{ type: string; status: string; reason: string }>).find((c) => c.type === 'LastBackupSucceeded');
    assert.deepEqual([condition?.status, condition?.reason], ['False', 'Interrupted']);
    assert.equal(last.backups?.length ?? 0, 0, 'no backup recorded');
    assert.deepEqual(readdirSync(DEST), [], 'the partial file is removed');

    // The next run takes a whole backup.
    const again = await call('POST', `${policyPath}/run`, {});
    assert.equal(again.status, 201, JSON.stringify(again.body));
    assert.equal(again.body.backup.verified, true);
    assert.deepEqual(readdirSync(DEST), [again.body.backup.name]);
  });
});
