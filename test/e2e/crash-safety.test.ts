// kill -9 of `holdfast serve` in the middle of a rollout, then a restart on the same data directory:
// the in-flight deployment resumes (or ends failed with a reason), no duplicate container appears,
// and no deployment record is left running.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { serveApi, startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { createFleet } from '../support/fleet.js';
import { loadTestHosts, testHost, type TestHost } from '../support/testhosts.js';
import { until } from '../support/until.js';

const run = promisify(execFile);
const G = '/apis/holdfast.dev/v1alpha1';
const PORT = 18495;

interface Deployment {
  id: string;
  revision: number;
  phase: string;
  reason?: string;
  message?: string;
  steps: Array<{ name: string; status: string }>;
}

describe('crash safety: kill -9 during a rollout', () => {
  let host: TestHost;
  let dataDir: string;
  let serve: ServeProcess | undefined;
  // The whole path; `serve` is started in before().
  const call = (method: string, path: string, body?: unknown) => serveApi(serve!).request(method, path, body);
  const hostDocker = async (...args: string[]) => (await run('docker', ['-H', `unix://${host.dockerSocket}`, ...args], { timeout: 30_000 })).stdout.trim();
  const containers = async () => (await hostDocker('ps', '-a', '--filter', 'label=holdfast.dev/project=crash', '--format', '{{.Names}}')).split('\n').filter(Boolean).sort();
  // The deployment's log, for failure messages: what the rollout did before and after the restart.
  const deploymentLog = async (id: string) =>
    fetch(`${serve!.url}${G}/deployments/${id}/logs`, { headers: { authorization: `Bearer ${serve!.token}` } }).then((r) => r.text(), (err: Error) => `(no log: ${err.message})`);
  const deployments = async () => (await call('GET', `${G}/namespaces/crash/services/slow/deployments`)).body.items as Deployment[];
  const service = (greeting: string) => ({
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'slow', namespace: 'crash' },
    spec: {
      environment: 'production',
      server: 'edge',
      source: { image: 'holdfast-test/busybox:1' },
      command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
      env: [{ name: 'GREETING', value: greeting }],
      ports: [{ containerPort: 8080, hostPort: PORT }],
      // A readiness probe that only starts after a while keeps the rollout in its health step.
      healthcheck: { http: { path: '/', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 2, failureThreshold: 3, startPeriodSeconds: 6 },
      update: { order: 'stop-first', healthDeadlineSeconds: 60, autoRollback: true },
    },
  });

  before(async () => {
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    dataDir = mkdtempSync(join(tmpdir(), 'holdfast-crash-'));
    serve = await startServeProcess({ dataDir });
    await createFleet({ call }, host, { project: 'crash' });
  });
  after(async () => {
    if (serve) {
      await call('DELETE', `${G}/namespaces/crash/services/slow`).catch(() => undefined);
      await until('cleanup', async () => ((await containers()).length === 0 ? true : undefined), 30_000).catch(() => undefined);
      await serve.stop();
    }
    for (const name of await containers().catch(() => [])) await hostDocker('rm', '-f', name).catch(() => undefined);
    rmSync(dataDir, { recursive: true, force: true });
  });

  for (const [round, step] of [[1, 'health'], [2, 'health']] as const) {
    it(`round ${round}: killed in the ${step} step, the restarted control plane finishes the deployment`, async () => {
      if (round === 1) assert.equal((await call('POST', `${G}/namespaces/crash/services`, service('one'))).status, 201);
      else {
        // An unconditional update (no resourceVersion): the controller writes status meanwhile.
        const { resourceVersion: _rv, ...metadata } = (await call('GET', `${G}/namespaces/crash/services/slow`)).body.metadata;
        const updated = await call('PUT', `${G}/namespaces/crash/services/slow`, { ...service('two'), metadata });
        assert.equal(updated.status, 200, JSON.stringify(updated.body));
      }
      const inFlight = await until(`revision ${round} in its ${step} step`, async () => {
        const d = (await deployments()).find((x) => x.revision === round);
        return d?.steps.find((s) => s.name === step)?.status === 'running' ? d : undefined;
      });
      // kill -9: no shutdown hook runs, the deployment record stays in flight in the database.
      serve!.child.kill('SIGKILL');
      await new Promise((ok) => serve!.child.once('exit', ok));
      serve = await startServeProcess({ dataDir, args: ['--log-level', 'info'] });
      let seen: Deployment | undefined;
      const ended = await until(`revision ${round} to end after the restart`, async () => {
        seen = (await deployments()).find((x) => x.id === inFlight.id);
        return seen && ['completed', 'failed', 'canceled'].includes(seen.phase) ? seen : undefined;
      }).catch(async (err: Error) => {
        throw new Error(`${err.message}; last seen: ${JSON.stringify(seen)}\n${await deploymentLog(inFlight.id)}`);
      });
      assert.equal(ended.phase, 'completed', `${ended.reason}: ${ended.message}\n${await deploymentLog(inFlight.id)}`);
      assert.deepEqual(await containers(), ['hf_crash_production_slow_1'], `exactly one container: no duplicate\n${await deploymentLog(inFlight.id)}`);
      const env = await hostDocker('inspect', '--format', '{{json .Config.Env}}', 'hf_crash_production_slow_1');
      assert.match(env, new RegExp(`GREETING=${round === 1 ? 'one' : 'two'}`));
      const stillRunning = (await deployments()).filter((d) => !['completed', 'failed', 'canceled'].includes(d.phase));
      assert.deepEqual(stillRunning, [], 'no record is left running');
      assert.match(await deploymentLog(inFlight.id), /resumed after a control plane restart/);
      // The server's own log (pino JSON) names the service and the deployment on every line about it.
      const lines = serve!.output().split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as Record<string, unknown>);
      const about = lines.filter((l) => l.deployment === inFlight.id);
      assert.deepEqual(about.map((l) => l.msg), ['deployment resumed after a restart', 'deployment started', 'deployment completed'], serve!.output());
      assert.ok(about.every((l) => l.service === 'crash/slow'));
    });
  }
});
