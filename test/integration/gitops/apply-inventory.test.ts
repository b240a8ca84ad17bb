// `holdfast apply -R -f DIR --prune --inventory NAME` against a real control plane on both stores:
// the ApplySet NAME records what each apply wrote; the next apply with --prune deletes what it
// recorded and the manifests lack, and nothing else (not a user's object, not one annotated
// prune: disabled, not one another set applied since); an empty directory is refused unless
// --allow-empty; a dry run and `holdfast diff --prune applyset/NAME` show what would be pruned.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../../support/cli-process.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';

const G = '/apis/holdfast.dev/v1alpha1';

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`holdfast apply --prune --inventory on ${driver}`, () => {
    const NS = `applyset-${driver}`;
    let cp: TestControlPlane;
    let dir: string;
    let otherDir: string;
    const secret = (name: string, annotations = '') => `apiVersion: holdfast.dev/v1alpha1\nkind: Secret\nmetadata: { name: ${name}${annotations} }\nspec: { stringData: { password: value-of-${name} } }\n`;
    const holdfast = (...args: string[]) => runCli(args, { HOLDFAST_URL: cp.url, HOLDFAST_DATA_DIR: cp.dataDir }, { timeoutMs: 90_000 });
    const secretNames = async () => ((await cp.call('GET', `${G}/namespaces/${NS}/secrets`)).body.items as Array<{ metadata: { name: string } }>).map((s) => s.metadata.name).sort();
    const inventory = async (set: string) => ((await cp.call('GET', `${G}/namespaces/${NS}/applysets/${set}`)).body.status?.inventory as Array<{ name: string }> | undefined)?.map((e) => e.name).sort();

    before(async () => {
      dir = mkdtempSync(join(tmpdir(), 'holdfast-applyset-'));
      otherDir = mkdtempSync(join(tmpdir(), 'holdfast-applyset-other-'));
      cp = await startTestControlPlane(driver);
      const project = await cp.call('POST', `${G}/projects`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: NS }, spec: { environments: [{ name: 'production' }] } });
      assert.equal(project.status, 201, JSON.stringify(project.body));
    });
    after(async () => {
      await cp?.stop();
      for (const d of [dir, otherDir]) if (d) rmSync(d, { recursive: true, force: true });
    });

    it('prunes what the set applied and the manifests lack, and nothing else', async () => {
      const refused = await holdfast('apply', '-R', '-f', dir, '--prune', '-n', NS);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /--prune needs --inventory NAME/);

      for (const name of ['a', 'b', 'c']) writeFileSync(join(dir, `${name}.yaml`), secret(name));
      writeFileSync(join(dir, 'keep.yaml'), secret('keep', ', annotations: { holdfast.dev/prune: disabled }'));
      const first = await holdfast('apply', '-R', '-f', dir, '--prune', '--inventory', 'web', '-n', NS);
      assert.equal(first.code, 0, first.stderr);
      assert.deepEqual(await inventory('web'), ['a', 'b', 'c', 'keep']);
      const user = await cp.call('POST', `${G}/namespaces/${NS}/secrets`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'by-hand' }, spec: { stringData: { password: 'x' } } });
      assert.equal(user.status, 201, JSON.stringify(user.body));
      // c moves to another set: that set's apply claims it.
      writeFileSync(join(otherDir, 'c.yaml'), secret('c'));
      const other = await holdfast('apply', '-f', join(otherDir, 'c.yaml'), '--inventory', 'other', '-n', NS);
      assert.equal(other.code, 0, other.stderr);

      for (const name of ['b', 'c', 'keep']) rmSync(join(dir, `${name}.yaml`));
      const dry = await holdfast('apply', '-R', '-f', dir, '--prune', '--inventory', 'web', '--dry-run=server', '-n', NS);
      assert.equal(dry.code, 0, dry.stderr);
      assert.equal(dry.stdout, 'secret.holdfast.dev/a unchanged (server dry run)\nsecret.holdfast.dev/b pruned (server dry run)\n');
      const diff = await holdfast('diff', '-R', '-f', dir, '--prune', 'applyset/web', '-n', NS);
      assert.equal(diff.code, 1, diff.stderr);
      assert.match(diff.stdout, new RegExp(`\\+\\+\\+ /tmp/MERGED/holdfast.dev.v1alpha1.Secret.${NS}.b\\n`));
      assert.doesNotMatch(diff.stdout, /Secret\.[\w-]+\.(a|c|keep|by-hand)\b/);
      assert.deepEqual(await secretNames(), ['a', 'b', 'by-hand', 'c', 'keep'], 'a dry run deletes nothing');

      const pruned = await holdfast('apply', '-R', '-f', dir, '--prune', '--inventory', 'web', '-n', NS);
      assert.equal(pruned.code, 0, pruned.stderr);
      assert.equal(pruned.stdout, 'secret.holdfast.dev/a unchanged\nsecret.holdfast.dev/b pruned\n');
      assert.deepEqual(await secretNames(), ['a', 'by-hand', 'c', 'keep']);
      assert.deepEqual(await inventory('web'), ['a']);
      const listed = await holdfast('get', 'applysets', '-n', NS);
      assert.equal(listed.code, 0, listed.stderr);
      assert.match(listed.stdout, /^NAME\s+OBJECTS\s+APPLIED\s+AGE\nother\s+1\s+\S+\s+\S+\nweb\s+1\s/);
    });

    it('refuses an empty directory unless --allow-empty', async () => {
      rmSync(join(dir, 'a.yaml'));
      const refused = await holdfast('apply', '-R', '-f', dir, '--prune', '--inventory', 'web', '-n', NS);
      assert.equal(refused.code, 1);
      assert.match(refused.stderr, /no objects passed to apply: with --prune that would delete everything applyset "web" holds; add --allow-empty/);
      assert.deepEqual(await secretNames(), ['a', 'by-hand', 'c', 'keep']);

      const emptied = await holdfast('apply', '-R', '-f', dir, '--prune', '--allow-empty', '--inventory', 'web', '-n', NS);
      assert.equal(emptied.code, 0, emptied.stderr);
      assert.equal(emptied.stdout, 'secret.holdfast.dev/a pruned\n');
      assert.deepEqual(await secretNames(), ['by-hand', 'c', 'keep']);
      assert.deepEqual(await inventory('web'), []);
    });
  });
}
