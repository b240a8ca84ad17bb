// `holdfast diff --prune gitrepository/NAME` against a real control plane on both stores: with the
// manifests of a checkout it shows, besides what apply would change, the deletion of each object
// the source's inventory has and the checkout lacks (not those annotated prune: disabled).
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../support/cli-process.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createGitRemote, type GitRemote } from '../../support/git-remote.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`holdfast diff --prune on ${driver}`, () => {
    const NS = `diffprune-${driver}`;
    let cp: TestControlPlane;
    let remote: GitRemote;
    let checkout: string;
    const secret = (name: string, annotations = '') => `apiVersion: holdfast.dev/v1alpha1\nkind: Secret\nmetadata: { name: ${name}${annotations} }\nspec: { stringData: { password: value-of-${name} } }\n`;
    const holdfast = (...args: string[]) => runCli(args, { HOLDFAST_URL: cp.url, HOLDFAST_DATA_DIR: cp.dataDir }, { timeoutMs: 90_000 });

    before(async () => {
      remote = createGitRemote('src');
      checkout = mkdtempSync(join(tmpdir(), 'holdfast-checkout-'));
      cp = await startTestControlPlane(driver);
      const project = await cp.call('POST', `${G}/projects`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: NS }, spec: { environments: [{ name: 'production' }] } });
      assert.equal(project.status, 201, JSON.stringify(project.body));
    });
    after(async () => {
      await cp?.stop();
      remote?.remove();
      if (checkout) rmSync(checkout, { recursive: true, force: true });
    });

    it('shows the deletion of what the source applied and the manifests no longer have', async () => {
      const files = { 'a.yaml': secret('a'), 'b.yaml': secret('b'), 'keep.yaml': secret('keep', ', annotations: { holdfast.dev/prune: disabled }') };
      const commit = remote.push(files, 'three secrets');
      const res = await cp.call('POST', `${G}/namespaces/${NS}/gitrepositories`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'GitRepository', metadata: { name: 'src' }, spec: { url: remote.bare, interval: '1h', prune: true } });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      await until('the source applied', async () => ((await cp.call('GET', `${G}/namespaces/${NS}/gitrepositories/src`)).body.status?.lastAppliedRevision === `main@sha1:${commit}` ? true : undefined));

      for (const [name, text] of Object.entries(files)) writeFileSync(join(checkout, name), text);
      const same = await holdfast('diff', '-R', '-f', checkout, '--prune', 'gitrepository/src', '-n', NS);
      assert.equal(same.code, 0, same.stderr);
      assert.equal(same.stdout, '');

      rmSync(join(checkout, 'b.yaml'));
      rmSync(join(checkout, 'keep.yaml'));
      const pruned = await holdfast('diff', '-R', '-f', checkout, '--prune', 'gitrepository/src', '-n', NS);
      assert.equal(pruned.code, 1, pruned.stderr);
      const file = `holdfast.dev.v1alpha1.Secret.${NS}.b`;
      assert.match(pruned.stdout, new RegExp(`^diff -u -N /tmp/LIVE/${file} /tmp/MERGED/${file}\\n--- /tmp/LIVE/${file}\\n\\+\\+\\+ /tmp/MERGED/${file}\\n@@ -1,\\d+ \\+0,0 @@\\n-apiVersion: holdfast.dev/v1alpha1\\n-kind: Secret\\n`));
      assert.doesNotMatch(pruned.stdout, /Secret\.[\w-]+\.(a|keep)\b/, 'a is still in the manifests; keep is annotated prune: disabled');
      assert.doesNotMatch(pruned.stdout, /value-of-b/, 'no secret value');

      const noSource = await holdfast('diff', '-R', '-f', checkout, '--prune', 'gitrepository/nope', '-n', NS);
      assert.equal(noSource.code, 2);
      assert.match(noSource.stderr, /nope/);
    });
  });
}
