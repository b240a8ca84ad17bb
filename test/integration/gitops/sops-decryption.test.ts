// A GitRepository whose Secret manifest is encrypted with SOPS for an age recipient, followed by a
// real control plane on both stores: the file is decrypted in memory with the age key held in a
// Secret and the Service on a test host gets the value; a file encrypted for another key fails the
// revision naming the file; without spec.decryption an encrypted file is refused. No value ever
// appears in status or events.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { createFleet } from '../../support/fleet.js';
import { createGitRemote, type GitRemote } from '../../support/git-remote.js';
import { encryptSops } from '../../support/sops.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../../support/testhosts.js';
import { until } from '../../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PASSWORD = 'sops-decrypted-password-7f3a';
const OTHER = 'other-key-value-9c1e';

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`SOPS decryption on ${driver}`, () => {
    const NS = `sops-${driver}`;
    const PORT = driver === 'pglite' ? 18573 : 18574;
    const repoPath = `${G}/namespaces/${NS}/gitrepositories/secrets`;
    let cp: TestControlPlane;
    let host: TestHost;
    let remote: GitRemote;
    let recipient: string;
    const repo = async () => (await cp.call('GET', repoPath)).body;
    const ready = (r: { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } }) => r.status?.conditions?.find((c) => c.type === 'Ready');
    const events = async () => JSON.stringify((await cp.call('GET', `${G}/namespaces/${NS}/events`)).body.items);
    const containers = async () => (await hostDocker(host, 'ps', '-a', '--filter', `label=holdfast.dev/project=${NS}`, '--format', '{{.Names}}')).split('\n').filter(Boolean);
    const secret = (name: string, password: string) => ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name }, spec: { stringData: { password } } });
    const service = `apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata: { name: web }
spec:
  environment: production
  server: edge
  source: { image: holdfast-test/busybox:1 }
  command: [httpd, -f, -p, "8080", -h, /www]
  env: [ { name: DB_PASSWORD, valueFrom: { secretKeyRef: { name: db, key: password } } } ]
  ports: [ { containerPort: 8080, hostPort: ${PORT} } ]
`;

    before(async () => {
      host = testHost(await loadTestHosts({ count: 1 }), 1);
      remote = createGitRemote('secrets');
      cp = await startTestControlPlane(driver);
      await createFleet(cp, host, { project: NS });
      const identity = await generateX25519Identity();
      recipient = await identityToRecipient(identity);
      const key = await cp.call('POST', `${G}/namespaces/${NS}/secrets`, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Secret', metadata: { name: 'age-key' }, spec: { stringData: { 'age.agekey': `# public key: ${recipient}\n${identity}\n` } } });
      assert.equal(key.status, 201, JSON.stringify(key.body));
    });
    after(async () => {
      await cp?.call('DELETE', `${G}/namespaces/${NS}/services/web`).catch(() => undefined);
      await until('cleanup', async () => ((await cp.call('GET', `${G}/namespaces/${NS}/services/web`)).status === 404 ? true : undefined), 30_000).catch(() => undefined);
      await cp?.stop();
      for (const name of await containers().catch(() => [])) await hostDocker(host, 'rm', '-f', name).catch(() => undefined);
      remote?.remove();
    });

    it('decrypts an encrypted Secret with the age key and the Service on the host gets its value', async () => {
      const encrypted = await encryptSops([secret('db', PASSWORD)], recipient, { encryptedRegex: '^(data|stringData)$' });
      assert.ok(!encrypted.includes(PASSWORD));
      const commit = remote.push({ 'apps/db.enc.yaml': encrypted, 'apps/web.yaml': service }, 'encrypted db secret');
      const res = await cp.call('POST', `${G}/namespaces/${NS}/gitrepositories`, {
        apiVersion: 'holdfast.dev/v1alpha1',
        kind: 'GitRepository',
        metadata: { name: 'secrets' },
        spec: { url: remote.bare, path: './apps', interval: '1h', prune: true, decryption: { provider: 'sops', secretRef: { name: 'age-key' } } },
      });
      assert.equal(res.status, 201, JSON.stringify(res.body));
      const r = await until('the encrypted revision applied', async () => {
        const x = await repo();
        return x.status?.lastAppliedRevision ? x : undefined;
      });
      assert.equal(r.status.lastAppliedRevision, `main@sha1:${commit}`, JSON.stringify(ready(r)));
      assert.deepEqual(r.status.inventory.map((e: { kind: string; name: string }) => `${e.kind}/${e.name}`), ['Secret/db', 'Service/web']);
      const db = (await cp.call('GET', `${G}/namespaces/${NS}/secrets/db`)).body;
      assert.deepEqual(db.status.keys, ['password']);
      const env = await until('the Service container with the decrypted value', async () => {
        const [name] = await containers();
        if (!name) return undefined;
        return JSON.parse(await hostDocker(host, 'inspect', '--format', '{{json .Config.Env}}', name)) as string[];
      });
      assert.ok(env.includes(`DB_PASSWORD=${PASSWORD}`), 'the container has the value the encrypted file holds');
      assert.ok(!JSON.stringify(await repo()).includes(PASSWORD) && !(await events()).includes(PASSWORD), 'no value in status or events');
    });

    it('fails a revision with a file encrypted for another key, naming the file, and applies nothing of it', async () => {
      const applied = (await repo()).status.lastAppliedRevision;
      const otherRecipient = await identityToRecipient(await generateX25519Identity());
      const commit = remote.push({ 'apps/other.enc.yaml': await encryptSops([secret('other', OTHER)], otherRecipient) }, 'a secret for someone else');
      const r = await until('the revision attempted', async () => {
        const x = await repo();
        return x.status?.lastAttemptedRevision === `main@sha1:${commit}` ? x : undefined;
      });
      const cond = ready(r)!;
      assert.equal(cond.status, 'False');
      assert.equal(cond.reason, 'DecryptionFailed');
      assert.match(cond.message, /^apps\/other\.enc\.yaml: cannot be decrypted with the age key of Secret "sops-\w+\/age-key": no age identity in the key matches a recipient of the file \(age1/);
      assert.equal(r.status.lastAppliedRevision, applied, 'the last good revision stays applied');
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/other`)).status, 404);
      assert.ok(!(await events()).includes(OTHER));
    });

    it('refuses an encrypted file when spec.decryption is not set', async () => {
      const head = remote.push({ 'apps/other.enc.yaml': null }, 'drop the foreign secret');
      const res = await cp.call('PATCH', repoPath, { spec: { decryption: null } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(res.status, 200, JSON.stringify(res.body));
      const r = await until('the refusal', async () => {
        const x = await repo();
        return x.status?.observedGeneration === x.metadata.generation && x.status?.lastAttemptedRevision === `main@sha1:${head}` && ready(x)?.status === 'False' ? x : undefined;
      });
      assert.equal(ready(r)!.reason, 'ValidationFailed');
      assert.match(ready(r)!.message, /^apps\/db\.enc\.yaml: the file is encrypted with SOPS: set spec\.decryption/);
      assert.equal((await cp.call('GET', `${G}/namespaces/${NS}/secrets/db`)).status, 200, 'nothing was pruned');
    });
  });
}
