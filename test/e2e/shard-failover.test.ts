// Replicas on one PostgreSQL with their servers sharded over them, on a real test host. kill -9 of the
// replica holding a server's shard in the middle of a rollout: another replica takes the shard within
// the lease duration and a renew interval, resumes the deployment and finishes it, and no container
// is created twice. SIGSTOP of the holder past its lease, then SIGCONT: the new holder has finished
// the rollout meanwhile, and the paused replica's late writes are refused (fenced), overwriting nothing.
// A rolling restart of all three replicas (SIGTERM, started again, ready) while a client polls the
// Service's published port: no request fails, no rollout starts again, every shard is held at the end.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { copyFileSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { shardLeaseName, shardOf } from '../../core/lease/shards.js';
import { createDatabase, startPostgres, type PostgresServer } from '../support/postgres.js';
import { declareTestServer, serveApi, startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../support/testhosts.js';
import { until } from '../support/until.js';

const DURATION_S = 3;
const RENEW_S = 1;
const PORT = 18517;
const TERMINAL = ['completed', 'failed', 'canceled'];

interface Deployment {
  id: string;
  revision: number;
  phase: string;
  reason?: string;
  message?: string;
  finishedAt?: string;
  steps: Array<{ name: string; status: string }>;
}

describe('sharded replicas: failover, fencing and a rolling restart', () => {
  let pg: PostgresServer;
  let host: TestHost;
  let env: Record<string, string>;
  let firstDataDir: string;
  const dirs: string[] = [];
  const replicas = new Map<string, ServeProcess>();
  let shard: string;

  const start = async (id: string) => {
    const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-shard-'));
    dirs.push(dataDir);
    // The admin token lives in the database; later replicas are given the file the first wrote.
    if (replicas.size || firstDataDir) copyFileSync(join(firstDataDir, 'admin.token'), join(dataDir, 'admin.token'));
    else firstDataDir = dataDir;
    const serve = await startServeProcess({ dataDir, env: { ...env, HOLDFAST_REPLICA_ID: id }, args: ['--log-level', 'info'] });
    replicas.set(id, serve);
    return serve;
  };
  /** Any replica that answers; the API is the same on each. */
  const api = () => serveApi([...replicas.values()].find((r) => r.child.exitCode === null && r.child.signalCode === null && !stopped.has(r))!);
  const stopped = new Set<ServeProcess>();
  const holderOf = async (lease: string) => (await api().call('GET', `/leases/${lease}`)).body?.spec?.holderIdentity as string | undefined;
  const deployments = async () => (await api().call('GET', '/namespaces/failover/services/slow/deployments')).body.items as Deployment[];
  const deploymentLog = async (id: string) => (await api().call('GET', `/deployments/${id}/logs`)).text;
  const containers = async () => (await hostDocker(host, 'ps', '-a', '--filter', 'label=holdfast.dev/project=failover', '--format', '{{.Names}}')).split('\n').filter(Boolean).sort();
  const service = (greeting: string) => ({
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'slow', namespace: 'failover' },
    spec: {
      environment: 'production',
      server: 'edge',
      source: { image: 'holdfast-test/busybox:1' },
      command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      env: [{ name: 'GREETING', value: greeting }],
      ports: [{ containerPort: 8080, hostPort: PORT }],
      // A readiness probe that only starts after a while keeps the rollout in its health step.
      healthcheck: { http: { path: '/', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 2, failureThreshold: 3, startPeriodSeconds: 8 },
      update: { order: 'stop-first', healthDeadlineSeconds: 60, autoRollback: true },
    },
  });
  /** What each replica logged, for a failure's message. */
  const outputs = () => [...replicas].map(([id, r]) => `--- ${id}:\n${r.output().slice(-4000)}`).join('\n');
  /** until, with every replica's log in the message when it times out. */
  const untilLogged = <T>(what: string, check: () => Promise<T | undefined>, timeoutMs: number, intervalMs?: number) =>
    until(what, check, timeoutMs, intervalMs).catch((err: Error) => {
      throw new Error(`${err.message}\n${outputs()}`);
    });
  const inHealthStep = (revision: number) =>
    until(`revision ${revision} in its health step`, async () => {
      const d = (await deployments()).find((x) => x.revision === revision);
      return d?.steps.find((s) => s.name === 'health')?.status === 'running' ? d : undefined;
    }, 60_000).catch(async (err: Error) => {
      throw new Error(`${err.message}; deployments: ${JSON.stringify(await deployments())}\n${outputs()}`);
    });
  const ended = (id: string) =>
    until(`deployment ${id} to end`, async () => {
      const d = (await deployments()).find((x) => x.id === id);
      return d && TERMINAL.includes(d.phase) ? d : undefined;
    }, 90_000);
  /** Every shard held, by these replicas, none beyond its share. */
  const balanced = (ids: string[]) =>
    untilLogged(`shards balanced over ${ids.join(', ')}`, async () => {
      const { items } = (await api().call('GET', '/leases')).body as { items: Array<{ metadata: { name: string }; spec: { holderIdentity?: string } }> };
      const counts = ids.map((id) => items.filter((l) => l.metadata.name.startsWith('shard-') && l.spec.holderIdentity === id).length);
      return counts.every((n) => n <= Math.ceil(16 / ids.length)) && counts.reduce((a, b) => a + b, 0) === 16 ? true : undefined;
    }, 60_000, 200);

  before(async () => {
    host = testHost(await loadTestHosts({ count: 1 }), 1);
    pg = await startPostgres();
    env = {
      DATABASE_URL: await createDatabase(pg.url, 'hf_shards_' + randomBytes(5).toString('hex')),
      ENCRYPTION_KEY: randomBytes(32).toString('base64'),
      HOLDFAST_LEASE_DURATION_SECONDS: String(DURATION_S),
      HOLDFAST_LEASE_RENEW_INTERVAL_SECONDS: String(RENEW_S),
    };
    await start('replica-a');
    const { create } = api();
    await create('/projects', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: 'failover' }, spec: { environments: [{ name: 'production' }] } });
    await declareTestServer(replicas.get('replica-a')!, 'edge', host);
    shard = shardLeaseName(shardOf((await api().call('GET', '/servers/edge')).body.metadata.uid));
    await start('replica-b');
    await balanced(['replica-a', 'replica-b']);
  });
  after(async () => {
    for (const r of replicas.values()) {
      if (r.child.signalCode === 'SIGSTOP' || stopped.has(r)) r.child.kill('SIGCONT');
    }
    const live = [...replicas.values()].find((r) => r.child.exitCode === null && r.child.signalCode === null);
    if (live) {
      await serveApi(live).call('DELETE', '/namespaces/failover/services/slow').catch(() => undefined);
      await until('cleanup', async () => ((await containers()).length === 0 ? true : undefined), 30_000).catch(() => undefined);
    }
    for (const r of replicas.values()) await r.stop();
    for (const name of await containers().catch(() => [])) await hostDocker(host, 'rm', '-f', name).catch(() => undefined);
    for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
    await pg?.stop();
  });

  it('kill -9 of the shard holder mid-rollout: another replica takes the shard in time, resumes the deployment, creates nothing twice', async (t) => {
    await api().create('/namespaces/failover/services', service('one'));
    const inFlight = await inHealthStep(1);
    const holderId = (await holderOf(shard))!;
    const survivorId = holderId === 'replica-a' ? 'replica-b' : 'replica-a';
    const holder = replicas.get(holderId)!;
    // kill -9: nothing is released; the shard's lease must expire first.
    holder.child.kill('SIGKILL');
    await new Promise((ok) => holder.child.once('exit', ok));
    stopped.add(holder);
    const killed = performance.now();
    await untilLogged(`${survivorId} holding ${shard}`, async () => ((await holderOf(shard)) === survivorId ? true : undefined), 30_000, 100);
    const takeover = performance.now() - killed;
    t.diagnostic(`takeover of ${shard} after kill -9: ${takeover.toFixed(0)} ms (lease ${DURATION_S} s, renew ${RENEW_S} s)`);
    // Lease duration + one renew interval, and the time the survivor's round of leases takes on a loaded machine.
    assert.ok(takeover < (DURATION_S + RENEW_S) * 1000 + 4000, `taken over after ${takeover.toFixed(0)} ms`);

    const done = await ended(inFlight.id);
    const log = await deploymentLog(inFlight.id);
    assert.equal(done.phase, 'completed', `${done.reason}: ${done.message}\n${log}`);
    assert.match(log, /resumed after a control plane restart/);
    assert.deepEqual(await containers(), ['hf_failover_production_slow_1'], `exactly one container: no duplicate\n${log}`);
    assert.match(replicas.get(survivorId)!.output(), new RegExp(`"deployment":"${inFlight.id}".*"msg":"deployment resumed after a restart"`));
    const status = await until('the Service Ready on the survivor', async () => {
      const s = (await api().call('GET', '/namespaces/failover/services/slow')).body;
      return s.status?.conditions?.find((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ? s : undefined;
    }, 60_000);
    assert.equal(status.status.observedGeneration, 1);
  });

  it('SIGSTOP of the holder past its lease, then SIGCONT: its late writes are refused and nothing the new holder wrote is overwritten', async () => {
    await start('replica-c');
    const live = [...replicas.entries()].filter(([, r]) => !stopped.has(r)).map(([id]) => id);
    await balanced(live);
    const { resourceVersion: _rv, ...metadata } = (await api().call('GET', '/namespaces/failover/services/slow')).body.metadata;
    assert.equal((await api().call('PUT', '/namespaces/failover/services/slow', { ...service('two'), metadata })).status, 200);
    const inFlight = await inHealthStep(2);
    const pausedId = (await holderOf(shard))!;
    const takerId = live.find((id) => id !== pausedId)!;
    const paused = replicas.get(pausedId)!;
    paused.child.kill('SIGSTOP');
    stopped.add(paused);
    try {
      await untilLogged(`${takerId} holding ${shard}`, async () => ((await holderOf(shard)) === takerId ? true : undefined), 30_000, 100);
      const done = await ended(inFlight.id);
      assert.equal(done.phase, 'completed', `${done.reason}: ${done.message}\n${await deploymentLog(inFlight.id)}`);
      const logBefore = await deploymentLog(inFlight.id);
      paused.child.kill('SIGCONT');
      stopped.delete(paused);
      // Woken, the paused replica's rollout goes on from where it was: each of its writes is refused.
      await untilLogged('the paused replica giving the deployment up', async () => (/"msg":"deployment handed over"/.test(paused.output()) ? true : undefined), 30_000, 100);
      const after = (await deployments()).find((d) => d.id === inFlight.id)!;
      assert.equal(after.phase, 'completed');
      assert.equal(after.finishedAt, done.finishedAt, 'the record the new holder finished is not rewritten');
      assert.equal(await deploymentLog(inFlight.id), logBefore, 'no late log line from the paused replica');
      assert.doesNotMatch(logBefore, /stopped on this replica/);
      // Refused at its next write, or stopped by its own lease round first (whose last log line was then refused).
      assert.match(paused.output(), /"msg":"deployment handed over"/);
      assert.match(paused.output(), /write refused: it was made under lease shard-\d+ held by replica-\w \(transitions \d+\), which is now held by replica-\w|lease shard-\d+ lost/);
      assert.deepEqual(await containers(), ['hf_failover_production_slow_1']);
      const env = await hostDocker(host, 'inspect', '--format', '{{json .Config.Env}}', 'hf_failover_production_slow_1');
      assert.match(env, /GREETING=two/);
    } finally {
      paused.child.kill('SIGCONT');
      stopped.delete(paused);
    }
  });
  it('a rolling restart of the three replicas: the Service answers every request, no rollout starts again, every shard is held', async (t) => {
    // The replica killed earlier comes back first, so three run.
    for (const [id, r] of replicas) if (stopped.has(r)) await start(id);
    const ids = [...replicas.keys()].sort();
    assert.equal(ids.length, 3);
    await balanced(ids);
    const before = (await deployments()).map((d) => d.id).sort();
    const client = pollService(`http://${host.address}:${PORT}/`);
    try {
      await until('the client answered once', async () => (client.answered() > 0 ? true : undefined), 30_000, 100);
      for (const id of ids) {
        const old = replicas.get(id)!;
        stopped.add(old);
        const exited = new Promise<number | null>((ok) => old.child.once('exit', (code) => ok(code)));
        old.child.kill('SIGTERM');
        // A graceful shutdown hands its shards over before it exits (within the lease duration, not at its expiry).
        assert.equal(await exited, 0, `${id} exits cleanly on SIGTERM\n${old.output().slice(-4000)}`);
        await start(id);
        await balanced(ids);
      }
      const answeredDuring = client.answered();
      await until('the client answered after the last restart', async () => (client.answered() > answeredDuring ? true : undefined), 30_000, 100);
    } finally {
      await client.stop();
    }
    t.diagnostic(`requests to the Service during the rolling restart: ${client.answered()} answered, ${client.failures.length} failed`);
    assert.deepEqual(client.failures, [], 'no request to the Service failed');
    assert.deepEqual((await deployments()).map((d) => d.id).sort(), before, `no rollout started\n${outputs()}`);
    assert.deepEqual(await containers(), ['hf_failover_production_slow_1']);
    await balanced(ids);
    await until('the Service Ready', async () => {
      const s = (await api().call('GET', '/namespaces/failover/services/slow')).body;
      return s.status?.conditions?.some((c: { type: string; status: string }) => c.type === 'Ready' && c.status === 'True') ? true : undefined;
    }, 60_000);
  });
});

/** GETs a URL again and again until stopped, one request at a time: how many were answered 200, and every failure. */
function pollService(url: string) {
  let answered = 0;
  let stopping = false;
  const failures: string[] = [];
  const loop = (async () => {
    while (!stopping) {
      try {
        const res = await fetch(url, { signal: AbortSignal.timeout(10_000) });
        await res.arrayBuffer();
        if (res.status === 200) answered++;
        else failures.push(`HTTP ${res.status} at ${new Date().toISOString()}`);
      } catch (err) {
        failures.push(`${(err as Error).message} at ${new Date().toISOString()}`);
      }
      await new Promise((ok) => setTimeout(ok, 50));
    }
  })();
  return {
    failures,
    answered: () => answered,
    async stop() {
      stopping = true;
      await loop;
    },
  };
}
