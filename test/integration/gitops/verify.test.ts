// spec.verify on a GitRepository followed by a real control plane on both stores, from a real bare
// repository with commits signed by SSH keys (git's gpg.format=ssh) and by GPG keys: a commit
// signed by a key of the Secret is applied; an unsigned commit and one signed by another key are
// refused, naming why, and nothing of them is applied.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createGitRemote, type GitRemote } from '../../support/git-remote.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`GitRepository verify on ${driver}`, () => {
    const NS = `verify-${driver}`;
    const repoPath = `${G}/namespaces/${NS}/gitrepositories/signed`;
    let cp: TestControlPlane;
    let remote: GitRemote;
    let keys: string;
    const trusted = () => join(keys, 'trusted');
    const untrusted = () => join(keys, 'untrusted');
    /** A GnuPG home holding a trusted and an untrusted signing key (ed25519, no passphrase). */
    const gpg = { home: '', trusted: '', untrusted: '' };
    const gpgKey = (uid: string) => {
      execFileSync('gpg', ['--batch', '--quiet', '--homedir', gpg.home, '--passphrase', '', '--quick-gen-key', uid, 'ed25519', 'sign', 'never'], { stdio: 'ignore' });
      const listing = execFileSync('gpg', ['--batch', '--homedir', gpg.home, '--with-colons', '--list-keys', uid], { encoding: 'utf8' });
      return /^fpr:+([0-9A-F]{40}):/m.exec(listing)![1];
    };
    const repo = async () => (await cp.call('GET', repoPath)).body;
    const ready = (r: { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } }) => r.status?.conditions?.find((c) => c.type === 'Ready');
    const secret = (name: string) => `apiVersion: holdfast.dev/v1alpha1\nkind: Secret\nmetadata: { name: ${name} }\nspec: { stringData: { password: value-of-${name} } }\n`;
    const attempted = (commit: string) =>
      until(`revision ${commit.slice(0, 8)} attempted`, async () => {
        const x = await repo();
        return x.status?.lastAttemptedRevision === `main@sha1:${commit}` && x.status?.conditions?.find((c: { type: string; status: string }) => c.type === 'Reconciling')?.status === 'False' ? x : undefined;
      });

    before(async () => {
      keys = mkdtempSync(join(tmpdir(), 'holdfast-signers-'));
      for (const name of ['trusted', 'untrusted']) execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', name, '-f', join(keys, name)]);
      gpg.home = join(keys, 'gnupg');
      mkdirSync(gpg.home, { mode: 0o700 });
      gpg.trusted = gpgKey('Release <release@example.invalid>');
      gpg.untrusted = gpgKey('Someone <someone@example.invalid>');
      const releaseKey = execFileSync('gpg', ['--batch', '--homedir', gpg.home, '--armor', '--export', gpg.trusted], { encoding: 'utf8' });
      remote = createGitRemote('signed');
      cp = await startTestControlPlane(driver);
      const project = await cp.call('POST', `${G}/projects`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: NS }, spec: { environments: [{ name: 'production' }] } });
      assert.equal(project.status, 201, JSON.stringify(project.body));
      const signers = await cp.call('POST', `${G}/namespaces/${NS}/secrets`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'signers' }, spec: { stringData: { 'ci.pub': readFileSync(`${trusted()}.pub`, 'utf8'), 'release.asc': releaseKey } } });
      assert.equal(signers.status, 201, JSON.stringify(signers.body));
    });
    after(async () => {
      await cp?.stop();
      remote?.remove();
      if (gpg.home) execFileSync('gpgconf', ['--homedir', gpg.home, '--kill', 'gpg-agent'], { stdio: 'ignore' });
      if (keys) rmSync(keys, { recursive: true, force: true });
    });

    it('applies a commit signed by a trusted key', async () => {
      const commit = remote.push({ 'one.yaml': secret('one') }, 'signed', { signingKey: trusted() });
      const res = await cp.call('POST', `${G}/namespaces/${NS}/gitrepositories`, {
        apiVersion: 'holdfast.dev/v1alpha1',
        kind: 'GitRepository',
        metadata: { name: 'signed' },
        spec: { url: remote.bare, interval: '1h', verify: { mode: 'head', secretRef: { name: 'signers' } } },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const r = await attempted(commit);
      assert.equal(ready(r)?.reason, 'Succeeded', ready(r)?.message);
      assert.equal(r.status.lastAppliedRevision, `main@sha1:${commit}`);
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/one`)).status, 200);
    });

    it('refuses an unsigned commit and one signed by another key, applying nothing of them', async () => {
      const applied = (await repo()).status.lastAppliedRevision;
      const unsigned = remote.push({ 'two.yaml': secret('two') }, 'unsigned');
      let r = await attempted(unsigned);
      assert.equal(ready(r)?.reason, 'VerificationFailed');
      assert.equal(ready(r)?.message, `commit ${unsigned} is refused: the commit carries no signature; spec.verify trusts only the keys of Secret "${NS}/signers"`);
      assert.equal(r.status.conditions.find((c: { type: string }) => c.type === 'Stalled').status, 'True');
      assert.equal(r.status.lastAppliedRevision, applied);

      const foreign = remote.push({ 'two.yaml': secret('two') }, 'signed by someone else', { signingKey: untrusted() });
      r = await attempted(foreign);
      const fingerprint = execFileSync('ssh-keygen', ['-l', '-f', `${untrusted()}.pub`], { encoding: 'utf8' }).split(' ')[1];
      assert.equal(ready(r)?.reason, 'VerificationFailed');
      assert.match(ready(r)!.message, new RegExp(`^commit ${foreign} is refused: it is signed with a key that is not trusted \\(${fingerprint.replace(/[+/]/g, '\\$&')}\\)`));
      assert.equal(r.status.lastAppliedRevision, applied);
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/two`)).status, 404, 'nothing of the refused commits is applied');

      const signed = remote.push({}, 'signed again', { signingKey: trusted() });
      r = await attempted(signed);
      assert.equal(ready(r)?.reason, 'Succeeded', ready(r)?.message);
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/two`)).status, 200);
    });

    it('applies a commit signed by a trusted GPG key and refuses one signed by another, naming its key', async () => {
      const applied = (await repo()).status.lastAppliedRevision;
      const foreign = remote.push({ 'three.yaml': secret('three') }, 'gpg-signed by someone else', { gpg: { home: gpg.home, key: gpg.untrusted } });
      let r = await attempted(foreign);
      assert.equal(ready(r)?.reason, 'VerificationFailed');
      assert.match(ready(r)!.message, new RegExp(`^commit ${foreign} is refused: it is signed with a key that is not trusted \\((${gpg.untrusted}|${gpg.untrusted.slice(-16)})\\)`));
      assert.equal(r.status.lastAppliedRevision, applied);
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/three`)).status, 404);

      const signed = remote.push({}, 'gpg-signed by the release key', { gpg: { home: gpg.home, key: gpg.trusted } });
      r = await attempted(signed);
      assert.equal(ready(r)?.reason, 'Succeeded', ready(r)?.message);
      assert.equal(r.status.lastAppliedRevision, `main@sha1:${signed}`);
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/three`)).status, 200);
    });
  });
}
