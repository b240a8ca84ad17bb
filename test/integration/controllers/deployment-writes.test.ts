// How many store writes one deployment costs, counted through the stores' own change notices while
// a Service is created and rolled out on a real test host, on both store drivers: the deployment
// record's writes (creation, phases and steps, each a transaction), its log writes, and the Service's
// own writes until the rollout ends. The bounds are today's figures, so a regression fails here.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import type { DeploymentChange } from '../../../store/deployments.js';
import type { ChangeEvent } from '../../../store/resource-store.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const SERVICE_FINALIZER = 'holdfast.dev/cleanup';

/** Upper bounds for one image Service's first rollout with a readiness probe. */
const MAX_RECORD_WRITES = 5;
const MAX_LOG_WRITES = 8;

/** A Service write as the diagnostic shows it: its type and the reasons of its conditions. */
function describeWrite(e: ChangeEvent): string {
  const conditions = (e.object.status as Resource['status'])?.conditions ?? [];
  return `${e.type}${conditions.length ? ` [${conditions.map((c) => `${c.type}=${c.status}/${c.reason}`).join(' ')}]` : ''}`;
}

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`store writes of one deployment on ${driver}`, () => {
    let cp: TestControlPlane;
    let host: TestHost;
    const project = `writes-${driver}`;
    const managed = async () => (await hostDocker(host, 'ps', '-a', '--filter', `label=holdfast.dev/project=${project}`, '--format', '{{.Names}}')).split('\n').filter(Boolean);

    before(async () => {
      host = testHost(await loadTestHosts({ count: 3 }), 3);
      cp = await startTestControlPlane(driver);
      await createFleet(cp, host, { project });
      // A Service of a server not checked yet waits for it: its statuses would say so first.
      await until('the server to be Ready', async () => {
        const server = (await cp.call('GET', `${G}/servers/edge`)).body as Resource;
        return server.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True' ? true : undefined;
      });
    });
    after(async () => {
      await cp?.stop();
      for (const name of await managed().catch(() => [])) await hostDocker(host, 'rm', '-f', name).catch(() => undefined);
    });

    it('a first rollout writes its record once per step end, its log in batches, and the Service\'s finalizer with its first status', async (t) => {
      const deploymentChanges: DeploymentChange[] = [];
      const serviceWrites: ChangeEvent[] = [];
      const stopDeployments = cp.plane.deployments.subscribe((c) => deploymentChanges.push(c));
      const stopResources = cp.plane.store.subscribe((e) => {
        if (e.object.kind === 'Service' && e.object.metadata.name === 'web') serviceWrites.push(e);
      });
      try {
        const created = await cp.call('POST', `${G}/namespaces/${project}/services`, {
          apiVersion: 'holdfast.dev/v1alpha1',
          kind: 'Service',
          metadata: { name: 'web', namespace: project },
          spec: {
            environment: 'production',
            server: 'edge',
            source: { image: 'holdfast-test/busybox:1' },
            command: ['httpd', '-f', '-p', '8080', '-h', '/www'],
            healthcheck: { http: { path: '/', port: 8080 }, intervalSeconds: 1, timeoutSeconds: 2, failureThreshold: 3 },
            update: { healthDeadlineSeconds: 30 },
          },
        });
        assert.equal(created.status, 201, JSON.stringify(created.body));
        const ended = await until('the first deployment to end', async () => {
          const items = (await cp.call('GET', `${G}/namespaces/${project}/services/web/deployments`)).body.items as Array<{ id: string; phase: string; reason?: string; message?: string }>;
          return items.find((d) => ['completed', 'failed', 'canceled'].includes(d.phase));
        });
        assert.equal(ended.phase, 'completed', `${ended.reason}: ${ended.message}`);
        const mine = deploymentChanges.filter((c) => (c.type === 'log' ? c.deploymentId : c.record.id) === ended.id);
        // Each notice is one transaction: a record write (with the lines written in it) or log lines alone.
        const recordWrites = mine.filter((c) => c.type === 'deployment').length;
        const logWrites = mine.filter((c) => c.type === 'log').length;
        const lines = mine.flatMap((c) => c.lines.map((l) => l.line));
        const stored = await cp.plane.deployments.logsSince(ended.id);
        t.diagnostic(`${driver}: ${recordWrites + logWrites} writes: record ${recordWrites}, log lines alone ${logWrites} (${lines.length} lines), Service writes until the end ${serviceWrites.length} (${serviceWrites.map(describeWrite).join(', ')})`);
        assert.deepEqual(lines, stored.map((l) => l.line), 'every line said is stored once, in order');
        assert.match(stored.at(-1)!.line, /deployment completed/);
        assert.ok(recordWrites <= MAX_RECORD_WRITES, `${recordWrites} record writes, at most ${MAX_RECORD_WRITES} expected`);
        assert.ok(logWrites <= MAX_LOG_WRITES, `${logWrites} log writes for ${lines.length} lines, at most ${MAX_LOG_WRITES} expected`);

        assert.equal(serviceWrites[0].type, 'ADDED');
        // The drift controller may write its own condition first; the service controller's first
        // status (the one that says Ready) is the write that adds the finalizer, not one after it.
        const withFinalizer = serviceWrites.findIndex((w) => w.object.metadata.finalizers?.includes(SERVICE_FINALIZER));
        const withReady = serviceWrites.findIndex((w) => (w.object.status as Resource['status'])?.conditions?.some((c) => c.type === 'Ready'));
        assert.ok(withFinalizer > 0, 'a write adds the finalizer');
        assert.equal(withFinalizer, withReady, 'the finalizer comes in the same write as the service controller\'s first status');
      } finally {
        stopDeployments();
        stopResources();
      }
    });
  });
}
