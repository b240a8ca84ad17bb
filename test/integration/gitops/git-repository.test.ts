// A GitRepository followed by a real control plane, on both stores, from a real bare repository on
// a local path: a committed Service is applied (and, on PGlite, deployed to a test host), a change
// is applied, a broken commit changes nothing and says where it is broken, a deleted manifest is
// pruned (unless annotated prune: disabled), and an empty revision is refused.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { createHmac } from 'node:crypto';
import { promisify } from 'node:util';
import { packageRoot } from '../../../core/package-root.js';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { createGitRemote, type GitRemote } from '../../support/git-remote.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`GitRepository on ${driver}`, () => {
    const NS = `gitops-${driver}`;
    const PORT = driver === 'pglite' ? 18571 : 18572;
    let cp: TestControlPlane;
    let host: TestHost;
    let remote: GitRemote;
    const repoPath = `${G}/namespaces/${NS}/gitrepositories/platform`;
    const svcPath = `${G}/namespaces/${NS}/services/web`;
    const service = (greeting: string, extra = '') => `apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata:
  name: web
spec:
  environment: production
  server: edge
  source: { image: holdfast-test/busybox:1 }
  command: [httpd, -f, -p, "8080", -h, /www]
  env: [ { name: GREETING, value: ${greeting} } ]
  ports: [ { containerPort: 8080, hostPort: ${PORT} } ]
  update: { order: stop-first }
${extra}`;
    const secret = (name: string, annotations = '') => `apiVersion: holdfast.dev/v1alpha1
kind: Secret
metadata:
  name: ${name}
${annotations}spec:
  stringData: { password: value-of-${name} }
`;
    const repo = async () => (await cp.call('GET', repoPath)).body as Resource & { status?: any };
    /** The CLI from source, against this control plane with its admin token. */
    const holdfast = async (...args: string[]) => {
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', HOLDFAST_URL: cp.url, HOLDFAST_DATA_DIR: cp.dataDir };
      try {
        const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: packageRoot(), env, timeout: 90_000 });
        return { code: 0, stdout, stderr };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: e.code ?? 1, stdout: e.stdout ?? '', stderr: e.stderr ?? '' };
      }
    };
    const driftEvents = async (reason: string) =>
      ((await cp.call('GET', `${G}/namespaces/${NS}/events`)).body.items as Array<{ reason: string; message: string; involvedObject: { kind: string } }>)
        .filter((e) => e.reason === reason && e.involvedObject.kind === 'GitRepository')
        .map((e) => e.message);
    const managed = async () => (await hostDocker(host, 'ps', '-a', '--filter', `label=holdfast.dev/project=${NS}`, '--format', '{{.Names}}')).split('\n').filter(Boolean);

    before(async () => {
      host = testHost(await loadTestHosts({ count: 2 }), 2);
      remote = createGitRemote();
      cp = await startTestControlPlane(driver);
      await createFleet(cp, host, { project: NS });
    });
    after(async () => {
      await cp?.call('DELETE', svcPath).catch(() => undefined);
      await until('cleanup', async () => ((await cp.call('GET', svcPath)).status === 404 ? true : undefined), 30_000).catch(() => undefined);
      await cp?.stop();
      for (const name of await managed().catch(() => [])) await hostDocker(host, 'rm', '-f', name).catch(() => undefined);
      remote?.remove();
    });

    it('applies a committed Service and records the revision, the inventory and the sync', async () => {
      const commit = remote.push({ 'apps/web.yaml': service('hello'), 'apps/db.yaml': secret('db'), 'README.md': 'not a manifest\n' }, 'add web');
      const res = await cp.call('POST', `${G}/namespaces/${NS}/gitrepositories`, {
        apiVersion: 'holdfast.dev/v1alpha1',
        kind: 'GitRepository',
        metadata: { name: 'platform' },
        // A local path is watched, so each push starts a sync; the hourly poll never gets in the way.
        spec: { url: remote.bare, ref: { branch: 'main' }, path: './apps', interval: '1h', prune: true },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const r = await until('the first revision applied', async () => {
        const x = await repo();
        return x.status?.lastAppliedRevision ? x : undefined;
      });
      assert.equal(r.status.lastAppliedRevision, `main@sha1:${commit}`);
      const ready = r.status.conditions.find((c: { type: string }) => c.type === 'Ready');
      assert.equal(ready.status, 'True', ready.message);
      assert.equal(ready.reason, 'Succeeded');
      assert.deepEqual(
        r.status.inventory.map((e: { kind: string; name: string; namespace?: string }) => `${e.kind}/${e.namespace}/${e.name}`),
        [`Secret/${NS}/db`, `Service/${NS}/web`],
      );
      const [sync] = r.status.history;
      assert.equal(sync.result, 'Applied');
      assert.equal(sync.commitMessage, 'add web');
      assert.equal(sync.created, 2);
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/db`)).status, 200);
      const svc = (await cp.call('GET', svcPath)).body as Resource;
      assert.equal((svc.spec as any).env[0].value, 'hello');
      const audit = (await cp.call('GET', `${G}/auditlog?kind=Service&namespace=${NS}&name=web`)).body.items as Array<{ actor: string; verb: string }>;
      assert.ok(audit.some((a) => a.actor === `system:gitops:${NS}/platform` && a.verb === 'create'), `the write is audited as the source: ${JSON.stringify(audit)}`);
      if (driver === 'pglite') {
        const page = await until('the Service to answer on the test host', async () => {
          const x = await fetch(`http://${host.address}:${PORT}/`, { signal: AbortSignal.timeout(3000) }).catch(() => undefined);
          return x ? x.status : undefined;
        });
        assert.ok(page === 200 || page === 404, `httpd answers (${page})`);
      }
    });

    it('applies a pushed change and keeps an unchanged object as it is', async () => {
      const before = (await cp.call('GET', svcPath)).body as Resource;
      const secretBefore = (await cp.call('GET', `${G}/namespaces/${NS}/secrets/db`)).body as Resource;
      const commit = remote.push({ 'apps/web.yaml': service('changed') }, 'greet differently');
      const r = await until('the change applied', async () => {
        const x = await repo();
        return x.status?.lastAppliedRevision === `main@sha1:${commit}` ? x : undefined;
      });
      const svc = (await cp.call('GET', svcPath)).body as Resource;
      assert.equal((svc.spec as any).env[0].value, 'changed');
      assert.equal(svc.metadata.generation, (before.metadata.generation ?? 0) + 1);
      const secretAfter = (await cp.call('GET', `${G}/namespaces/${NS}/secrets/db`)).body as Resource;
      assert.equal(secretAfter.metadata.resourceVersion, secretBefore.metadata.resourceVersion, 'an unchanged Secret is not written');
      const [sync] = r.status.history;
      // A local path is also watched: the poll or the watcher, whichever comes first.
      assert.ok(['interval', 'watch'].includes(sync.trigger), sync.trigger);
      assert.deepEqual([sync.result, sync.configured, sync.unchanged, sync.commitMessage], ['Applied', 1, 1, 'greet differently']);
    });

    it('puts back a change made outside Git on the next sync', async () => {
      const svc = (await cp.call('GET', svcPath)).body as Resource;
      const edited = await cp.call('PATCH', svcPath, { spec: { env: [{ name: 'GREETING', value: 'by hand' }] } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(edited.status, 200, JSON.stringify(edited.body));
      const head = remote.git('rev-parse', 'HEAD');
      const cli = await holdfast('reconcile', 'gitrepository/platform', '-n', NS);
      assert.equal(cli.code, 0, cli.stderr);
      assert.equal(cli.stdout, `gitrepository/platform: applied revision main@sha1:${head} (0 created, 1 configured, 0 pruned, 1 unchanged)\n`);
      const r = await repo();
      assert.equal(r.status.history[0].trigger, 'manual');
      assert.equal(r.status.history[0].configured, 1);
      const after = (await cp.call('GET', svcPath)).body as Resource;
      assert.equal((after.spec as any).env[0].value, 'changed');
      assert.ok((after.metadata.generation ?? 0) > (svc.metadata.generation ?? 0));
      const actor = ((await cp.call('GET', `${G}/auditlog?kind=Service&namespace=${NS}&name=web`)).body.items as Array<{ actor: string; verb: string }>).find((a) => a.verb === 'patch')?.actor;
      assert.ok(actor && !actor.startsWith('system:'), `the edit is audited as its caller: ${actor}`);
      const reverted = await driftEvents('DriftReverted');
      assert.ok(
        reverted.some((m) => m.startsWith(`service ${NS}/web changed by ${actor} (spec.env): put back as revision main@sha1:${head}`)),
        `the event names who changed what: ${JSON.stringify(reverted)}`,
      );
    });

    it('with driftPolicy report only reports a change made outside Git, naming who and what', async () => {
      const set = await cp.call('PATCH', repoPath, { spec: { driftPolicy: 'report' } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(set.status, 200, JSON.stringify(set.body));
      const edited = await cp.call('PATCH', `${G}/namespaces/${NS}/secrets/db`, { metadata: { labels: { tier: 'by-hand' } } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(edited.status, 200, JSON.stringify(edited.body));
      const cli = await holdfast('reconcile', 'gitrepository/platform', '-n', NS);
      assert.equal(cli.code, 0, cli.stderr);
      const r = await repo();
      assert.equal(r.status.history[0].configured, 0, 'nothing is written back');
      const actor = ((await cp.call('GET', `${G}/auditlog?kind=Secret&namespace=${NS}&name=db`)).body.items as Array<{ actor: string; verb: string }>).find((a) => a.verb === 'patch')?.actor;
      assert.deepEqual(r.status.drift, [{ kind: 'Secret', namespace: NS, name: 'db', changedBy: actor, fields: ['metadata.labels.tier'] }]);
      const secret = (await cp.call('GET', `${G}/namespaces/${NS}/secrets/db`)).body as Resource;
      assert.equal(secret.metadata.labels?.tier, 'by-hand', 'the change stays');
      const detected = await driftEvents('DriftDetected');
      assert.ok(
        detected.some((m) => m === `secret ${NS}/db changed by ${actor} (metadata.labels.tier): left as it is (spec.driftPolicy: report)`),
        JSON.stringify(detected),
      );

      // Back to heal: the next sync puts it back and the status no longer lists it.
      const heal = await cp.call('PATCH', repoPath, { spec: { driftPolicy: 'heal' } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(heal.status, 200, JSON.stringify(heal.body));
      assert.equal((await holdfast('reconcile', 'gitrepository/platform', '-n', NS)).code, 0);
      assert.deepEqual((await repo()).status.drift, []);
      assert.equal(((await cp.call('GET', `${G}/namespaces/${NS}/secrets/db`)).body as Resource).metadata.labels?.tier, undefined);
    });

    it('applies nothing from a broken commit and names the file, document and field', async () => {
      const before = (await cp.call('GET', svcPath)).body as Resource;
      const applied = (await repo()).status.lastAppliedRevision;
      // A valid change beside the broken document must not be applied either.
      const commit = remote.push({ 'apps/web.yaml': service('broken', '  replicas: two\n'), 'apps/db.yaml': secret('db').replace('value-of-db', 'new-value') }, 'break it');
      const r = await until('the broken revision attempted', async () => {
        const x = await repo();
        return x.status?.lastAttemptedRevision === `main@sha1:${commit}` ? x : undefined;
      });
      const ready = r.status.conditions.find((c: { type: string }) => c.type === 'Ready');
      assert.equal(ready.status, 'False');
      assert.equal(ready.reason, 'ValidationFailed');
      assert.match(ready.message, /^apps\/web\.yaml: document 1: spec\.replicas: /m);
      assert.equal(r.status.conditions.find((c: { type: string }) => c.type === 'Stalled').status, 'True');
      assert.equal(r.status.lastAppliedRevision, applied, 'the last good revision stays the applied one');
      assert.equal(r.status.history[0].result, 'Failed');
      // (Its status moves with the controllers' observations; its declaration does not.)
      const after = (await cp.call('GET', svcPath)).body as Resource;
      assert.equal(after.metadata.generation, before.metadata.generation, 'the Service is untouched');
      assert.deepEqual(after.spec, before.spec);
      const db = (await cp.call('GET', `${G}/namespaces/${NS}/secrets/db`)).body as Resource;
      assert.equal(db.metadata.generation, 1, 'the valid change beside the broken document is not applied either');
      const cli = await holdfast('reconcile', 'gitrepository/platform', '-n', NS);
      assert.equal(cli.code, 1, 'reconcile says the sync failed');
      assert.match(cli.stderr, /apps\/web\.yaml: document 1: spec\.replicas/);
      const table = await holdfast('get', 'gitrepositories', '-n', NS);
      assert.equal(table.code, 0, table.stderr);
      assert.match(table.stdout, new RegExp(`^NAME\\s+URL\\s+REVISION\\s+READY\\s+STATUS\\s+AGE\\nplatform\\s+\\S+\\s+main@sha1:${applied.slice(10, 22)}\\s+False\\s+apps/web.yaml`));
      const events = (await cp.call('GET', `${G}/namespaces/${NS}/events`)).body.items as Array<{ reason: string; message: string }>;
      assert.ok(events.some((e) => e.reason === 'ValidationFailed' && e.message.includes('apps/web.yaml')), 'the failure is in the event timeline');
      assert.ok(!JSON.stringify(r).includes('new-value') && !JSON.stringify(events).includes('new-value'), 'no secret value in status or events');
    });

    it('prunes a deleted manifest, keeps one annotated prune: disabled, and refuses an empty revision', async () => {
      const fixed = remote.push({ 'apps/web.yaml': service('changed'), 'apps/db.yaml': secret('db'), 'apps/keep.yaml': secret('keep', '  annotations: { holdfast.dev/prune: disabled }\n') }, 'fix and add keep');
      await until('the fix applied', async () => ((await repo()).status?.lastAppliedRevision === `main@sha1:${fixed}` ? true : undefined));
      const commit = remote.push({ 'apps/web.yaml': null, 'apps/keep.yaml': null }, 'remove web and keep');
      const r = await until('the removal applied', async () => {
        const x = await repo();
        return x.status?.lastAppliedRevision === `main@sha1:${commit}` ? x : undefined;
      });
      assert.equal(r.status.history[0].pruned, 1);
      assert.deepEqual(r.status.inventory.map((e: { name: string }) => e.name), ['db']);
      await until('the Service to be gone', async () => ((await cp.call('GET', svcPath)).status === 404 ? true : undefined), 60_000);
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/keep`)).status, 200, 'prune: disabled keeps the object');
      if (driver === 'pglite') await until('the containers to be gone', async () => ((await managed()).length === 0 ? true : undefined), 60_000);

      // A README keeps the directory in git: a path with no manifests, not a missing path.
      const empty = remote.push({ 'apps/db.yaml': null, 'apps/README.md': 'nothing here\n' }, 'empty the path');
      const refused = await until('the empty revision attempted', async () => {
        const x = await repo();
        return x.status?.lastAttemptedRevision === `main@sha1:${empty}` ? x : undefined;
      });
      const ready = refused.status.conditions.find((c: { type: string }) => c.type === 'Ready');
      assert.equal(ready.reason, 'PruneRefused', ready.message);
      assert.match(ready.message, /allowEmpty/);
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/db`)).status, 200, 'nothing was pruned');
    });

    it('names a branch that does not exist', async () => {
      const res = await cp.call('PATCH', repoPath, { spec: { ref: { branch: 'nope' } } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const r = await until('the failure', async () => {
        const x = await repo();
        const ready = x.status?.conditions?.find((c: { type: string }) => c.type === 'Ready');
        return ready?.reason === 'NotFound' ? ready : undefined;
      });
      assert.match(r.message, /branch "nope" not found/);
    });

    it('reads a repository over SSH with an SSHKey and a pinned host key, and refuses a host whose key does not match', async () => {
      const hosts = await loadTestHosts({ count: 2 });
      const other = testHost(hosts, 1);
      const commit = remote.push({ 'ssh/config.yaml': secret('from-ssh') }, 'for the ssh source');
      const create = (name: string, knownHosts: string) =>
        cp.call('POST', `${G}/namespaces/${NS}/gitrepositories`, {
          apiVersion: 'holdfast.dev/v1alpha1',
          kind: 'GitRepository',
          metadata: { name },
          spec: { url: `ssh://${host.user}@${host.address}:${host.port}${remote.bare}`, path: 'ssh', interval: '1h', sshKeyRef: { name: 'edge-key' }, knownHosts },
        });
      assert.equal((await create('over-ssh', `${host.address} ${host.hostPublicKey}`)).status, 201);
      assert.equal((await create('wrong-host-key', `${host.address} ${other.hostPublicKey}`)).status, 201);
      const good = await until('the ssh source applied', async () => {
        const x = (await cp.call('GET', `${G}/namespaces/${NS}/gitrepositories/over-ssh`)).body;
        return x.status?.lastAppliedRevision ? x : undefined;
      });
      assert.equal(good.status.lastAppliedRevision, `main@sha1:${commit}`);
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/from-ssh`)).status, 200);
      const bad = await until('the host key refusal', async () => {
        const x = (await cp.call('GET', `${G}/namespaces/${NS}/gitrepositories/wrong-host-key`)).body;
        return x.status?.conditions?.find((c: { type: string }) => c.type === 'Ready') ? x : undefined;
      });
      const ready = bad.status.conditions.find((c: { type: string }) => c.type === 'Ready');
      assert.equal(ready.status, 'False');
      assert.equal(ready.reason, 'GitOperationFailed');
      assert.match(ready.message, /git ls-remote failed: .*Host key verification failed/);
      assert.equal(bad.status.lastAppliedRevision, undefined);
      assert.ok(!JSON.stringify(bad).includes('PRIVATE KEY') && !JSON.stringify(good).includes('PRIVATE KEY'));
    });

    it('syncs within 2 s of a signed webhook; a badly signed one is refused and audited; a local commit is seen by the watcher', async () => {
      const hook = await cp.call('POST', `${G}/namespaces/${NS}/secrets`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'hook' }, spec: { stringData: { token: 'hook-token' } } });
      assert.equal(hook.status, 201, JSON.stringify(hook.body));
      // The ssh source is not watched and polls once an hour: only the webhook brings its next commit.
      const sshPath = `${G}/namespaces/${NS}/gitrepositories/over-ssh`;
      const sshRepo = async () => (await cp.call('GET', sshPath)).body as Resource & { status?: any };
      const res = await cp.call('PATCH', sshPath, { spec: { webhook: { secretRef: { name: 'hook' } } } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      await until('the spec change synced', async () => {
        const x = await sshRepo();
        return x.status?.observedGeneration === x.metadata.generation ? x : undefined;
      });
      const body = JSON.stringify({ ref: 'refs/heads/main' });
      const post = (headers: Record<string, string>) => fetch(`${cp.url}/hooks/git/${NS}/over-ssh`, { method: 'POST', body, headers: { 'content-type': 'application/json', ...headers } });
      const bad = await post({ 'x-hub-signature-256': `sha256=${createHmac('sha256', 'wrong').update(body).digest('hex')}` });
      assert.equal(bad.status, 401);
      assert.equal((await bad.json()).reason, 'Unauthorized');
      assert.equal(await post({ 'x-gitlab-token': 'hook-token' }).then((r) => r.status), 202, 'the GitLab token is accepted');
      const audit = (await cp.call('GET', `${G}/auditlog?kind=GitRepository&namespace=${NS}&name=over-ssh`)).body.items as Array<{ verb: string; outcome: string }>;
      assert.ok(audit.some((a) => a.verb === 'webhook' && a.outcome === 'Failure'), 'the refusal is audited');
      assert.ok(audit.some((a) => a.verb === 'webhook' && a.outcome === 'Success'));

      const commit = remote.push({ 'ssh/config.yaml': secret('from-ssh').replace('value-of-from-ssh', 'rotated-value-2') }, 'pushed, then the webhook');
      const body2 = JSON.stringify({ ref: 'refs/heads/main', after: commit });
      const started = Date.now();
      const good = await fetch(`${cp.url}/hooks/git/${NS}/over-ssh`, { method: 'POST', body: body2, headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', 'hook-token').update(body2).digest('hex')}` } });
      assert.equal(good.status, 202);
      const r = await until('the webhook sync', async () => {
        const x = await sshRepo();
        return x.status?.lastAppliedRevision === `main@sha1:${commit}` ? x : undefined;
      }, 30_000, 50);
      const sync = r.status.history.find((h: { revision: string }) => h.revision === `main@sha1:${commit}`);
      assert.equal(sync.trigger, 'webhook');
      assert.equal(sync.commitMessage, 'pushed, then the webhook');
      // The webhook starts the sync at once; how long the sync then takes is the machine's (this one
      // is shared: under load a sync of a few objects takes a second or more).
      const waited = Date.parse(sync.startTime) - started;
      assert.ok(waited < 2000, `the sync started ${waited} ms after the webhook (applied after ${Date.now() - started} ms)`);

      const back = await cp.call('PATCH', repoPath, { spec: { ref: { branch: 'main' }, allowEmpty: true } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(back.status, 200, JSON.stringify(back.body));
      await until('the local source back on main', async () => {
        const x = await repo();
        return x.status?.observedGeneration === x.metadata.generation && x.status?.lastAppliedRevision === `main@sha1:${commit}` ? x : undefined;
      });
      const commit2 = remote.push({ 'apps/db.yaml': secret('db') }, 'a local commit, no webhook');
      const watched = await until('the watcher sync', async () => {
        const x = await repo();
        return x.status?.lastAppliedRevision === `main@sha1:${commit2}` ? x : undefined;
      }, 30_000);
      assert.equal(watched.status.history[0].trigger, 'watch');
    });
  });
}
