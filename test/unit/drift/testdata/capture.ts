// Makes the drift fixtures in this directory on a real test host (host 2), so the drift engine's
// tables run on what Docker really reports:
//   node --import tsx test/unit/drift/testdata/capture.ts
// The containers are created with the create requests Holdfast itself sends (containerCreateRequest
// of the rendered frozen specs in ../fixtures.ts), then changed the way people change hosts: docker
// stop, kill, update, exec; and re-created outside Holdfast with one field changed. Everything made
// here is removed at the end.
import { execFile } from 'node:child_process';
import { request } from 'node:http';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { containerCreateRequest, type ContainerCreateBody } from '../../../../core/deploy/docker-request.js';
import type { ContainerSpec } from '../../../../core/deploy/container-spec.js';
import { loadTestHosts, testHost } from '../../../support/testhosts.js';
import { SECRET_VALUE, TESTDATA, webFrozen, workerFrozen } from '../fixtures.js';

const run = promisify(execFile);
const hosts = await loadTestHosts({ count: 2 });
const host = testHost(hosts, 2);

async function docker(...args: string[]): Promise<string> {
  const { stdout } = await run('docker', ['-H', `unix://${host.dockerSocket}`, ...args], { timeout: 60_000 });
  return stdout.trim();
}

function api(method: string, path: string, body?: unknown): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = request({ socketPath: host.dockerSocket, method, path, headers: { 'content-type': 'application/json' }, timeout: 30_000 }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
    });
    req.on('error', reject);
    req.end(body === undefined ? undefined : JSON.stringify(body));
  });
}

async function create(name: string, body: ContainerCreateBody): Promise<void> {
  const res = await api('POST', `/containers/create?name=${encodeURIComponent(name)}`, body);
  if (res.status !== 201) throw new Error(`create ${name}: ${res.status} ${res.text}`);
  await docker('start', name);
}

const bodyOf = (spec: ContainerSpec) => containerCreateRequest(spec, { secretValue: () => SECRET_VALUE, fileHostPath: () => '/nonexistent' }).body;

async function save(fixture: string, container: string): Promise<void> {
  const [inspect] = JSON.parse(await docker('inspect', container)) as unknown[];
  writeFileSync(join(TESTDATA, `${fixture}.json`), JSON.stringify(inspect, null, 2) + '\n');
  console.log(`saved ${fixture}.json`);
}

async function until(what: string, check: () => Promise<boolean>, ms = 30_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (Date.now() < deadline) {
    if (await check()) return;
    await new Promise((ok) => setTimeout(ok, 100));
  }
  throw new Error(`timed out waiting for ${what}`);
}
const stateOf = async (name: string) => JSON.parse(await docker('inspect', '--format', '{{json .State}}', name)) as { Status: string; Restarting: boolean; Health?: { Status: string } };

const web = webFrozen();
const workers = workerFrozen();
const w = web.containers[0];
const made = [w.name, ...workers.containers.map((c) => c.name), `${w.name}-copy`];
const volume = web.volumes[0].name;

async function cleanUp() {
  for (const name of made) await docker('rm', '-f', name).catch(() => undefined);
  await docker('volume', 'rm', '-f', volume).catch(() => undefined);
}

/** Re-creates web outside Holdfast with its create request changed by `change`. */
async function recreate(fixture: string, change: (body: ContainerCreateBody) => void): Promise<void> {
  await docker('rm', '-f', w.name);
  const body = structuredClone(bodyOf(w));
  change(body);
  await create(w.name, body);
  await until(`${fixture} to run`, async () => (await stateOf(w.name)).Status === 'running');
  await save(fixture, w.name);
}

try {
  await cleanUp();
  await docker('volume', 'create', '--label', 'holdfast.dev/managed-by=holdfast', volume);
  writeFileSync(join(TESTDATA, 'image-busybox-1.json'), JSON.stringify(JSON.parse(await docker('image', 'inspect', 'holdfast-test/busybox:1'))[0], null, 2) + '\n');
  writeFileSync(join(TESTDATA, 'image-busybox-2.json'), JSON.stringify(JSON.parse(await docker('image', 'inspect', 'holdfast-test/busybox:2'))[0], null, 2) + '\n');

  await create(w.name, bodyOf(w));
  for (const c of workers.containers) await create(c.name, bodyOf(c));
  await until('web to be healthy', async () => (await stateOf(w.name)).Health?.Status === 'healthy');
  await save('web-running', w.name);
  for (const c of workers.containers) await save(`worker-${c.replicaIndex}-running`, c.name);

  await docker('update', '--restart', 'always', w.name);
  await save('web-restart-always', w.name);
  await docker('update', '--restart', 'unless-stopped', w.name);

  await docker('exec', w.name, 'rm', '/tmp/healthy');
  await until('web to be unhealthy', async () => (await stateOf(w.name)).Health?.Status === 'unhealthy');
  await save('web-unhealthy', w.name);

  await docker('stop', '-t', '1', w.name);
  await save('web-stopped', w.name);
  await docker('start', w.name);
  await until('web to run again', async () => (await stateOf(w.name)).Status === 'running');
  await docker('kill', w.name);
  await save('web-killed', w.name);

  // A crash loop: the command exits 1 while /data/crash exists; unless-stopped keeps restarting it.
  await docker('start', w.name);
  await docker('exec', w.name, 'touch', '/data/crash');
  await docker('restart', '-t', '1', w.name);
  await until('web to be restarting', async () => (await stateOf(w.name)).Restarting, 60_000);
  await save('web-restarting', w.name);
  await docker('update', '--restart', 'no', w.name);
  await docker('run', '--rm', '-v', `${volume}:/data`, 'holdfast-test/busybox:1', 'rm', '-f', '/data/crash');

  await recreate('web-other-env', (b) => (b.Env = b.Env.map((e) => (e.startsWith('GREETING=') ? 'GREETING=hi' : e))));
  await recreate('web-other-secret', (b) => (b.Env = b.Env.map((e) => (e.startsWith('DB_PASSWORD=') ? 'DB_PASSWORD=typed-in-by-hand' : e))));
  await recreate('web-other-image', (b) => (b.Image = 'holdfast-test/busybox:2'));
  await recreate('web-other-port', (b) => (b.HostConfig.PortBindings = { '8080/tcp': [{ HostIp: '', HostPort: String(18496) }] }));
  await recreate('web-other-label', (b) => (b.Labels = { ...b.Labels, tier: 'backend', owner: 'ops' }));
  await recreate('web-other-mount', (b) => (b.HostConfig.Binds = [...b.HostConfig.Binds, '/tmp:/scratch:ro']));

  await recreate('web-running-again', () => undefined);
  // A second container with the Service's labels (not publishing the port the first one holds).
  const copy = structuredClone(bodyOf(w));
  copy.HostConfig.PortBindings = {};
  await create(`${w.name}-copy`, copy);
  await save('web-copy', `${w.name}-copy`);
} catch (err) {
  console.error(err);
  process.exitCode = 1;
} finally {
  await cleanUp();
}
