// Online key rotation on PGlite and PostgreSQL: every sealed row ends under the new key with its
// value and value hash unchanged; a rotation cut short after some rows is finished by the next call
// (same key, no new one); writes made during a rotation survive it; the server keeps serving. Users'
// TOTP secrets move to the new key too: sign-in with a code works after a rotation without the old key.
import assert from 'node:assert/strict';
import { readFileSync, statSync } from 'node:fs';
import { eq } from 'drizzle-orm';
import { generate } from 'otplib';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { KeyRotation } from '../../../security/key-rotation.js';
import { openSealedValue, resolveSecretValue } from '../../../security/secret-values.js';
import { AesGcmSealer, loadSealer } from '../../../security/sealing.js';
import { totpSecretAad, UserStore } from '../../../security/users.js';
import { auditLog, sealedValues, users } from '../../../store/schema.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';

const G = '/apis/holdfast.dev/v1alpha1';
const SECRETS = 6;
const valueOf = (i: number, key: string) => `value-${key}-${i}-${'x'.repeat(i)}`;

function sshPrivateKey(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hf-key-'));
  try {
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-f', join(dir, 'id')]);
    return readFileSync(join(dir, 'id'), 'utf8');
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`encryption key rotation on ${driver}`, () => {
    let cp: TestControlPlane;
    let privateKey: string;
    const rows = () => cp.plane.database.db.select().from(sealedValues);
    const expected = new Map<string, string>();

    /** Every sealed row opens, under `keyId`, to the value it held, with the hash it had. */
    async function assertAllUnder(keyId: string, hashes: Map<string, string>) {
      const all = await rows();
      assert.equal(all.length, SECRETS * 2 + 1);
      for (const r of all) assert.equal(cp.plane.sealer.keyIdOf(r.ciphertext), keyId, `row ${r.ownerUid}/${r.key} is under the new key`);
      for (const [ref, value] of expected) {
        const [name, key] = ref.split('/');
        assert.equal(await resolveSecretValue(cp.plane.store, cp.plane.sealer, 'shop', name, key), value);
      }
      assert.equal(await openSealedValue(cp.plane.store, cp.plane.sealer, 'SSHKey', undefined, 'deploy-key', 'privateKey'), privateKey);
      for (const r of all) assert.equal(r.valueHash, hashes.get(`${r.ownerUid}/${r.key}`), 'value hashes do not change');
    }
    const hashesNow = async () => new Map((await rows()).map((r) => [`${r.ownerUid}/${r.key}`, r.valueHash]));

    before(async () => {
      cp = await startTestControlPlane(driver);
      assert.equal((await cp.call('POST', `${G}/projects`, { kind: 'Project', metadata: { name: 'shop' }, spec: { environments: [{ name: 'production' }] } })).status, 201);
      for (let i = 0; i < SECRETS; i++) {
        const stringData = { password: valueOf(i, 'password'), user: valueOf(i, 'user') };
        for (const [k, v] of Object.entries(stringData)) expected.set(`s${i}/${k}`, v);
        assert.equal((await cp.call('POST', `${G}/namespaces/shop/secrets`, { kind: 'Secret', metadata: { name: `s${i}` }, spec: { stringData } })).status, 201);
      }
      privateKey = sshPrivateKey();
      assert.equal((await cp.call('POST', `${G}/sshkeys`, { kind: 'SSHKey', metadata: { name: 'deploy-key' }, spec: { privateKey } })).status, 201);
    });
    after(async () => cp.stop());

    it('rotates: a new active key, every row re-encrypted, values, hashes and objects unchanged', async () => {
      const hashes = await hashesNow();
      const original = cp.plane.sealer.activeKeyId;
      const originalKeyFile = readFileSync(join(cp.dataDir, 'encryption.key'), 'utf8');
      const before = await cp.call('GET', `${G}/namespaces/shop/secrets/s0`);

      const res = await cp.call('POST', `${G}/encryptionkey/rotate`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.kind, 'EncryptionKeyRotation');
      assert.equal(res.body.resumed, false);
      assert.equal(res.body.resealed, SECRETS * 2 + 1);
      assert.deepEqual(res.body.unopened, []);
      assert.notEqual(res.body.keyId, original);
      assert.deepEqual(res.body.previousKeyIds, [original]);
      assert.equal(cp.plane.sealer.activeKeyId, res.body.keyId);
      await assertAllUnder(res.body.keyId, hashes);

      // The key files: the new key active, the old one kept, both private to the owner.
      assert.equal(readFileSync(join(cp.dataDir, 'encryption.key.previous'), 'utf8'), originalKeyFile);
      for (const f of ['encryption.key', 'encryption.key.previous']) assert.equal(statSync(join(cp.dataDir, f)).mode & 0o777, 0o600);
      const restarted = loadSealer(cp.dataDir);
      assert.equal(restarted.activeKeyId, res.body.keyId, 'a restart loads the new key');
      const [one] = await rows();
      assert.equal(restarted.hash('anything'), cp.plane.sealer.hash('anything'), 'a restart derives the same hash key');
      assert.ok(restarted.keyIds.includes(cp.plane.sealer.keyIdOf(one.ciphertext)));

      const afterwards = await cp.call('GET', `${G}/namespaces/shop/secrets/s0`);
      assert.equal(afterwards.body.metadata.resourceVersion, before.body.metadata.resourceVersion, 'objects are not rewritten');
      const audit = await cp.plane.database.db.select().from(auditLog);
      assert.ok(audit.some((a) => a.verb === 'rotate-key' && a.name === res.body.keyId && a.outcome === 'Success' && a.actor === 'token:admin'));
    });

    it('finishes a rotation that was cut short, under the same key, instead of starting another', async () => {
      const hashes = await hashesNow();
      const crashing = new KeyRotation({
        db: cp.plane.database.db,
        sealer: cp.plane.sealer,
        dataDir: cp.dataDir,
        keyFromEnvironment: false,
        afterRow: (n) => {
          if (n === 5) throw new Error('killed halfway');
        },
      });
      await assert.rejects(crashing.rotate({ actor: 'test' }), /killed halfway/);
      const newKey = cp.plane.sealer.activeKeyId;
      const under = (await rows()).filter((r) => cp.plane.sealer.keyIdOf(r.ciphertext) === newKey).length;
      assert.equal(under, 5, 'five rows moved before the crash');
      assert.equal((await cp.call('GET', `${G}/namespaces/shop/secrets/s1`)).status, 200, 'the server keeps serving');
      assert.equal(await resolveSecretValue(cp.plane.store, cp.plane.sealer, 'shop', 's5', 'user'), valueOf(5, 'user'), 'both halves open meanwhile');

      // A restart in between: the key files alone must be enough.
      const restarted = loadSealer(cp.dataDir);
      assert.equal(restarted.activeKeyId, newKey);
      for (const r of await rows()) assert.ok(restarted.keyIds.includes(restarted.keyIdOf(r.ciphertext)));

      const res = await cp.call('POST', `${G}/encryptionkey/rotate`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.resumed, true);
      assert.equal(res.body.keyId, newKey, 'no further key was made');
      assert.equal(res.body.resealed, SECRETS * 2 + 1 - 5);
      await assertAllUnder(newKey, hashes);
      assert.equal(readFileSync(join(cp.dataDir, 'encryption.key.previous'), 'utf8').trim().split('\n').length, 2);
    });

    it('keeps writes made while a rotation runs', async () => {
      let writes: Promise<unknown> | undefined;
      const rotation = new KeyRotation({
        db: cp.plane.database.db,
        sealer: cp.plane.sealer,
        dataDir: cp.dataDir,
        keyFromEnvironment: false,
        afterRow: (n) => {
          // Halfway through, rewrite two Secrets; the rotation must neither lose nor undo them.
          if (n === 3) {
            writes = Promise.all(
              [0, 4].map(async (i) => {
                expected.set(`s${i}/password`, `rewritten-during-rotation-${i}`);
                const res = await cp.call('PATCH', `${G}/namespaces/shop/secrets/s${i}`, { spec: { stringData: { password: `rewritten-during-rotation-${i}` } } }, { 'content-type': 'application/merge-patch+json' });
                assert.equal(res.status, 200);
              }),
            );
          }
        },
      });
      const result = await rotation.rotate({ actor: 'test' });
      await writes;
      assert.equal(result.resumed, false);
      const hashes = await hashesNow();
      const active = cp.plane.sealer.activeKeyId;
      const leftover = (await rows()).filter((r) => cp.plane.sealer.keyIdOf(r.ciphertext) !== active);
      assert.deepEqual(leftover, [], 'the writes sealed the values they kept under the new key too');
      for (const [ref, value] of expected) {
        const [name, key] = ref.split('/');
        assert.equal(await resolveSecretValue(cp.plane.store, cp.plane.sealer, 'shop', name, key), value);
      }
      const [s4] = (await rows()).filter((r) => r.key === 'password' && hashes.get(`${r.ownerUid}/${r.key}`) === cp.plane.sealer.hash('rewritten-during-rotation-4'));
      assert.ok(s4, 'the rewritten value carries its own hash');
    });

    it('explains how to rotate a key that comes from ENCRYPTION_KEY', async () => {
      const fromEnv = new KeyRotation({ db: cp.plane.database.db, sealer: cp.plane.sealer, dataDir: cp.dataDir, keyFromEnvironment: true });
      await assert.rejects(fromEnv.rotate({ actor: 'test' }), /comes from ENCRYPTION_KEY.*encryption\.key\.previous.*rotate-key` again/);
    });

    it('refuses a rotation without the secret:rotate scope', async () => {
      const { token } = await cp.plane.tokens.create('writer', ['secret:write']);
      const res = await fetch(`${cp.url}${G}/encryptionkey/rotate`, { method: 'POST', headers: { authorization: `Bearer ${token}` } });
      assert.equal(res.status, 403);
    });

    it("re-seals users' TOTP secrets: sign-in with a code works after the rotation, and without the old key", async () => {
      const password = 'quartz-meadow-lantern-18';
      assert.equal((await cp.call('POST', `${G}/users`, { name: 'dora', password })).status, 201);
      const enabled = await cp.call('POST', `${G}/users/dora/totp`);
      assert.equal(enabled.status, 201);
      const secret = enabled.body.secret as string;
      const oldKey = cp.plane.sealer.activeKeyId;

      const res = await cp.call('POST', `${G}/encryptionkey/rotate`);
      assert.equal(res.status, 200, JSON.stringify(res.body));
      assert.equal(res.body.resealed, SECRETS * 2 + 1 + 1, "the Secrets' and the SSHKey's values, and the TOTP secret");
      assert.deepEqual(res.body.unopened, []);
      assert.notEqual(res.body.keyId, oldKey);
      const [row] = await cp.plane.database.db.select().from(users).where(eq(users.name, 'dora'));
      assert.equal(cp.plane.sealer.keyIdOf(row.totpSecret!), res.body.keyId);

      // The new key alone opens the secret, and a server holding only it signs the user in with a code.
      const newKeyOnly = new AesGcmSealer([Buffer.from(readFileSync(join(cp.dataDir, 'encryption.key'), 'utf8').trim(), 'base64')]);
      assert.equal(newKeyOnly.open(row.totpSecret!, totpSecretAad('dora')), secret);
      const signedIn = await new UserStore(cp.plane.database.db, { sealer: newKeyOnly }).signIn('dora', password, '127.0.0.9', await generate({ secret }));
      assert.equal(signedIn.name, 'dora');

      // And over the API, as the running server does it (the next step's code: the last one is used up).
      const next = await generate({ secret, epoch: Math.floor(Date.now() / 1000) + 30 });
      const login = await fetch(`${cp.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'dora', password, totp: next }) });
      assert.equal(login.status, 200, await login.clone().text());
    });
  });
}
