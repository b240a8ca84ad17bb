// Drift on a real test host (host 2), through an in-process control plane: every change people make
// behind Holdfast's back shows up in the views API as exactly the field-level entries it should, and
// goes again when the change is undone; `heal` puts a stopped container back, and stops after five
// heals in five minutes. First, the false-positive test: with every example kind of Service deployed
// and nothing touched, several resyncs find no drift at all.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { load as loadYaml } from 'js-yaml';
import type { Resource } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { loadTestHosts, readPrivateKey, testHost, type TestHost } from '../../support/testhosts.js';

const run = promisify(execFile);
const G = '/apis/holdfast.dev/v1alpha1';
const NS = 'drift';
const SECRET = 'drift-secret-value-1';
const PORTS = { web: 18491, healer: 18492, api: 18493, example: 18497, storefront: 18498 };
const RESYNC_MS = 1500;

interface Entry {
  path: string;
  kind: string;
  expected?: unknown;
  actual?: unknown;
  source: string;
  firstSeen?: string;
  lastSeen?: string;
}

const container = (service: string, replica = 1) => `hf_${NS}_production_${service}_${replica}`;
const live = (path: string, kind: string, expected: unknown, actual: unknown): Entry => {
  const e: Entry = { path, kind, source: 'live-vs-frozen' };
  if (expected !== undefined) e.expected = expected;
  if (actual !== undefined) e.actual = actual;
  return e;
};
const fieldsOf = (entries: Entry[]) => entries.map(({ firstSeen: _f, lastSeen: _l, ...rest }) => rest);

async function sleep(ms: number) {
  await new Promise((ok) => setTimeout(ok, ms));
}

async function until<T>(what: string, fn: () => Promise<T | undefined>, ms = 60_000, everyMs = 100): Promise<T> {
  const deadline = Date.now() + ms;
  let last: unknown;
  while (Date.now() < deadline) {
    try {
      const v = await fn();
      if (v !== undefined) return v;
    } catch (err) {
      last = err;
    }
    await sleep(everyMs);
  }
  throw new Error(`timed out waiting for ${what}${last ? `: ${(last as Error).message}` : ''}`);
}

const commonSpec = {
  environment: 'production',
  server: 'edge',
  source: { image: 'holdfast-test/busybox:1' },
  update: { order: 'stop-first', healthDeadlineSeconds: 15, autoRollback: true },
};
const secretEnv = { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } };
/** Crash switch: the command exits 1 while /data/crash exists; /tmp/healthy feeds the healthcheck. */
const switchedCommand = ['sh', '-c', 'test -f /data/crash && exit 1; touch /tmp/healthy; exec httpd -f -p 8080 -h /www'];
const execHealthcheck = { exec: { command: ['test', '-f', '/tmp/healthy'] }, intervalSeconds: 1, timeoutSeconds: 2, failureThreshold: 2 };

const services: Record<string, Record<string, unknown>> = {
  web: {
    ...commonSpec,
    command: switchedCommand,
    env: [{ name: 'GREETING', value: 'hello' }, secretEnv],
    ports: [{ containerPort: 8080, hostPort: PORTS.web }],
    volumes: [{ name: 'data', mountPath: '/data' }],
    healthcheck: execHealthcheck,
  },
  api: {
    ...commonSpec,
    command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
    env: [{ name: 'GREETING', value: 'hello' }, secretEnv],
    ports: [{ containerPort: 8080, hostPort: PORTS.api }],
    volumes: [{ name: 'data', mountPath: '/data' }],
    labels: { tier: 'backend' },
  },
  workers: { ...commonSpec, command: ['sh', '-c', 'exec sleep 100000'], replicas: 2 },
  healer: {
    ...commonSpec,
    command: switchedCommand,
    ports: [{ containerPort: 8080, hostPort: PORTS.healer }],
    volumes: [{ name: 'data', mountPath: '/data' }],
    restartPolicy: 'no',
    driftPolicy: { mode: 'heal' },
  },
};

/** The examples repository's Services, moved to this test's project, server and ports. */
function exampleServices(): Record<string, Record<string, unknown>> {
  const web = loadYaml(readFileSync('examples/manifests/shop/web.yaml', 'utf8')) as Resource;
  const storefront = loadYaml(readFileSync('examples/manifests/shop/storefront.yaml', 'utf8')) as Resource;
  const compose = loadYaml(readFileSync('examples/compose/storefront.yaml', 'utf8')) as { services: Record<string, { ports?: string[]; command?: string[] }> };
  compose.services.app.ports = [`${PORTS.storefront}:8080`];
  // The test image's busybox nc has no -k (it exits at once, a crash loop drift rightly reports);
  // -ll keeps it listening.
  compose.services.cache.command = ['nc', '-ll', '-p', '6379', '-e', 'cat'];
  const webSpec = web.spec as Record<string, unknown>;
  const storefrontSpec = storefront.spec as Record<string, unknown>;
  return {
    example: { ...webSpec, environment: 'production', server: 'edge', ports: [{ containerPort: 8080, hostPort: PORTS.example, protocol: 'tcp' }] },
    storefront: { ...storefrontSpec, environment: 'production', server: 'edge', source: { compose: { inline: compose } }, driftPolicy: { mode: 'report' } },
  };
}

describe('drift on a real Docker host', { timeout: 720_000 }, () => {
  let cp: TestControlPlane;
  let host: TestHost;
  const svcPath = (name: string) => `${G}/namespaces/${NS}/services/${name}`;
  const docker = async (...args: string[]) => (await run('docker', ['-H', `unix://${host.dockerSocket}`, ...args], { timeout: 30_000 })).stdout.trim();
  const views = async (name: string) => {
    const res = await cp.call('GET', `${svcPath(name)}/views`);
    assert.equal(res.status, 200, JSON.stringify(res.body));
    return res.body as { declared: unknown; frozen: Record<string, unknown> | null; live: Record<string, unknown> | null; drift: Entry[]; notes?: string[] };
  };
  /** Waits until the Service's drift is exactly `expected` (field by field), and returns it. */
  const driftBecomes = (name: string, expected: Entry[], ms = 30_000) =>
    until(`drift of ${name} to be ${JSON.stringify(expected)}`, async () => {
      const { drift } = await views(name);
      try {
        assert.deepEqual(fieldsOf(drift), expected);
        return drift;
      } catch (err) {
        throw new Error(`now ${JSON.stringify(fieldsOf(drift))}`, { cause: err });
      }
    }, ms);
  const condition = async (name: string) => ((await cp.call('GET', svcPath(name))).body as Resource).status?.conditions?.find((c) => c.type === 'Drifted');
  const deploymentsOf = async (name: string) => (await cp.call('GET', `${svcPath(name)}/deployments`)).body.items as Array<{ id: string; revision: number; phase: string; trigger: string; reason?: string; message?: string }>;
  const events = async (name: string) =>
    ((await cp.call('GET', `${G}/namespaces/${NS}/events`)).body.items as Array<{ involvedObject: { name: string }; reason: string; message: string; type: string }>).filter((e) => e.involvedObject.name === name);
  const state = async (name: string) => JSON.parse(await docker('inspect', '--format', '{{json .State}}', name)) as { Status: string; Running: boolean };
  const ours = async () => (await docker('ps', '-a', '--filter', `label=holdfast.dev/project=${NS}`, '--format', '{{.Names}}')).split('\n').filter(Boolean);

  /** Removes `name` and runs it again with the docker CLI, as someone would by hand, changed by `change`. */
  async function recreateByHand(name: string, change: { env?: Record<string, string>; image?: string; hostPort?: number; labels?: Record<string, string>; extraVolume?: string } = {}) {
    const [inspect] = JSON.parse(await docker('inspect', name)) as Array<{
      Image: string;
      Config: { Env: string[]; Labels: Record<string, string>; Cmd: string[]; Image: string };
      HostConfig: { Binds: string[]; PortBindings: Record<string, Array<{ HostPort: string }>>; RestartPolicy: { Name: string } };
    }>;
    // What the image gave the container (its env and labels) comes from the image again, not from -e and --label.
    const [image] = JSON.parse(await docker('image', 'inspect', inspect.Image)) as Array<{ Config: { Env?: string[]; Labels?: Record<string, string> } }>;
    const env = Object.fromEntries(inspect.Config.Env.filter((e) => !(image.Config.Env ?? []).includes(e)).map((e) => [e.slice(0, e.indexOf('=')), e.slice(e.indexOf('=') + 1)]));
    Object.assign(env, change.env ?? {});
    const ownLabels = Object.entries(inspect.Config.Labels).filter(([k, v]) => image.Config.Labels?.[k] !== v);
    const labels = { ...Object.fromEntries(ownLabels), ...(change.labels ?? {}) };
    const argv = ['run', '-d', '--name', name, '--restart', inspect.HostConfig.RestartPolicy.Name];
    for (const [k, v] of Object.entries(labels)) argv.push('--label', `${k}=${v}`);
    for (const [k, v] of Object.entries(env)) argv.push('-e', `${k}=${v}`);
    for (const [port, bindings] of Object.entries(inspect.HostConfig.PortBindings ?? {})) argv.push('-p', `${change.hostPort ?? bindings[0].HostPort}:${port}`);
    for (const bind of [...(inspect.HostConfig.Binds ?? []), ...(change.extraVolume ? [change.extraVolume] : [])]) argv.push('-v', bind);
    argv.push(change.image ?? inspect.Config.Image, ...inspect.Config.Cmd);
    await docker('rm', '-f', name);
    await docker(...argv);
  }

  before(async () => {
    const hosts = await loadTestHosts({ count: 2 });
    host = testHost(hosts, 2);
    for (const name of await ours()) await docker('rm', '-f', name).catch(() => undefined);
    cp = await startTestControlPlane('pglite', { env: { HOLDFAST_DRIFT_RESYNC_INTERVAL_MS: String(RESYNC_MS), HOLDFAST_LIVE_RESYNC_INTERVAL_MS: String(RESYNC_MS) } });
    const create = async (path: string, body: unknown) => {
      const res = await cp.call('POST', path, body);
      assert.equal(res.status, 201, JSON.stringify(res.body));
    };
    await create(`${G}/projects`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: NS }, spec: { environments: [{ name: 'production' }] } });
    await create(`${G}/sshkeys`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'SSHKey', metadata: { name: 'drift-key' }, spec: { privateKey: readPrivateKey(host) } });
    await create(`${G}/servers`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name: 'edge' }, spec: { host: host.address, port: host.port, user: host.user, sshKeyRef: { name: 'drift-key' }, hostKeyFingerprint: host.hostKeyFingerprint } });
    await create(`${G}/namespaces/${NS}/secrets`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'db', namespace: NS }, spec: { stringData: { password: SECRET } } });
    for (const [name, spec] of Object.entries({ ...services, ...exampleServices() })) {
      await create(`${G}/namespaces/${NS}/services`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Service', metadata: { name, namespace: NS }, spec });
    }
  });

  after(async () => {
    await cp?.stop();
    for (const name of await ours().catch(() => [])) await docker('rm', '-f', name).catch(() => undefined);
    await docker('rm', '-f', 'drift-intruder').catch(() => undefined);
    const volumes = (await docker('volume', 'ls', '-q', '--filter', `name=hf_${NS}_`).catch(() => '')).split('\n').filter(Boolean);
    for (const v of volumes) await docker('volume', 'rm', '-f', v).catch(() => undefined);
  });

  it('finds no drift at all on freshly deployed services of every example kind, through several resyncs', async () => {
    const names = [...Object.keys(services), ...Object.keys(exampleServices())];
    for (const name of names) {
      const d = await until(`${name} to deploy`, async () => (await deploymentsOf(name)).find((x) => ['completed', 'failed', 'canceled'].includes(x.phase)), 120_000, 250);
      assert.equal(d.phase, 'completed', `${name}: ${d.reason}: ${d.message}`);
    }
    for (const name of names) await until(`${name} to be judged in sync`, async () => ((await condition(name))?.reason === 'InSync' ? true : undefined), 30_000, 250);
    // Both the live-state caches and the drift controller resync every RESYNC_MS: let several pass.
    await sleep(8 * RESYNC_MS);
    for (const name of names) {
      const history = (await cp.call('GET', `${svcPath(name)}/drift/history`)).body.items as Entry[];
      assert.deepEqual(history, [], `${name}: no drift record was ever opened`);
      const v = await views(name);
      assert.deepEqual(v.drift, [], `${name}: no drift now`);
      assert.deepEqual(v.live, v.frozen, `${name}: the live view equals the frozen input`);
      assert.equal((await condition(name))?.status, 'False');
    }
    assert.deepEqual((await cp.call('GET', `${G}/drift`)).body.items, []);
  });

  it('docker stop, then start again', async () => {
    const started = Date.now();
    await docker('stop', '-t', '1', container('web'));
    const [entry] = await driftBecomes('web', [live(`containers[${container('web')}].state.status`, 'changed', 'running', 'exited (exit code 137)')]);
    assert.ok(Date.parse(entry.firstSeen!) >= started - 1000, 'first seen when it happened');
    const drifted = await until('Drifted=True', async () => ((await condition('web'))?.status === 'True' ? condition('web') : undefined));
    assert.equal(drifted!.reason, 'LiveChanged');
    assert.match(drifted!.message, /state\.status changed/);
    assert.ok((await events('web')).some((e) => e.reason === 'DriftDetected' && e.type === 'Warning' && e.message.includes('state.status')));
    assert.equal((await state(container('web'))).Status, 'exited', 'report mode leaves the host alone');
    await docker('start', container('web'));
    await driftBecomes('web', []);
    await until('DriftResolved event', async () => ((await events('web')).some((e) => e.reason === 'DriftResolved') ? true : undefined));
  });

  it('docker kill', async () => {
    await docker('kill', container('web'));
    await driftBecomes('web', [live(`containers[${container('web')}].state.status`, 'changed', 'running', 'exited (exit code 137)')]);
    await docker('start', container('web'));
    await driftBecomes('web', []);
  });

  it('a healthcheck turned failing', async () => {
    await docker('exec', container('web'), 'rm', '/tmp/healthy');
    await driftBecomes('web', [live(`containers[${container('web')}].state.health`, 'changed', 'healthy', 'unhealthy')], 20_000);
    await docker('exec', container('web'), 'touch', '/tmp/healthy');
    await driftBecomes('web', [], 20_000);
  });

  it('a container re-created by hand exactly as it was is not drift', async () => {
    await recreateByHand(container('api'));
    await sleep(2 * RESYNC_MS);
    assert.deepEqual((await views('api')).drift, []);
  });

  const handChanges: Array<[string, Parameters<typeof recreateByHand>[1], Entry[]]> = [
    ['other env', { env: { GREETING: 'hi' } }, [live(`containers[${container('api')}].env.GREETING`, 'changed', { value: 'hello' }, { value: 'hi' })]],
    ['another image', { image: 'holdfast-test/busybox:2' }, [live(`containers[${container('api')}].image`, 'changed', 'holdfast-test/busybox:1', 'holdfast-test/busybox:2')]],
    [
      'another port',
      { hostPort: PORTS.api + 100 },
      [live(`containers[${container('api')}].ports[8080/tcp]`, 'changed', { containerPort: 8080, protocol: 'tcp', hostPort: PORTS.api }, { containerPort: 8080, protocol: 'tcp', hostPort: PORTS.api + 100 })],
    ],
    ['another label', { labels: { tier: 'frontend', owner: 'ops' } }, [live(`containers[${container('api')}].labels.owner`, 'unexpected', undefined, 'ops'), live(`containers[${container('api')}].labels.tier`, 'changed', 'backend', 'frontend')]],
    ['another mount', { extraVolume: '/tmp:/scratch:ro' }, [live(`containers[${container('api')}].mounts[/scratch]`, 'unexpected', undefined, { type: 'bind', source: '/tmp', target: '/scratch', readOnly: true, createHostPath: true })]],
  ];
  for (const [what, change, expected] of handChanges) {
    it(`a container re-created by hand with ${what}`, async () => {
      await recreateByHand(container('api'), change);
      await driftBecomes('api', expected);
      await recreateByHand(container('api'), {
        env: { GREETING: 'hello' },
        image: 'holdfast-test/busybox:1',
        hostPort: PORTS.api,
        labels: { tier: 'backend' },
      });
      if (change?.extraVolume || change?.labels?.owner) {
        // docker run cannot drop a mount or a label it copied: have Holdfast converge it instead.
        assert.equal((await cp.call('POST', `${svcPath('api')}/sync`, {})).status, 201);
      }
      await driftBecomes('api', []);
    });
  }

  it('docker rm, then holdfast sync puts it back', async () => {
    await docker('rm', '-f', container('api'));
    await driftBecomes('api', [live(`containers[${container('api')}]`, 'missing', { image: 'holdfast-test/busybox:1' }, undefined)]);
    const sync = await cp.call('POST', `${svcPath('api')}/sync`, {});
    assert.equal(sync.status, 201, JSON.stringify(sync.body));
    assert.equal(sync.body.trigger, 'user');
    await driftBecomes('api', []);
    assert.equal((await state(container('api'))).Running, true);
  });

  it('docker update --restart always', async () => {
    await docker('update', '--restart', 'always', container('api'));
    await driftBecomes('api', [live(`containers[${container('api')}].restartPolicy`, 'changed', { name: 'unless-stopped' }, { name: 'always' })]);
    await docker('update', '--restart', 'unless-stopped', container('api'));
    await driftBecomes('api', []);
  });

  it('a second container carrying our labels', async () => {
    const labels = JSON.parse(await docker('inspect', '--format', '{{json .Config.Labels}}', container('api'))) as Record<string, string>;
    const argv = ['run', '-d', '--name', 'drift-intruder'];
    for (const [k, v] of Object.entries(labels)) argv.push('--label', `${k}=${v}`);
    const id = await docker(...argv, 'holdfast-test/busybox:1', 'sleep', '100000');
    await driftBecomes('api', [live('containers[drift-intruder]', 'unexpected', undefined, { image: 'holdfast-test/busybox:1', id: id.slice(0, 12), state: 'running' })]);
    // The list reads the drift records, which follow the on-request views with the next reconcile.
    type Listed = { namespace: string; name: string; count: number; liveVsFrozen: number; policy: string; drift: Entry[] };
    const api = await until('api in the drift list', async () => {
      const list = (await cp.call('GET', `${G}/drift`)).body.items as Listed[];
      return list.find((s) => s.name === 'api' && s.count > 0);
    }, 10_000);
    assert.deepEqual([api.namespace, api.count, api.liveVsFrozen, api.policy, api.drift.map((e) => e.path)], [NS, 1, 1, 'report', ['containers[drift-intruder]']]);
    await docker('rm', '-f', 'drift-intruder');
    await driftBecomes('api', []);
  });

  it('replicas short', async () => {
    await docker('rm', '-f', container('workers', 2));
    await driftBecomes('workers', [live(`containers[${container('workers', 2)}]`, 'missing', { image: 'holdfast-test/busybox:1' }, undefined)]);
    // The views are judged on request; the records follow with the drift controller's next reconcile.
    const history = await until('the missing replica in the drift history', async () => {
      const items = (await cp.call('GET', `${svcPath('workers')}/drift/history`)).body.items as Entry[];
      return items[0]?.path === `containers[${container('workers', 2)}]` ? items : undefined;
    }, 10_000);
    assert.equal(history[0].kind, 'missing');
  });

  it('heal mode puts a stopped container back', async (t) => {
    const stoppedAt = Date.now();
    await docker('stop', '-t', '1', container('healer'));
    await until('the heal deployment', async () => ((await deploymentsOf('healer')).some((d) => d.trigger === 'controller') ? true : undefined), 20_000);
    await until('healer running again', async () => ((await state(container('healer'))).Running ? true : undefined), 30_000, 50);
    const runningAfterMs = Date.now() - stoppedAt;
    await driftBecomes('healer', []);
    const resolvedAfterMs = Date.now() - stoppedAt;
    t.diagnostic(`stopped container running again after ${runningAfterMs} ms, drift resolved in the API after ${resolvedAfterMs} ms`);
    const heal = (await deploymentsOf('healer')).find((d) => d.trigger === 'controller')!;
    assert.equal(heal.phase, 'completed');
    // The views are judged on request; the record is closed with the drift controller's next reconcile.
    type Resolved = Entry & { resolution?: string; healedBy?: string };
    const history = await until('the drift record closed as healed', async () => {
      const items = (await cp.call('GET', `${svcPath('healer')}/drift/history`)).body.items as Resolved[];
      return items.some((r) => r.resolution) ? items : undefined;
    }, 10_000);
    assert.deepEqual(
      history.map((r) => [r.path, r.resolution, r.healedBy]),
      [[`containers[${container('healer')}].state.status`, 'healed', heal.id]],
    );
    await until('DriftHealed event', async () => ((await events('healer')).some((e) => e.reason === 'DriftHealed' && e.message.includes(heal.id)) ? true : undefined));
    assert.ok((await events('healer')).some((e) => e.reason === 'DriftHealing'));
    await until('status.drift.lastHealedTime', async () => (((await cp.call('GET', svcPath('healer'))).body as Resource).status as { drift?: { lastHealedTime?: string } }).drift?.lastHealedTime, 10_000);
  });

  it('heal backs off after five heals in five minutes', async () => {
    // The crash switch makes every heal fail: the container exits 1 as soon as it starts. Heals wait
    // 5, 10, 20 and 40 s after the one before.
    await docker('exec', container('healer'), 'touch', '/data/crash');
    await docker('stop', '-t', '1', container('healer'));
    const backoff = await until('HealBackoff', async () => {
      const c = await condition('healer');
      return c?.reason === 'HealBackoff' && c.message.includes('healed 5 times') ? c : undefined;
    }, 180_000, 250);
    assert.equal(backoff.status, 'True');
    assert.match(backoff.message, /healed 5 times in the last 5 minutes/);
    const heals = (await deploymentsOf('healer')).filter((d) => d.trigger === 'controller');
    assert.equal(heals.length, 5, 'the first heal and four failed ones: five in the window');
    await sleep(3 * RESYNC_MS);
    assert.equal((await deploymentsOf('healer')).filter((d) => d.trigger === 'controller').length, 5, 'no sixth heal');
    assert.equal((await state(container('healer'))).Running, false);
    assert.equal((await condition('healer'))?.reason, 'HealBackoff');
  });

  it('secrets appear only as hashes in the views', async () => {
    const body = JSON.stringify(await views('api'));
    assert.ok(!body.includes(SECRET));
    assert.match(body, /"secretHash":"[^"]+"/);
  });

  it('answers 403 without service:read, and 404 for an unknown service', async () => {
    const token = (await cp.call('POST', `${G}/tokens`, { name: 'deployer', scopes: ['deploy:read'] })).body.token as string;
    for (const path of [`${svcPath('api')}/views`, `${svcPath('api')}/drift/history`, `${G}/drift`]) {
      const res = await fetch(cp.url + path, { headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 403, path);
    }
    assert.equal((await cp.call('GET', `${svcPath('nothing')}/views`)).status, 404);
  });
});
