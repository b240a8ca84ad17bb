// What Holdfast reports when a host is changed behind its back, on a real test host with the default
// resync intervals (so only Docker's events can make it quick): a replica taken off its network is
// drift naming networks[bridge] within seconds and not ready (its probe cannot reach it), and under
// heal is put back; a container carrying only our managed-by label and the Service's name is an
// unexpected container; a replica that keeps exiting 3 under heal reads CrashLoopBackOff, keeps one
// drift record open instead of flapping, and is healed with a growing wait between heals.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const NS = 'truth';
const PORTS = { web: 18501, mender: 18502, crasher: 18503 };
const INTRUDER = 'truth-intruder';
const container = (service: string) => `hf_${NS}_production_${service}_1`;

type Condition = { type: string; status: string; reason: string; message: string };
interface Entry {
  path: string;
  kind: string;
  source: string;
  expected?: unknown;
  actual?: unknown;
}
interface Event {
  involvedObject: { name: string };
  reason: string;
  message: string;
  type: string;
}

/** httpd serving /www, or exiting 3 a second after it starts while /data/crash exists. */
const switchedCommand = ['sh', '-c', 'if test -f /data/crash; then echo "crashing on purpose"; sleep 1; exit 3; fi; exec httpd -f -p 8080 -h /www'];
const probe = { http: { path: '/', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 2 };

describe('status and drift when a host is changed behind Holdfast\'s back', { timeout: 420_000 }, () => {
  let cp: TestControlPlane;
  let host: TestHost;
  const svcPath = (name: string) => `${G}/namespaces/${NS}/services/${name}`;
  const docker = (...args: string[]) => hostDocker(host, ...args);
  const managed = async () => (await docker('ps', '-a', '--filter', `label=holdfast.dev/project=${NS}`, '--format', '{{.Names}}')).split('\n').filter(Boolean);
  const service = (name: keyof typeof PORTS, mode: 'report' | 'heal') => ({
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name, namespace: NS },
    spec: {
      environment: 'production',
      server: 'edge',
      source: { image: 'holdfast-test/busybox:1' },
      command: switchedCommand,
      restartPolicy: 'unless-stopped',
      ports: [{ containerPort: 8080, hostPort: PORTS[name] }],
      volumes: [{ name: 'data', mountPath: '/data' }],
      healthcheck: probe,
      update: { order: 'stop-first', healthDeadlineSeconds: 20, autoRollback: false },
      driftPolicy: { mode },
      deletionPolicy: 'Delete',
    },
  });
  const conditionOf = async (name: string, type: string) => ((await cp.call('GET', svcPath(name))).body as Resource).status?.conditions?.find((c) => c.type === type) as Condition | undefined;
  const readyBecomes = (name: string, status: 'True' | 'False', reason?: string, ms = 30_000) =>
    until(`${name} Ready=${status}${reason ? ` (${reason})` : ''}`, async () => {
      const svc = (await cp.call('GET', svcPath(name))).body as Resource;
      const c = svc.status?.conditions?.find((x) => x.type === 'Ready') as Condition | undefined;
      const s = svc.status as { readyReplicas?: number };
      return c?.status === status && (!reason || c.reason === reason) ? { ...c, readyReplicas: s.readyReplicas } : undefined;
    }, ms, 100);
  const driftOf = async (name: string) => {
    const res = await cp.call('GET', `${svcPath(name)}/views`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return (res.body as { drift: Entry[] }).drift;
  };
  const driftHas = (name: string, path: string, kind: string, ms = 10_000) =>
    until(`drift of ${name} to hold ${path} ${kind}`, async () => {
      const drift = await driftOf(name);
      const entry = drift.find((e) => e.path === path && e.kind === kind);
      if (!entry) throw new Error(`now ${JSON.stringify(drift.map((e) => `${e.path} ${e.kind}`))}`);
      return entry;
    }, ms, 100);
  const driftClears = (name: string, ms = 30_000) =>
    until(`drift of ${name} to clear`, async () => {
      const drift = await driftOf(name);
      if (drift.length) throw new Error(`now ${JSON.stringify(drift.map((e) => `${e.path} ${e.kind}`))}`);
      return true;
    }, ms, 200);
  const eventsOf = async (name: string) => ((await cp.call('GET', `${G}/namespaces/${NS}/events`)).body.items as Event[]).filter((e) => e.involvedObject.name === name);
  const deploymentsOf = async (name: string) =>
    (await cp.call('GET', `${svcPath(name)}/deployments`)).body.items as Array<{ id: string; revision: number; phase: string; trigger: string; reason?: string; message?: string; createdAt: string }>;

  before(async () => {
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    await docker('rm', '-f', INTRUDER).catch(() => undefined);
    for (const name of await managed()) await docker('rm', '-f', name).catch(() => undefined);
    cp = await startTestControlPlane('pglite');
    await createFleet(cp, host, { project: NS });
    for (const [name, mode] of [['web', 'report'], ['mender', 'heal'], ['crasher', 'heal']] as const) {
      const res = await cp.call('POST', `${G}/namespaces/${NS}/services`, service(name, mode));
      assert.equal(res.status, 201, JSON.stringify(res.body));
    }
    for (const name of Object.keys(PORTS)) {
      const d = await until(`${name} to deploy`, async () => (await deploymentsOf(name)).find((x) => ['completed', 'failed', 'canceled'].includes(x.phase)), 120_000, 250);
      assert.equal(d.phase, 'completed', `${name}: ${d.reason}: ${d.message}`);
      await readyBecomes(name, 'True', 'Available');
    }
  });
  after(async () => {
    await cp?.stop();
    await docker('rm', '-f', INTRUDER).catch(() => undefined);
    for (const name of await managed().catch(() => [])) await docker('rm', '-f', name).catch(() => undefined);
    const volumes = (await docker('volume', 'ls', '-q', '--filter', `name=hf_${NS}_`).catch(() => '')).split('\n').filter(Boolean);
    for (const v of volumes) await docker('volume', 'rm', '-f', v).catch(() => undefined);
  });

  it('a replica disconnected from its network is drift naming networks[bridge] within seconds, and not ready; reconnected, both clear', async () => {
    const disconnected = Date.now();
    await docker('network', 'disconnect', 'bridge', container('web'));
    await driftHas('web', `containers[${container('web')}].networks[bridge]`, 'missing', 10_000);
    const seenAfter = Date.now() - disconnected;
    assert.ok(seenAfter <= 5000, `the disconnect was drift after ${seenAfter} ms`);
    const notReady = await readyBecomes('web', 'False', 'ProbeFailing', 10_000);
    assert.equal(notReady.readyReplicas, 0);
    await until('a DriftDetected event naming the network', async () => ((await eventsOf('web')).some((e) => e.reason === 'DriftDetected' && e.message.includes('networks[bridge]')) ? true : undefined), 10_000);
    assert.equal(JSON.parse(await docker('inspect', '--format', '{{json .State.Running}}', container('web'))), true, 'report mode leaves the host alone');

    await docker('network', 'connect', 'bridge', container('web'));
    await driftClears('web');
    await readyBecomes('web', 'True', 'Available', 10_000);
  });

  it('under heal, a replica disconnected from its network is put back on it', async () => {
    await docker('network', 'disconnect', 'bridge', container('mender'));
    const heal = await until('the heal deployment', async () => (await deploymentsOf('mender')).find((d) => d.trigger === 'controller' && d.phase === 'completed'), 60_000, 250);
    await driftClears('mender');
    const networks = JSON.parse(await docker('inspect', '--format', '{{json .NetworkSettings.Networks}}', container('mender'))) as Record<string, unknown>;
    assert.deepEqual(Object.keys(networks), ['bridge']);
    await readyBecomes('mender', 'True', 'Available', 10_000);
    await until('DriftHealed naming the heal', async () => ((await eventsOf('mender')).some((e) => e.reason === 'DriftHealed' && e.message.includes(heal.id)) ? true : undefined), 10_000);
  });

  it('a container carrying only our managed-by label and the Service\'s name is an unexpected container, and no replica', async () => {
    await docker('run', '-d', '--name', INTRUDER, '--label', 'holdfast.dev/managed-by=holdfast', '--label', 'holdfast.dev/service=web', 'holdfast-test/busybox:1', 'sleep', '100000');
    const entry = await driftHas('web', `containers[${INTRUDER}]`, 'unexpected', 10_000);
    assert.deepEqual(entry.actual, { image: 'holdfast-test/busybox:1', id: (await docker('inspect', '--format', '{{.Id}}', INTRUDER)).slice(0, 12), state: 'running' });
    const drifted = await until('Drifted=True', async () => {
      const c = await conditionOf('web', 'Drifted');
      return c?.status === 'True' ? c : undefined;
    }, 10_000);
    assert.match(drifted.message, new RegExp(`containers\\[${INTRUDER}\\] unexpected`));
    const ready = await readyBecomes('web', 'True', 'Available');
    assert.equal(ready.readyReplicas, 1, 'the intruder is not counted as a replica');
    await docker('rm', '-f', INTRUDER);
    await driftClears('web');
  });

  it('a replica crash-looping under heal reads CrashLoopBackOff, its drift does not flap, and heals wait longer each time', async (t) => {
    await docker('exec', container('crasher'), 'touch', '/data/crash');
    const started = Date.now();
    await docker('kill', container('crasher'));
    const looping = await readyBecomes('crasher', 'False', 'CrashLoopBackOff', 60_000);
    assert.match(looping.message, /last exit code 3/);
    assert.equal(looping.readyReplicas, 0);

    // Watch for a while: the Service never reads Ready, and the heals are spaced out.
    const watchUntil = Date.now() + 45_000;
    while (Date.now() < watchUntil) {
      const ready = await conditionOf('crasher', 'Ready');
      assert.notEqual(ready?.status, 'True', `Ready True while crash-looping: ${JSON.stringify(ready)}`);
      await new Promise((ok) => setTimeout(ok, 250));
    }
    const heals = (await deploymentsOf('crasher')).filter((d) => d.trigger === 'controller').sort((a, b) => a.revision - b.revision);
    const times = heals.map((d) => Date.parse(d.createdAt) - started);
    t.diagnostic(`heals at ${times.map((ms) => `${(ms / 1000).toFixed(1)} s`).join(', ')} after the loop began`);
    assert.ok(heals.length >= 2, `heal tried, and tried again: ${heals.length}`);
    // Heal n+1 waits at least 5 s × 2^(n-1) after heal n: a fifth could come 75 s after the first at the earliest.
    assert.ok(heals.length <= 4, `${heals.length} heals in 45 s`);
    for (let i = 1; i < times.length; i++) assert.ok(times[i] - times[i - 1] >= 5000 * 2 ** (i - 1), `heal ${i + 1} came ${times[i] - times[i - 1]} ms after heal ${i}`);

    const events = await eventsOf('crasher');
    assert.ok(!events.some((e) => e.reason === 'DriftHealed'), 'a crash loop is never DriftHealed');
    assert.ok(!events.some((e) => e.reason === 'DriftResolved'), `drift never resolved meanwhile: ${JSON.stringify(events.map((e) => e.reason))}`);
    assert.equal(events.filter((e) => e.reason === 'DriftDetected').length, 1, `drift detected once: ${JSON.stringify(events.map((e) => `${e.reason}: ${e.message}`))}`);
    const backoff = events.find((e) => e.reason === 'HealBackoff');
    assert.ok(backoff, `a HealBackoff event says why heals wait: ${JSON.stringify(events.map((e) => e.reason))}`);
    assert.match(backoff.message, /the last heal \(deployment d-\w+\) failed.*, so the next heal waits \d+ s/);
    const drifted = await conditionOf('crasher', 'Drifted');
    assert.equal(drifted?.status, 'True');
    assert.match(drifted!.message, /crash loop \(exit code 3\)|state\.status changed/);
  });
});
