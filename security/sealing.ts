// Encryption at rest for write-only values (Secret data, SSHKey private keys).
// AES-256-GCM; the key id travels inside the ciphertext so rotation can find the right key; the
// owning row's identity is the associated data, so a ciphertext copied onto another row fails to open.
import { createCipheriv, createDecipheriv, createHash, createHmac, hkdfSync, randomBytes } from 'node:crypto';
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

const FORMAT = 'hfs1';

export interface Sealer {
  /** The id of the key new values are sealed with. */
  readonly activeKeyId: string;
  seal(plaintext: string, associatedData: string): string;
  open(sealed: string, associatedData: string): string;
  /** The key id a sealed value was made with. */
  keyIdOf(sealed: string): string;
  /** A keyed hash of a value: equal values hash equal, the value cannot be recovered or guessed offline. */
  hash(plaintext: string): string;
}

export class SealingError extends Error {}

/**
 * The associated data that binds a sealed value to its row: kind/namespace/name/key. A ciphertext
 * copied to another object or key does not open. (The uid is unknown before the first write.)
 */
export function sealedValueAad(kind: string, namespace: string | undefined, name: string, key: string): string {
  return [kind, namespace ?? '', name, key].join('/');
}

const keyIdFor = (key: Buffer) => createHash('sha256').update(key).digest('hex').slice(0, 12);

export class AesGcmSealer implements Sealer {
  private readonly keys = new Map<string, Buffer>();
  /** Key ids, newest first: the active key, then older ones as they were loaded or replaced. */
  private order: string[] = [];
  private active: string;
  private readonly hashKey: Buffer;
  private readonly plaintextListeners: Array<(plaintext: string, associatedData: string) => void> = [];

  /** `keys[0]` is the active key; the others are still accepted for opening (rotation). */
  constructor(keys: Buffer[]) {
    if (keys.length === 0) throw new SealingError('no encryption key');
    for (const k of keys) {
      if (k.length !== 32) throw new SealingError('encryption keys must be 32 bytes');
      const id = keyIdFor(k);
      this.keys.set(id, k);
      if (!this.order.includes(id)) this.order.push(id);
    }
    this.active = keyIdFor(keys[0]);
    // The hash key is derived from the first key ever used (the last in the list), so hashes stay
    // stable across rotations as long as that key is kept for hashing.
    this.hashKey = Buffer.from(hkdfSync('sha256', keys[keys.length - 1], Buffer.alloc(0), 'holdfast value hash', 32));
  }

  get activeKeyId(): string {
    return this.active;
  }

  /** Ids of every loaded key, the active one first. */
  get keyIds(): string[] {
    return [...this.order];
  }

  /** Makes `key` the key new values are sealed with; the others still open what they sealed. */
  activate(key: Buffer): string {
    if (key.length !== 32) throw new SealingError('encryption keys must be 32 bytes');
    const id = keyIdFor(key);
    this.keys.set(id, key);
    this.order = [id, ...this.order.filter((k) => k !== id)];
    this.active = id;
    return id;
  }

  /**
   * Calls `listener` with every plaintext this sealer seals or opens, and the identity it is bound
   * to: how the redactor learns each secret value the moment it enters or leaves the store.
   */
  onPlaintext(listener: (plaintext: string, associatedData: string) => void): void {
    this.plaintextListeners.push(listener);
  }

  private saw(plaintext: string, associatedData: string) {
    for (const l of this.plaintextListeners) l(plaintext, associatedData);
  }

  seal(plaintext: string, associatedData: string): string {
    this.saw(plaintext, associatedData);
    const key = this.keys.get(this.activeKeyId)!;
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', key, iv);
    cipher.setAAD(Buffer.from(associatedData));
    const ct = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    const tag = cipher.getAuthTag();
    return [FORMAT, this.activeKeyId, iv.toString('base64'), ct.toString('base64'), tag.toString('base64')].join(':');
  }

  keyIdOf(sealed: string): string {
    const parts = sealed.split(':');
    if (parts.length !== 5 || parts[0] !== FORMAT) throw new SealingError('not a sealed value');
    return parts[1];
  }

  open(sealed: string, associatedData: string): string {
    const [, keyId, iv, ct, tag] = sealed.split(':');
    const key = this.keys.get(this.keyIdOf(sealed));
    if (!key) throw new SealingError(`sealed with key ${keyId}, which is not loaded`);
    let plaintext: string;
    try {
      const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'));
      decipher.setAAD(Buffer.from(associatedData));
      decipher.setAuthTag(Buffer.from(tag, 'base64'));
      plaintext = Buffer.concat([decipher.update(Buffer.from(ct, 'base64')), decipher.final()]).toString('utf8');
    } catch {
      throw new SealingError('sealed value does not open: wrong key or it belongs to another object');
    }
    this.saw(plaintext, associatedData);
    return plaintext;
  }

  hash(plaintext: string): string {
    return 'hmac-sha256:' + createHmac('sha256', this.hashKey).update(plaintext).digest('hex');
  }
}

/**
 * The key comes from ENCRYPTION_KEY (`encryptionKey`, 32 bytes, base64 or hex) or from `<dataDir>/encryption.key`,
 * created with mode 0600 on first start. Older keys kept after a rotation sit in
 * `<dataDir>/encryption.key.previous` (one per line) so old ciphertexts still open.
 */
export function loadSealer(dataDir: string, encryptionKey?: string): AesGcmSealer {
  const keys: Buffer[] = [];
  if (encryptionKey) keys.push(decodeKey(encryptionKey, 'ENCRYPTION_KEY'));
  else {
    const file = join(dataDir, 'encryption.key');
    if (!existsSync(file)) {
      mkdirSync(dataDir, { recursive: true, mode: 0o700 });
      writeFileSync(file, randomBytes(32).toString('base64') + '\n', { mode: 0o600, flag: 'wx' });
    }
    keys.push(decodeKey(readFileSync(file, 'utf8').trim(), file));
  }
  const previous = join(dataDir, 'encryption.key.previous');
  if (existsSync(previous)) {
    for (const line of readFileSync(previous, 'utf8').split('\n')) if (line.trim()) keys.push(decodeKey(line.trim(), previous));
  }
  return new AesGcmSealer(keys);
}

function decodeKey(text: string, source: string): Buffer {
  const buf = /^[0-9a-fA-F]{64}$/.test(text) ? Buffer.from(text, 'hex') : Buffer.from(text, 'base64');
  if (buf.length !== 32) throw new SealingError(`${source}: an encryption key must be 32 bytes (base64 or hex)`);
  return buf;
}
