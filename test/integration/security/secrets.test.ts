// Secret values at rest and on their way out, on PGlite and PostgreSQL: they are sealed per row
// (a ciphertext copied to another row does not open), resolveSecretValue opens them for the
// deployment executor with clear errors, and a PATCH merges keys while a PUT replaces them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { and, eq } from 'drizzle-orm';
import { HoldfastError } from '../../../core/errors.js';
import { openSealedValue, resolveSecretValue } from '../../../security/secret-values.js';
import { sealedValues } from '../../../store/schema.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';

const G = '/apis/holdfast.dev/v1alpha1';
const secret = (name: string, stringData: Record<string, string>) => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Secret',
  metadata: { name, namespace: 'shop' },
  spec: { stringData },
});

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`secrets on ${driver}`, () => {
    let cp: TestControlPlane;
    const resolve = (name: string, key: string) => resolveSecretValue(cp.plane.store, cp.plane.sealer, 'shop', name, key);
    const uidOf = async (name: string) => (await cp.plane.store.mustGet('Secret', 'shop', name)).metadata.uid!;

    before(async () => {
      cp = await startTestControlPlane(driver);
      const project = await cp.call('POST', `${G}/projects`, { kind: 'Project', metadata: { name: 'shop' }, spec: { environments: [{ name: 'production' }] } });
      assert.equal(project.status, 201);
      assert.equal((await cp.call('POST', `${G}/namespaces/shop/secrets`, secret('db', { password: 'pw-Aa1-db', user: 'app-user' }))).status, 201);
      assert.equal((await cp.call('POST', `${G}/namespaces/shop/secrets`, secret('cache', { password: 'pw-Bb2-cache' }))).status, 201);
    });
    after(async () => cp.stop());

    it('resolves a value for the executor, and says clearly what is missing', async () => {
      assert.equal(await resolve('db', 'password'), 'pw-Aa1-db');
      assert.equal(await resolve('db', 'user'), 'app-user');
      await assert.rejects(resolve('nope', 'password'), (e: unknown) => e instanceof HoldfastError && e.reason === 'NotFound' && /Secret "shop\/nope" not found/.test(e.message));
      await assert.rejects(resolve('db', 'pasword'), (e: unknown) => e instanceof HoldfastError && /has no key "pasword" \(its keys: password, user\)/.test(e.message));
    });

    it('opens an SSHKey private key the same way', async () => {
      const { execFileSync } = await import('node:child_process');
      const { mkdtempSync, readFileSync, rmSync } = await import('node:fs');
      const { tmpdir } = await import('node:os');
      const { join } = await import('node:path');
      const dir = mkdtempSync(join(tmpdir(), 'hf-key-'));
      try {
        execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
        const key = readFileSync(join(dir, 'id'), 'utf8');
        assert.equal((await cp.call('POST', `${G}/sshkeys`, { kind: 'SSHKey', metadata: { name: 'deploy-key' }, spec: { privateKey: key } })).status, 201);
        assert.equal(await openSealedValue(cp.plane.store, cp.plane.sealer, 'SSHKey', undefined, 'deploy-key', 'privateKey'), key);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    });

    it('binds each ciphertext to its row: copied to another Secret or key, it does not open', async () => {
      const db = cp.plane.database.db;
      const [dbPassword] = await db.select().from(sealedValues).where(and(eq(sealedValues.ownerUid, await uidOf('db')), eq(sealedValues.key, 'password')));
      assert.ok(dbPassword.ciphertext.startsWith('hfs1:'));
      assert.ok(!dbPassword.ciphertext.includes('pw-Aa1-db'));

      // Another Secret's row for the same key name.
      await db.update(sealedValues).set({ ciphertext: dbPassword.ciphertext }).where(and(eq(sealedValues.ownerUid, await uidOf('cache')), eq(sealedValues.key, 'password')));
      await assert.rejects(resolve('cache', 'password'), (e: unknown) => e instanceof HoldfastError && /cannot be decrypted: .*belongs to another object/.test(e.message));
      // Another key of the same Secret.
      await db.update(sealedValues).set({ ciphertext: dbPassword.ciphertext }).where(and(eq(sealedValues.ownerUid, await uidOf('db')), eq(sealedValues.key, 'user')));
      await assert.rejects(resolve('db', 'user'), /cannot be decrypted/);
      assert.equal(await resolve('db', 'password'), 'pw-Aa1-db', 'the original row still opens');

      // Repair the rows this test broke.
      assert.equal((await cp.call('PUT', `${G}/namespaces/shop/secrets/db`, secret('db', { password: 'pw-Aa1-db', user: 'app-user' }))).status, 200);
      assert.equal((await cp.call('PUT', `${G}/namespaces/shop/secrets/cache`, secret('cache', { password: 'pw-Bb2-cache' }))).status, 200);
      assert.equal(await resolve('db', 'user'), 'app-user');
    });

    it('merges keys on PATCH (unnamed keys kept), replaces them on PUT', async () => {
      const before = await cp.call('GET', `${G}/namespaces/shop/secrets/db`);
      const patched = await cp.call('PATCH', `${G}/namespaces/shop/secrets/db`, { spec: { stringData: { host: 'db.internal.example' } } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(patched.status, 200, JSON.stringify(patched.body));
      assert.deepEqual(patched.body.status.keys, ['host', 'password', 'user']);
      assert.equal(patched.body.metadata.generation, before.body.metadata.generation + 1);
      assert.equal(await resolve('db', 'password'), 'pw-Aa1-db', 'a kept key still opens');
      assert.equal(await resolve('db', 'host'), 'db.internal.example');

      const same = await cp.call('PATCH', `${G}/namespaces/shop/secrets/db`, { spec: { stringData: { host: 'db.internal.example' } } }, { 'content-type': 'application/merge-patch+json' });
      assert.equal(same.body.metadata.generation, patched.body.metadata.generation, 'an unchanged value does not move the generation');

      const changed = await cp.call('PATCH', `${G}/namespaces/shop/secrets/db`, { spec: { data: { password: Buffer.from('pw-new-db').toString('base64') } } }, { 'content-type': 'application/merge-patch+json' });
      assert.deepEqual(changed.body.status.keys, ['host', 'password', 'user']);
      assert.equal(await resolve('db', 'password'), 'pw-new-db');

      const replaced = await cp.call('PUT', `${G}/namespaces/shop/secrets/db`, secret('db', { password: 'pw-Aa1-db' }));
      assert.deepEqual(replaced.body.status.keys, ['password']);
      await assert.rejects(resolve('db', 'host'), /has no key "host"/);
      for (const body of [before.body, patched.body, changed.body, replaced.body]) {
        const text = JSON.stringify(body);
        assert.ok(!/pw-Aa1-db|pw-new-db|db\.internal\.example|hmac-sha256/.test(text), `no value or hash in ${text}`);
      }
    });
  });
}
