// A GitRepository with wait: true followed by a real control plane on both stores, deploying to a
// test host: a revision whose Services all become Ready is applied; a revision that changes two
// Services, one of them with a probe that fails, is marked failed and both Services go back to the
// deployment before it; the same revision synced again deploys nothing more; the next commit is
// applied as usual; two sources waiting on their gates leave the controller's workers to a third.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { RECONCILE_REQUESTED_AT } from '../../../core/gitops/sync-status.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { createGitRemote, type GitRemote } from '../../support/git-remote.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const MERGE = { 'content-type': 'application/merge-patch+json' };

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`GitRepository health gate on ${driver}`, () => {
    const NS = `gate-${driver}`;
    const [WEB_PORT, API_PORT] = driver === 'pglite' ? [18575, 18576] : [18577, 18578];
    const repoPath = `${G}/namespaces/${NS}/gitrepositories/platform`;
    let cp: TestControlPlane;
    let host: TestHost;
    let remote: GitRemote;
    let good: string;
    const repo = async () => (await cp.call('GET', repoPath)).body;
    const ready = (r: { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } }) => r.status?.conditions?.find((c) => c.type === 'Ready');
    const deployments = async (name: string) => (await cp.call('GET', `${G}/namespaces/${NS}/services/${name}/deployments`)).body.items as Array<{ revision: number; phase: string; rollbackOf?: number }>;
    const containers = async () => (await hostDocker(host, 'ps', '-a', '--filter', `label=holdfast.dev/project=${NS}`, '--format', '{{.Names}}')).split('\n').filter(Boolean);
    const envOf = async (service: string) => {
      const names = (await hostDocker(host, 'ps', '--filter', `label=holdfast.dev/project=${NS}`, '--filter', `label=holdfast.dev/service=${service}`, '--format', '{{.Names}}')).split('\n').filter(Boolean);
      if (names.length !== 1) return undefined;
      return JSON.parse(await hostDocker(host, 'inspect', '--format', '{{json .Config.Env}}', names[0])) as string[];
    };
    /** A busybox httpd Service whose probe asks `probePort` (8080 answers; anything else is refused). */
    const service = (name: string, port: number, greeting: string, probePort = 8080) => `apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata: { name: ${name} }
spec:
  environment: production
  server: edge
  source: { image: holdfast-test/busybox:1 }
  command: [httpd, -f, -p, "8080", -h, /]
  env: [ { name: GREETING, value: ${greeting} } ]
  ports: [ { containerPort: 8080, hostPort: ${port} } ]
  healthcheck: { tcp: { port: ${probePort} }, intervalSeconds: 1, timeoutSeconds: 1, failureThreshold: 2 }
  update: { order: stop-first, healthDeadlineSeconds: 8, autoRollback: false }
`;

    before(async () => {
      host = testHost(await loadTestHosts({ count: 2 }), 2);
      remote = createGitRemote();
      cp = await startTestControlPlane(driver);
      await createFleet(cp, host, { project: NS });
    });
    after(async () => {
      for (const name of ['web', 'api', 'slow-a', 'slow-b']) await cp?.call('DELETE', `${G}/namespaces/${NS}/services/${name}`).catch(() => undefined);
      await until('cleanup', async () => ((await containers()).length === 0 ? true : undefined), 60_000).catch(() => undefined);
      await cp?.stop();
      for (const name of await containers().catch(() => [])) await hostDocker(host, 'rm', '-f', name).catch(() => undefined);
      remote?.remove();
    });

    it('applies a revision once every Service it changed is Ready', async () => {
      good = remote.push({ 'apps/web.yaml': service('web', WEB_PORT, 'one'), 'apps/api.yaml': service('api', API_PORT, 'one') }, 'web and api');
      const res = await cp.call('POST', `${G}/namespaces/${NS}/gitrepositories`, {
        apiVersion: 'holdfast.dev/v1alpha1',
        kind: 'GitRepository',
        metadata: { name: 'platform' },
        spec: { url: remote.bare, path: './apps', interval: '1h', wait: true, timeout: '2m' },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const r = await until('the first revision applied', async () => {
        const x = await repo();
        return x.status?.lastAttemptedRevision === `main@sha1:${good}` && x.status?.history?.length ? x : undefined;
      }, 180_000);
      assert.equal(ready(r)?.status, 'True', JSON.stringify(ready(r)));
      assert.equal(r.status.lastAppliedRevision, `main@sha1:${good}`);
      for (const name of ['web', 'api']) {
        const svc = (await cp.call('GET', `${G}/namespaces/${NS}/services/${name}`)).body;
        assert.equal(svc.status.conditions.find((c: { type: string }) => c.type === 'Ready').status, 'True', `${name} was Ready when the revision was applied`);
      }
    });

    it('rolls back every Service a revision changed when one fails its probe, and does not try the revision again', async () => {
      const bad = remote.push({ 'apps/web.yaml': service('web', WEB_PORT, 'two', 9999), 'apps/api.yaml': service('api', API_PORT, 'two') }, 'web probes the wrong port');
      const r = await until('the bad revision failed', async () => {
        const x = await repo();
        return x.status?.lastAttemptedRevision === `main@sha1:${bad}` && ready(x)?.status === 'False' ? x : undefined;
      }, 180_000);
      const cond = ready(r)!;
      assert.equal(cond.reason, 'HealthCheckFailed', cond.message);
      assert.match(cond.message, new RegExp(`^health check failed: ${NS}/web: deployment \\S+ failed`));
      assert.match(cond.message, new RegExp(`Rolled back every Service the revision changed: .*${NS}/web: rolled back to revision 1 \\(deployment \\S+\\)`));
      assert.match(cond.message, new RegExp(`Rolled back every Service the revision changed: .*${NS}/api: rolled back to revision 1 \\(deployment \\S+\\)`));
      assert.equal(r.status.lastAppliedRevision, `main@sha1:${good}`, 'the good revision stays the applied one');
      assert.equal(r.status.conditions.find((c: { type: string }) => c.type === 'Stalled').status, 'True');
      assert.equal(r.status.history[0].result, 'Failed');
      assert.deepEqual(r.status.inventory.map((e: { name: string; revision: string }) => [e.name, e.revision]), [['api', `main@sha1:${bad}`], ['web', `main@sha1:${bad}`]]);

      // api became Ready with the new input, and is back on the old one; web too.
      const [api, web] = await until('both rollbacks completed', async () => {
        const both = [await deployments('api'), await deployments('web')];
        return both.every((d) => d[0]?.rollbackOf === 1 && d[0].phase === 'completed') ? both : undefined;
      }, 120_000);
      // api's own rollout of the revision completed, or was stopped if web failed first.
      assert.equal(api.length, 3);
      assert.match(api[1].phase, /^(completed|canceled)$/);
      assert.deepEqual(web.map((d) => d.phase), ['completed', 'failed', 'completed']);
      const env = await until('api runs the earlier input', async () => ((await envOf('api'))?.includes('GREETING=one') ? await envOf('api') : undefined), 60_000);
      assert.ok(env!.includes('GREETING=one'));

      // The same revision synced again (here on request) deploys nothing.
      const requestedAt = new Date().toISOString();
      const patched = await cp.call('PATCH', repoPath, { metadata: { annotations: { [RECONCILE_REQUESTED_AT]: requestedAt } } }, MERGE);
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      const again = await until('the requested sync', async () => {
        const x = await repo();
        return x.status?.lastHandledReconcileAt === requestedAt ? x : undefined;
      }, 120_000);
      assert.equal(ready(again)?.reason, 'HealthCheckFailed');
      assert.match(ready(again)!.message, /web: already rolled back to revision 1/);
      assert.equal((await deployments('web')).length, 3, 'no new deployment of web');
      assert.equal((await deployments('api')).length, 3, 'no new deployment of api');
    });

    it('applies the next commit as usual', async () => {
      const fixed = remote.push({ 'apps/web.yaml': service('web', WEB_PORT, 'three') }, 'web probes the right port');
      const r = await until('the fix applied', async () => {
        const x = await repo();
        return x.status?.lastAppliedRevision === `main@sha1:${fixed}` ? x : undefined;
      }, 180_000);
      assert.equal(ready(r)?.status, 'True', JSON.stringify(ready(r)));
      assert.equal(r.status.history[0].configured, 1);
      assert.ok((await envOf('web'))?.includes('GREETING=three'));
    });

    it('syncs another source while two wait on their health gates', async () => {
      // Services whose probe is never answered: their sources wait on the gate for as long as the test runs.
      const slow = (name: string) => `apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata: { name: ${name} }
spec:
  environment: production
  server: edge
  source: { image: holdfast-test/busybox:1 }
  command: [sleep, "600"]
  healthcheck: { tcp: { port: 8080 }, intervalSeconds: 2, timeoutSeconds: 1, failureThreshold: 3 }
  update: { order: stop-first, healthDeadlineSeconds: 600, autoRollback: false }
`;
      const commit = remote.push(
        { 'slow-a/a.yaml': slow('slow-a'), 'slow-b/b.yaml': slow('slow-b'), 'quick/db.yaml': `apiVersion: holdfast.dev/v1alpha1\nkind: Secret\nmetadata: { name: db }\nspec: { stringData: { password: not-shown } }\n` },
        'two slow Services and a Secret',
      );
      const source = async (name: string, path: string, wait: boolean) => {
        const res = await cp.call('POST', `${G}/namespaces/${NS}/gitrepositories`, {
          apiVersion: 'holdfast.dev/v1alpha1',
          kind: 'GitRepository',
          metadata: { name },
          spec: { url: remote.bare, path, interval: '1h', wait, timeout: '10m' },
        });
        assert.equal(res.status, 201, JSON.stringify(res.body));
      };
      const get = async (name: string) => (await cp.call('GET', `${G}/namespaces/${NS}/gitrepositories/${name}`)).body;
      const gateWaiting = (r: { status?: { conditions?: Array<{ type: string; reason: string }> } }) => r.status?.conditions?.find((c) => c.type === 'Reconciling')?.reason === 'HealthCheckPending';
      await source('slow-a', './slow-a', true);
      await source('slow-b', './slow-b', true);
      await until('both slow sources wait on their gates', async () => ((await Promise.all([get('slow-a'), get('slow-b')])).every(gateWaiting) ? true : undefined), 120_000);

      await source('quick', './quick', false);
      const quick = await until('the third source applied', async () => {
        const x = await get('quick');
        return x.status?.lastAppliedRevision ? x : undefined;
      }, 120_000);
      assert.equal(quick.status.lastAppliedRevision, `main@sha1:${commit}`);
      assert.equal(ready(quick)?.status, 'True', JSON.stringify(ready(quick)));
      for (const name of ['slow-a', 'slow-b']) {
        const r = await get(name);
        assert.ok(gateWaiting(r), `${name} still waits on its gate: ${JSON.stringify(r.status?.conditions)}`);
        assert.equal(r.status.lastAttemptedRevision, `main@sha1:${commit}`);
        assert.equal(r.status.lastAppliedRevision, undefined, `${name}'s revision is not applied before its Services are Ready`);
        assert.deepEqual(r.status.inventory.map((e: { kind: string; name: string }) => `${e.kind}/${e.name}`), [`Service/${name}`]);
      }
    });
  });
}
