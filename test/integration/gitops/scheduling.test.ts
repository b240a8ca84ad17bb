// When GitRepositories followed by a real control plane on both stores sync. dependsOn: the
// dependent source waits (applying nothing) while its dependency does not exist or has not synced,
// syncs once the dependency is Ready, and a cycle is reported as one. Deny windows: while one is
// open nothing is fetched and the status says when it closes; a manual sync still runs.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createGitRemote, type GitRemote } from '../../support/git-remote.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const MERGE = { 'content-type': 'application/merge-patch+json' };

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`GitRepository dependsOn and deny windows on ${driver}`, () => {
    const NS = `deps-${driver}`;
    let cp: TestControlPlane;
    let infra: GitRemote;
    let apps: GitRemote;
    let frozen: GitRemote;
    const get = async (name: string) => (await cp.call('GET', `${G}/namespaces/${NS}/gitrepositories/${name}`)).body;
    const ready = (r: { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } }) => r.status?.conditions?.find((c) => c.type === 'Ready');
    const secret = (name: string) => `apiVersion: holdfast.dev/v1alpha1\nkind: Secret\nmetadata: { name: ${name} }\nspec: { stringData: { password: value-of-${name} } }\n`;
    const source = (name: string, url: string, dependsOn?: Array<{ name: string }>, extra: Record<string, unknown> = {}) =>
      cp.call('POST', `${G}/namespaces/${NS}/gitrepositories`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'GitRepository', metadata: { name }, spec: { url, interval: '1h', ...(dependsOn ? { dependsOn } : {}), ...extra } });

    before(async () => {
      infra = createGitRemote('infra');
      apps = createGitRemote('apps');
      frozen = createGitRemote('frozen');
      cp = await startTestControlPlane(driver);
      const project = await cp.call('POST', `${G}/projects`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: NS }, spec: { environments: [{ name: 'production' }] } });
      assert.equal(project.status, 201, JSON.stringify(project.body));
    });
    after(async () => {
      await cp?.stop();
      infra?.remove();
      apps?.remove();
      frozen?.remove();
    });

    it('waits for a dependency that does not exist, then syncs once it is Ready', async () => {
      const appsCommit = apps.push({ 'app.yaml': secret('from-apps') }, 'apps');
      assert.equal((await source('apps', apps.bare, [{ name: 'infra' }])).status, 201);
      const waiting = await until('apps waiting', async () => {
        const x = await get('apps');
        return ready(x)?.reason === 'DependencyNotReady' ? x : undefined;
      });
      assert.equal(ready(waiting)!.status, 'False');
      assert.equal(ready(waiting)!.message, `waiting for dependencies: GitRepository "${NS}/infra" does not exist`);
      assert.equal(waiting.status.conditions.find((c: { type: string }) => c.type === 'Reconciling').status, 'True');
      assert.equal(waiting.status.lastAttemptedRevision, undefined, 'nothing fetched');
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/from-apps`)).status, 404, 'nothing applied');

      infra.push({ 'infra.yaml': secret('from-infra') }, 'infra');
      assert.equal((await source('infra', infra.bare)).status, 201);
      const synced = await until('apps synced after infra', async () => {
        const x = await get('apps');
        return x.status?.lastAppliedRevision ? x : undefined;
      });
      assert.equal(synced.status.lastAppliedRevision, `main@sha1:${appsCommit}`);
      assert.equal(ready(synced)!.reason, 'Succeeded');
      const infraRepo = await get('infra');
      assert.ok(Date.parse(synced.status.history[0].startTime) >= Date.parse(infraRepo.status.history[0].startTime), 'apps synced after infra');
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/from-apps`)).status, 200);
    });

    it('reports a cycle and stalls instead of waiting forever', async () => {
      const res = await cp.call('PATCH', `${G}/namespaces/${NS}/gitrepositories/infra`, { spec: { dependsOn: [{ name: 'apps' }] } }, MERGE);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const r = await until('the cycle reported', async () => {
        const x = await get('infra');
        return ready(x)?.reason === 'DependencyCycle' ? x : undefined;
      });
      assert.equal(ready(r)!.message, `dependsOn forms a cycle: ${NS}/infra -> ${NS}/apps -> ${NS}/infra; remove one of its links`);
      assert.equal(r.status.conditions.find((c: { type: string }) => c.type === 'Stalled').status, 'True');
    });

    it('fetches nothing while a deny window is open and says when it closes; a manual sync still runs', async () => {
      const commit = frozen.push({ 'frozen.yaml': secret('from-frozen') }, 'frozen');
      // Opens every minute for two minutes: always open.
      const res = await source('frozen', frozen.bare, undefined, { windows: [{ kind: 'deny', schedule: '* * * * *', duration: '2m' }] });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const held = await until('the window reported', async () => {
        const x = await get('frozen');
        return x.status?.syncWindow?.denied ? x : undefined;
      });
      assert.ok(Date.parse(held.status.syncWindow.closesAt) > Date.now() + 60_000, held.status.syncWindow.closesAt);
      const reconciling = held.status.conditions.find((c: { type: string }) => c.type === 'Reconciling');
      assert.equal(reconciling.reason, 'SyncWindowDenied');
      assert.match(reconciling.message, /^a deny window of spec\.windows is open until \S+: only manual syncs \(holdfast reconcile\) run$/);
      assert.equal(held.status.lastAttemptedRevision, undefined, 'nothing fetched');
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/from-frozen`)).status, 404, 'nothing applied');

      const asked = new Date().toISOString();
      const manual = await cp.call('PATCH', `${G}/namespaces/${NS}/gitrepositories/frozen`, { metadata: { annotations: { 'holdfast.dev/reconcile-requested-at': asked } } }, MERGE);
      assert.equal(manual.status, 200, JSON.stringify(manual.body));
      const synced = await until('the manual sync', async () => {
        const x = await get('frozen');
        return x.status?.lastHandledReconcileAt === asked ? x : undefined;
      });
      assert.equal(synced.status.lastAppliedRevision, `main@sha1:${commit}`);
      assert.equal(synced.status.history[0].trigger, 'manual');
      assert.equal(synced.status.syncWindow.denied, true, 'the window is still open');
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/from-frozen`)).status, 200);
    });
  });
}
