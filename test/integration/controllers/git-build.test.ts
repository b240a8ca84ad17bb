// A Dockerfile build from a git repository: the control plane checks the pinned commit out and
// streams the context to the host's engine over the kept session; an unchanged commit is not rebuilt.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PORT = 18490;

describe('Dockerfile build from a git repository', () => {
  let cp: TestControlPlane;
  let host: TestHost;
  let repo: string;
  const git = (...args: string[]) => execFileSync('git', ['-C', repo, ...args], { encoding: 'utf8' }).trim();
  const svcPath = `${G}/namespaces/site/services/page`;

  before(async () => {
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    repo = mkdtempSync(join(tmpdir(), 'holdfast-repo-'));
    execFileSync('git', ['init', '--quiet', '--initial-branch=main', repo]);
    writeFileSync(join(repo, 'Dockerfile'), 'FROM holdfast-test/busybox:1\nCOPY site/ /www/\nCMD ["httpd", "-f", "-p", "8080", "-h", "/www"]\n');
    execFileSync('mkdir', ['-p', join(repo, 'site')]);
    writeFileSync(join(repo, 'site', 'index.html'), 'built from git, first commit\n');
    git('add', '.');
    git('-c', 'user.name=t', '-c', 'user.email=t@example.invalid', 'commit', '--quiet', '-m', 'first');
    cp = await startTestControlPlane('pglite');
    await createFleet(cp, host, { project: 'site' });
  });
  after(async () => {
    await cp?.call('DELETE', svcPath).catch(() => undefined);
    await until('cleanup', async () => ((await cp.call('GET', svcPath)).status === 404 ? true : undefined), 30_000).catch(() => undefined);
    await cp?.stop();
    rmSync(repo, { recursive: true, force: true });
  });

  it('builds the pinned commit on the host and serves it', async () => {
    const commit = git('rev-parse', 'HEAD');
    const res = await cp.call('POST', `${G}/namespaces/site/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'page', namespace: 'site' },
      spec: { environment: 'production', server: 'edge', source: { build: { git: { url: `file://${repo}`, ref: 'main' } } }, ports: [{ containerPort: 8080, hostPort: PORT }], update: { order: 'stop-first' } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const d = await until('the first deployment', async () => {
      const items = (await cp.call('GET', `${svcPath}/deployments`)).body.items as Array<{ id: string; phase: string; message?: string; sourceCommit?: string }>;
      return items[0] && ['completed', 'failed'].includes(items[0].phase) ? items[0] : undefined;
    });
    assert.equal(d.phase, 'completed', d.message);
    const full = (await cp.call('GET', `${G}/deployments/${d.id}`)).body;
    assert.equal(full.frozen.sourceCommit, commit, 'the frozen input pins the commit');
    const logs = String((await cp.call('GET', `${G}/deployments/${d.id}/logs`)).body);
    assert.match(logs, /^clone\s+fetching file:\/\//m);
    assert.match(logs, /^build\s+.*COPY site\//m, 'build output goes into the deployment log');
    const page = await until('HTTP 200', async () => {
      const r = await fetch(`http://${host.address}:${PORT}/`, { signal: AbortSignal.timeout(3000) });
      return r.status === 200 ? r.text() : undefined;
    });
    assert.equal(page, 'built from git, first commit\n');
  });

  it('does not rebuild an unchanged commit', async () => {
    const svc = (await cp.call('GET', svcPath)).body as Resource;
    const sync = await cp.call('POST', `${svcPath}/sync`, {});
    assert.equal(sync.status, 201, JSON.stringify(sync.body));
    assert.equal(sync.body.trigger, 'user');
    assert.equal(sync.body.actor, 'token:admin');
    const d = await until('the sync deployment', async () => {
      const items = (await cp.call('GET', `${svcPath}/deployments`)).body.items as Array<{ id: string; revision: number; phase: string; steps: Array<{ name: string; status: string }> }>;
      return items[0]?.revision === 2 && ['completed', 'failed'].includes(items[0].phase) ? items[0] : undefined;
    });
    assert.equal(d.phase, 'completed');
    assert.equal(d.steps.find((s) => s.name === 'build')?.status, 'skipped');
    assert.ok(svc.metadata.uid);
  });
  it('deletes the built service from the host', async () => {
    const before = (await cp.call('GET', svcPath)).body as Resource;
    assert.deepEqual(before.metadata.finalizers, ['holdfast.dev/cleanup']);
    assert.equal((await cp.call('DELETE', svcPath)).status, 202);
    await until('the Service to be gone', async () => ((await cp.call('GET', svcPath)).status === 404 ? true : undefined), 60_000).catch(async (err) => {
      const events = (await cp.call('GET', `${G}/namespaces/site/events`)).body.items.map((e: { reason: string; message: string }) => `${e.reason}: ${e.message}`);
      throw new Error(`${(err as Error).message}; events: ${events.join(' | ')}`);
    });
    const left = execFileSync('docker', ['-H', `unix://${host.dockerSocket}`, 'ps', '-a', '--filter', 'label=holdfast.dev/project=site', '--format', '{{.Names}}'], { encoding: 'utf8' }).trim();
    assert.equal(left, '');
  });

  it('a git remote that does not answer holds the rollout as SourceUnreachable, not as a spec error', async () => {
    const path = `${G}/namespaces/site/services/nowhere`;
    const res = await cp.call('POST', `${G}/namespaces/site/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'nowhere', namespace: 'site' },
      spec: { environment: 'production', server: 'edge', source: { build: { git: { url: `file://${repo}-moved`, ref: 'main' } } } },
    });
    assert.equal(res.status, 201, JSON.stringify(res.body));
    const progressing = await until('the Service to wait for its source', async () => {
      const conditions = ((await cp.call('GET', path)).body as Resource).status?.conditions as Array<{ type: string; reason: string; message: string }> | undefined;
      return conditions?.find((c) => c.type === 'Progressing' && c.reason === 'SourceUnreachable');
    });
    assert.match(progressing.message, /cannot read ref "main" of file:\/\/.*-moved: git ls-remote failed: .*; generation 1 rolls out once the repository answers$/);
    assert.equal((await cp.call('GET', `${path}/deployments`)).body.items.length, 0, 'nothing is deployed meanwhile');
    assert.equal((await cp.call('DELETE', path)).status, 202);
  });
});
