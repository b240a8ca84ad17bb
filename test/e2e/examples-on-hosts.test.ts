// The README's promise, end to end: the built CLI applies examples/ against a running server and the
// test hosts run every Service as declared (an image service, a compose service with depends_on);
// status/doctor report the servers; deleting removes exactly what Holdfast made.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { packageRoot } from '../../core/package-root.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { loadTestHosts, testHost, type TestHost } from '../support/testhosts.js';

const run = promisify(execFile);
const EXAMPLES = join(packageRoot(), 'examples', 'manifests');

describe('holdfast apply -R -f examples/manifests on the test hosts', () => {
  let serve: ServeProcess;
  let host: TestHost;
  let keyPath: string;
  const cli = async (...args: string[]) => {
    try {
      const { stdout, stderr } = await run(process.execPath, [join(packageRoot(), 'bin', 'holdfast.js'), ...args], {
        env: { ...process.env, HOLDFAST_URL: serve.url, HOLDFAST_TOKEN: serve.token },
        timeout: 240_000,
      });
      return { code: 0, stdout, stderr };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };
  const hostDocker = async (...args: string[]) => (await run('docker', ['-H', `unix://${host.dockerSocket}`, ...args], { timeout: 30_000 })).stdout.trim();
  const managedNames = async () => (await hostDocker('ps', '-a', '--filter', 'label=holdfast.dev/project=shop', '--format', '{{.Names}}')).split('\n').filter(Boolean).sort();

  before(async () => {
    const hosts = await loadTestHosts({ count: 2 });
    host = testHost(hosts, 2);
    keyPath = host.privateKeyPath;
    serve = await startServeProcess({ env: { SERVER_READINESS_POLL_INTERVAL_MS: '2000' } });
  });
  after(async () => {
    for (const name of await managedNames().catch(() => [])) await hostDocker('rm', '-f', name).catch(() => undefined);
    await hostDocker('volume', 'rm', 'hf_shop_production_web_data').catch(() => undefined);
    await serve?.stop();
  });

  it('stores the SSH key and applies every example, waiting for the rollouts', async () => {
    const key = await cli('access-assets', 'ssh-key', 'create', '--name', 'deploy-key', '--private-key-file', keyPath);
    assert.equal(key.code, 0, key.stderr);
    assert.match(key.stdout, /sshkey\.holdfast\.dev\/deploy-key created \(SHA256:/);
    const applied = await cli('apply', '-R', '-f', EXAMPLES, '--wait', '--timeout', '3m');
    assert.equal(applied.code, 0, `${applied.stdout}\n${applied.stderr}`);
    assert.match(applied.stdout, /service\.holdfast\.dev\/web created/);
    assert.match(applied.stdout, /service\.holdfast\.dev\/storefront created/);
  });

  it('runs the image service and the compose service as declared', async () => {
    const web = await fetch(`http://${host.address}:18080/`, { signal: AbortSignal.timeout(5000) });
    assert.equal(web.status, 200);
    const app = await fetch(`http://${host.address}:18081/`, { signal: AbortSignal.timeout(5000) });
    assert.equal(app.status, 200);
    assert.deepEqual(await managedNames(), ['hf_shop_production_web_1', 'hf_shop_staging_storefront_app_1', 'hf_shop_staging_storefront_cache_1']);
    // depends_on: the cache was created (and started) before the app.
    const created = async (name: string) => Date.parse(await hostDocker('inspect', '--format', '{{.Created}}', name));
    const [cache, appCreated] = [await created('hf_shop_staging_storefront_cache_1'), await created('hf_shop_staging_storefront_app_1')];
    assert.ok(cache < appCreated, `cache created ${new Date(cache).toISOString()}, app ${new Date(appCreated).toISOString()}`);
    const get = await cli('get', 'services', '-n', 'shop');
    assert.match(get.stdout, /^web\s+production\s+edge-1\s+1\/1\s+Ready/m);
  });

  it('re-applying is a no-op', async () => {
    const again = await cli('apply', '-R', '-f', EXAMPLES);
    assert.equal(again.code, 0, again.stderr);
    assert.doesNotMatch(again.stdout, /created|configured/);
    const history = await cli('rollout', 'history', 'service/web', '-n', 'shop');
    assert.equal(history.stdout.trim().split('\n').length, 2, history.stdout);
  });

  it('reports server readiness through status and doctor', async () => {
    const status = await cli('status', '--json');
    assert.equal(status.code, 0, status.stderr);
    const body = JSON.parse(status.stdout);
    assert.equal(body.ok, true);
    assert.equal(body.data.servers.summary.totalServers, 2);
    const edge1 = body.data.servers.checks.find((c: { serverName: string }) => c.serverName === 'edge-1');
    assert.equal(edge1.sshReachable, true);
    assert.match(edge1.dockerVersion, /^\d+\./);
    const edge2 = body.data.servers.checks.find((c: { serverName: string }) => c.serverName === 'edge-2');
    assert.match(edge2.swarmTopology, /manager/);
    const doctor = await cli('doctor', '--json');
    const d = JSON.parse(doctor.stdout);
    assert.ok(Array.isArray(d.data.failingChecks));
    for (const f of d.data.failingChecks) assert.ok(f.recommendedAction.length > 20, JSON.stringify(f));
  });

  it('deletes exactly what it made; a Retain volume stays', async () => {
    const del = await cli('delete', '-R', '-f', EXAMPLES);
    assert.equal(del.code, 0, del.stderr);
    const deadline = Date.now() + 60_000;
    while ((await managedNames()).length > 0 && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 500));
    assert.deepEqual(await managedNames(), []);
    assert.match(await hostDocker('volume', 'ls', '--format', '{{.Name}}'), /hf_shop_production_web_data/, 'deletionPolicy Retain keeps the volume');
  });
});
