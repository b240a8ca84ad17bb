import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync, statSync, writeFileSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { AesGcmSealer, loadSealer, sealedValueAad, SealingError } from '../../../security/sealing.js';

const k1 = randomBytes(32);
const k2 = randomBytes(32);

describe('AesGcmSealer', () => {
  it('opens what it sealed, with the key id inside the ciphertext', () => {
    const s = new AesGcmSealer([k1]);
    const aad = sealedValueAad('Secret', 'shop', 'db', 'password');
    const sealed = s.seal('s3cret-value', aad);
    assert.equal(s.keyIdOf(sealed), s.activeKeyId);
    assert.match(sealed, /^hfs1:[0-9a-f]{12}:/);
    assert.ok(!sealed.includes('s3cret-value'));
    assert.equal(s.open(sealed, aad), 's3cret-value');
    assert.notEqual(s.seal('s3cret-value', aad), sealed, 'a fresh IV each time');
  });

  // The associated data is the row identity: a ciphertext copied anywhere else does not open.
  const identity: Array<[string, string]> = [
    ['another key of the same Secret', sealedValueAad('Secret', 'shop', 'db', 'user')],
    ['the same key of another Secret', sealedValueAad('Secret', 'shop', 'cache', 'password')],
    ['the same Secret in another namespace', sealedValueAad('Secret', 'blog', 'db', 'password')],
    ['another kind with the same name', sealedValueAad('SSHKey', 'shop', 'db', 'password')],
  ];
  for (const [where, otherAad] of identity) {
    it(`refuses a ciphertext copied to ${where}`, () => {
      const s = new AesGcmSealer([k1]);
      const sealed = s.seal('s3cret-value', sealedValueAad('Secret', 'shop', 'db', 'password'));
      assert.throws(() => s.open(sealed, otherAad), SealingError);
    });
  }

  it('refuses a tampered ciphertext and an unknown key', () => {
    const s = new AesGcmSealer([k1]);
    const aad = 'Secret/shop/db/password';
    const parts = s.seal('s3cret-value', aad).split(':');
    const ct = Buffer.from(parts[3], 'base64');
    ct[0] ^= 1;
    parts[3] = ct.toString('base64');
    assert.throws(() => s.open(parts.join(':'), aad), SealingError);
    assert.throws(() => new AesGcmSealer([k2]).open(s.seal('x', aad), aad), /not loaded/);
  });

  it('activates a new key: new values use it, old ones still open, hashes do not change', () => {
    const s = new AesGcmSealer([k1]);
    const aad = 'Secret/shop/db/password';
    const old = s.seal('value-one', aad);
    const hashBefore = s.hash('value-one');
    const oldId = s.activeKeyId;
    const newId = s.activate(k2);
    assert.notEqual(newId, oldId);
    assert.equal(s.activeKeyId, newId);
    assert.deepEqual(s.keyIds, [newId, oldId]);
    assert.equal(s.keyIdOf(s.seal('value-two', aad)), newId);
    assert.equal(s.open(old, aad), 'value-one');
    assert.equal(s.hash('value-one'), hashBefore);
  });

  it('derives the value-hash key from the oldest key, so hashes survive a restart after rotation', () => {
    const before = new AesGcmSealer([k1]);
    const after = new AesGcmSealer([k2, k1]);
    assert.equal(after.hash('value'), before.hash('value'));
    assert.notEqual(new AesGcmSealer([k2]).hash('value'), before.hash('value'));
    assert.match(before.hash('value'), /^hmac-sha256:[0-9a-f]{64}$/);
  });

  it('reports each plaintext it seals or opens', () => {
    const s = new AesGcmSealer([k1]);
    const seen: string[] = [];
    s.onPlaintext((p) => seen.push(p));
    const sealed = s.seal('reported-1', 'a');
    s.open(sealed, 'a');
    assert.throws(() => s.open(sealed, 'b'));
    assert.deepEqual(seen, ['reported-1', 'reported-1']);
  });
});

describe('loadSealer', () => {
  it('creates a 0600 key file on first start and loads previous keys after it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hf-seal-'));
    try {
      const first = loadSealer(join(dir, 'data'));
      const file = join(dir, 'data', 'encryption.key');
      assert.equal(statSync(file).mode & 0o777, 0o600);
      const sealed = first.seal('kept', 'aad');
      assert.equal(loadSealer(join(dir, 'data')).activeKeyId, first.activeKeyId, 'the same key on the next start');
      // A rotation: the new key in encryption.key, the old one in encryption.key.previous.
      writeFileSync(join(dir, 'data', 'encryption.key.previous'), readFileSync(file, 'utf8'));
      writeFileSync(file, k2.toString('base64') + '\n');
      const rotated = loadSealer(join(dir, 'data'));
      assert.notEqual(rotated.activeKeyId, first.activeKeyId);
      assert.equal(rotated.open(sealed, 'aad'), 'kept');
      assert.equal(rotated.hash('kept'), first.hash('kept'));
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('takes ENCRYPTION_KEY in base64 or hex, and says what is wrong with a bad one', () => {
    const dir = mkdtempSync(join(tmpdir(), 'hf-seal-'));
    try {
      const a = loadSealer(dir, k1.toString('base64'));
      const b = loadSealer(dir, k1.toString('hex'));
      assert.equal(a.activeKeyId, b.activeKeyId);
      assert.throws(() => loadSealer(dir, 'too-short'), /ENCRYPTION_KEY: an encryption key must be 32 bytes/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
