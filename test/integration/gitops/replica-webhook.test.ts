// Two control planes on one PostgreSQL: a GitRepository webhook received by the replica that does
// not hold the GitOps Lease is written on the GitRepository, and the holder, hearing it through the
// change feed, syncs within 2 s, recording the webhook as the sync's trigger.
import assert from 'node:assert/strict';
import { createHmac } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { RECONCILE_REQUESTED_AT, RECONCILE_REQUESTED_BY } from '../../../core/gitops/sync-status.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createGitRemote, type GitRemote } from '../../support/git-remote.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const NS = 'hooked';

describe('a webhook received by a replica that does not run the syncs', () => {
  let holder: TestControlPlane;
  let other: TestControlPlane;
  let remote: GitRemote;
  const repoPath = `${G}/namespaces/${NS}/gitrepositories/platform`;

  before(async () => {
    // The default Lease duration (15 s): the Lease stays where it is while the test runs.
    holder = await startTestControlPlane('postgres', { env: { HOLDFAST_REPLICA_ID: 'replica-holder' } });
    await until('the first replica holds the GitOps Lease', async () => ((await holder.call('GET', `${G}/leases/holdfast-gitops`)).body.spec?.holderIdentity === 'replica-holder' ? true : undefined), 60_000);
    other = await startTestControlPlane('postgres', { join: holder, env: { HOLDFAST_REPLICA_ID: 'replica-other' } });
    remote = createGitRemote();
  });

  after(async () => {
    await other?.stop();
    await holder?.stop();
    remote?.remove();
  });

  it('reaches the Lease holder, which syncs within 2 s with the webhook as trigger', async () => {
    const created = async (path: string, body: unknown) => {
      const res = await holder.call('POST', `${G}${path}`, body);
      assert.equal(res.status, 201, JSON.stringify(res.body));
    };
    await created('/projects', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: NS }, spec: { environments: [{ name: 'production' }] } });
    await created(`/namespaces/${NS}/secrets`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'hook' }, spec: { stringData: { token: 'hook-token' } } });
    const commit = remote.push({ 'apps/db.yaml': 'apiVersion: holdfast.dev/v1alpha1\nkind: Secret\nmetadata: { name: db }\nspec: { stringData: { password: not-shown } }\n' }, 'a Secret');
    await created(`/namespaces/${NS}/gitrepositories`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'GitRepository',
      metadata: { name: 'platform' },
      spec: { url: remote.bare, path: './apps', interval: '1h', webhook: { secretRef: { name: 'hook' } } },
    });
    await until('the first sync', async () => ((await holder.call('GET', repoPath)).body.status?.lastAppliedRevision === `main@sha1:${commit}` ? true : undefined), 60_000).catch(async (err: Error) => {
      throw new Error(`${err.message}; the GitRepository: ${JSON.stringify((await holder.call('GET', repoPath)).body)}`);
    });
    assert.equal((await other.call('GET', `${G}/leases/holdfast-gitops`)).body.spec.holderIdentity, 'replica-holder', 'the other replica does not run the syncs');

    // No new commit: the sync the webhook starts finds the revision unchanged and records it, as
    // a request does (a poll that finds nothing new is not recorded).
    const body = JSON.stringify({ ref: 'refs/heads/main', after: commit });
    const sent = Date.now();
    const res = await fetch(`${other.url}/hooks/git/${NS}/platform`, {
      method: 'POST',
      body,
      headers: { 'content-type': 'application/json', 'x-hub-signature-256': `sha256=${createHmac('sha256', 'hook-token').update(body).digest('hex')}` },
    });
    const answeredMs = Date.now() - sent;
    assert.equal(res.status, 202, await res.text());
    assert.ok(answeredMs < 2000, `answered after ${answeredMs} ms`);

    const repo = await until('the webhook sync on the holder', async () => {
      const x = (await holder.call('GET', repoPath)).body;
      return x.status?.history?.[0]?.trigger === 'webhook' ? x : undefined;
    }, 30_000, 50);
    const sync = repo.status.history[0];
    assert.equal(sync.revision, `main@sha1:${commit}`);
    assert.equal(sync.result, 'Unchanged');
    const startedMs = Date.parse(sync.startTime) - sent;
    assert.ok(startedMs < 2000, `the sync started ${startedMs} ms after the webhook`);
    const requestedAt = repo.metadata.annotations[RECONCILE_REQUESTED_AT];
    assert.equal(repo.metadata.annotations[RECONCILE_REQUESTED_BY], `webhook@${requestedAt}`);
    assert.equal(repo.status.lastHandledReconcileAt, requestedAt, 'the holder answered the request');
  });
});
