// Several `holdfast serve` replicas on one PostgreSQL: a write through one reaches a watch served by
// another through LISTEN/NOTIFY, a lost LISTEN connection is caught up from the change log, the
// controller singletons' Leases are held by one replica and handed over when it stops.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import pg from 'pg';
import { CHANGE_FEED_APPLICATION_NAME } from '../../store/change-feed.js';
import { replicaLeaseName, shardLeaseName, SHARD_COUNT } from '../../core/lease/shards.js';
import { runCli } from '../support/cli-process.js';
import { createDatabase, startPostgres, type PostgresServer } from '../support/postgres.js';
import { serveApi, startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { until } from '../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';

interface WatchEvent {
  type: string;
  object: { metadata: { name: string; resourceVersion: string } };
  at: number;
}

/** Follows a watch of Projects on one replica, from its current resourceVersion. */
async function watchProjects(serve: ServeProcess) {
  const list = await serveApi(serve).call('GET', '/projects');
  const ac = new AbortController();
  const res = await fetch(`${serve.url}${G}/projects?watch=true&resourceVersion=${list.body.metadata.resourceVersion}`, {
    headers: { authorization: `Bearer ${serve.token}` },
    signal: ac.signal,
  });
  assert.equal(res.status, 200);
  const events: WatchEvent[] = [];
  const reader = res.body!.getReader();
  void (async () => {
    let buf = '';
    for (;;) {
      const { value, done } = await reader.read();
      if (done) return;
      buf += Buffer.from(value).toString('utf8');
      let i;
      while ((i = buf.indexOf('\n')) >= 0) {
        events.push({ ...JSON.parse(buf.slice(0, i)), at: performance.now() });
        buf = buf.slice(i + 1);
      }
    }
  })().catch(() => undefined);
  return { events, stop: () => ac.abort() };
}

/** The project controller also writes status (MODIFIED); the writes the test makes are these. */
const addsAndDeletes = (events: WatchEvent[]) => events.filter((e) => e.type !== 'MODIFIED').map((e) => [e.type, e.object.metadata.name]);

const project = (name: string) => ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name }, spec: { environments: [{ name: 'production' }] } });

describe('replicas on one PostgreSQL', () => {
  let server: PostgresServer;
  let databaseUrl: string;
  let writer: ServeProcess;
  let reader: ServeProcess;
  let readerDir: string;

  before(async () => {
    server = await startPostgres();
    databaseUrl = await createDatabase(server.url, 'hf_replicas_' + randomBytes(5).toString('hex'));
    // Replicas share the database and the encryption key; the slow poll leaves delivery to NOTIFY.
    const env = {
      DATABASE_URL: databaseUrl,
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      HOLDFAST_CHANGE_POLL_INTERVAL_MS: '600000',
      HOLDFAST_LEASE_DURATION_SECONDS: '3',
      HOLDFAST_LEASE_RENEW_INTERVAL_SECONDS: '1',
    };
    writer = await startServeProcess({ env: { ...env, HOLDFAST_REPLICA_ID: 'replica-writer' } });
    // The admin token lives in the database; the second replica is given the file the first wrote.
    readerDir = mkdtempSync(join(tmpdir(), 'holdfast-serve-'));
    copyFileSync(join(writer.dataDir, 'admin.token'), join(readerDir, 'admin.token'));
    reader = await startServeProcess({ dataDir: readerDir, env: { ...env, HOLDFAST_REPLICA_ID: 'replica-reader', HOLDFAST_CONTROLLERS: 'false' } });
  });
  after(async () => {
    await reader?.stop();
    await writer?.stop();
    rmSync(readerDir, { recursive: true, force: true });
    await server?.stop();
  });

  it('delivers an acknowledged write through one replica to a watch on another within 100 ms', async (t) => {
    const watch = await watchProjects(reader);
    const api = serveApi(writer);
    const latencies: number[] = [];
    try {
      for (let i = 0; i < 10; i++) {
        const name = `fast-${i}`;
        await api.create('/projects', project(name));
        // From the write's acknowledgement; the event may even come before it.
        const acknowledged = performance.now();
        const seen = await until(`${name} on the other replica's watch`, async () => watch.events.find((e) => e.object.metadata.name === name), 10_000, 5);
        latencies.push(Math.max(0, seen.at - acknowledged));
      }
    } finally {
      watch.stop();
    }
    assert.deepEqual(addsAndDeletes(watch.events), latencies.map((_, i) => ['ADDED', `fast-${i}`]));
    const median = [...latencies].sort((a, b) => a - b)[Math.floor(latencies.length / 2)];
    t.diagnostic(`write-to-watch latencies (ms): ${latencies.map((l) => l.toFixed(0)).join(', ')}`);
    assert.ok(median < 100, `median write-to-watch latency ${median.toFixed(1)} ms (all: ${latencies.map((l) => l.toFixed(0)).join(', ')})`);
  });

  it('catches up from the change log after its LISTEN connection is killed, losing nothing and repeating nothing', async () => {
    const watch = await watchProjects(reader);
    const api = serveApi(writer);
    const admin = new pg.Client({ connectionString: databaseUrl });
    await admin.connect();
    try {
      const killed = await admin.query(
        'select pg_terminate_backend(pid) from pg_stat_activity where application_name = $1 and datname = current_database()',
        [CHANGE_FEED_APPLICATION_NAME],
      );
      assert.equal(killed.rowCount, 2, 'each replica had one LISTEN connection');
      const names = ['lost-1', 'lost-2', 'lost-3'];
      for (const name of names) await api.create('/projects', project(name));
      await api.call('DELETE', '/projects/lost-2');
      await until('every change on the watch after the reconnect', async () => (addsAndDeletes(watch.events).length >= 4 ? true : undefined), 30_000);
      assert.deepEqual(addsAndDeletes(watch.events), [['ADDED', 'lost-1'], ['ADDED', 'lost-2'], ['ADDED', 'lost-3'], ['DELETED', 'lost-2']]);
      const versions = watch.events.map((e) => Number(e.object.metadata.resourceVersion));
      assert.deepEqual(versions, [...new Set(versions)].sort((a, b) => a - b), 'each change once, in resourceVersion order');
      assert.match(reader.output(), /change feed connection lost; reconnecting/);
      await until('both replicas listening again', async () => {
        const { rows } = await admin.query('select count(*)::int as n from pg_stat_activity where application_name = $1 and datname = current_database()', [CHANGE_FEED_APPLICATION_NAME]);
        return rows[0].n === 2 ? true : undefined;
      });
      // Nothing more comes: no change was delivered twice.
      await api.create('/projects', project('after'));
      await until('the next change', async () => watch.events.find((e) => e.object.metadata.name === 'after'));
      assert.deepEqual(addsAndDeletes(watch.events).slice(4), [['ADDED', 'after']]);
    } finally {
      watch.stop();
      await admin.end();
    }
  });

  it('shows who holds each singleton Lease (holdfast get leases, /metrics) and answers /livez and /readyz on each replica', async () => {
    for (const replica of [writer, reader]) {
      assert.equal((await fetch(`${replica.url}/livez`)).status, 200);
      const ready = await fetch(`${replica.url}/readyz`);
      assert.equal(ready.status, 200, await ready.text());
    }
    const get = await runCli(['get', 'leases'], { HOLDFAST_URL: reader.url, HOLDFAST_TOKEN: reader.token });
    assert.equal(get.code, 0, get.stderr);
    const rows = get.stdout.trim().split('\n');
    assert.match(rows[0], /^NAME\s+HOLDER\s+RENEWED\s+DURATION\s+TRANSITIONS\s+AGE$/);
    // The first replica took every lease and every shard; the second (no controllers) takes part in
    // housekeeping only, and has no heartbeat: it reconciles nothing.
    const holders = new Map(rows.slice(1).map((r) => r.split(/\s+/).slice(0, 2) as [string, string]));
    assert.equal(holders.get('holdfast-gitops'), 'replica-writer');
    assert.equal(holders.get('holdfast-housekeeping'), 'replica-writer');
    assert.equal(holders.get(replicaLeaseName('replica-writer')), 'replica-writer');
    assert.equal(holders.get(replicaLeaseName('replica-reader')), undefined);
    for (let shard = 0; shard < SHARD_COUNT; shard++) assert.equal(holders.get(shardLeaseName(shard)), 'replica-writer', `shard ${shard}`);
    assert.equal(holders.size, 2 + 1 + SHARD_COUNT);
    const metrics = async (replica: ServeProcess) => (await fetch(`${replica.url}/metrics`, { headers: { authorization: `Bearer ${replica.token}` } })).text();
    assert.match(await metrics(writer), /^holdfast_lease_held\{lease="holdfast-gitops",replica="replica-writer"\} 1$/m);
    assert.match(await metrics(writer), new RegExp(`^holdfast_shards_held\\{replica="replica-writer"\\} ${SHARD_COUNT}$`, 'm'));
    assert.match(await metrics(reader), /^holdfast_lease_held\{lease="holdfast-housekeeping",replica="replica-reader"\} 0$/m);
  });

  it('hands its Leases over when stopped with SIGTERM: the other replica takes housekeeping at its next look', async () => {
    const api = serveApi(reader);
    const holder = async (name: string) => (await api.call('GET', `/leases/${name}`)).body.spec.holderIdentity;
    await writer.stop();
    assert.equal(writer.child.signalCode ?? writer.child.exitCode, 0, writer.output());
    assert.equal(await holder('holdfast-gitops'), undefined, 'released, not left to expire');
    assert.equal(await holder(shardLeaseName(0)), undefined);
    // Released, so taken within one renew interval (1 s) rather than the lease duration.
    await until('the reader holding housekeeping', async () => ((await holder('holdfast-housekeeping')) === 'replica-reader' ? true : undefined), 10_000, 100);
    const lease = (await api.call('GET', '/leases/holdfast-housekeeping')).body.spec;
    assert.equal(lease.leaseTransitions, 1);
  });
});
