// Decrypts files in SOPS's format with age identities, in memory. A SOPS file is the original
// YAML/JSON with every value (or those its rules select) replaced by
// ENC[AES256_GCM,data:…,iv:…,tag:…,type:…] and a top-level `sops` mapping: the 32-byte data key,
// age-encrypted (armored) for each recipient, and a MAC (SHA-512 over every cleartext value in
// document order, encrypted with the data key, the lastmodified time as additional data). Each
// value's additional data is the path of keys to it, each followed by ':'. Errors never carry a
// value.
import { createCipheriv, createDecipheriv, createHash, timingSafeEqual } from 'node:crypto';
import { armor, Decrypter } from 'age-encryption';

export const SOPS_METADATA_KEY = 'sops';
const ENCRYPTED = /^ENC\[AES256_GCM,data:([^,]*),iv:([^,]+),tag:([^,]+),type:([^\]]+)\]$/;
const DEFAULT_UNENCRYPTED_SUFFIX = '_unencrypted';
/** sha256("sops"): starts the MAC of a file that MACs only its encrypted values. */
const MAC_ONLY_ENCRYPTED_INIT = createHash('sha256').update('sops').digest();
const TAG_BYTES = 16;

/** Why a SOPS file cannot be read; the message names no value. */
export class SopsError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'SopsError';
  }
}

export interface SopsMetadata {
  age?: Array<{ recipient?: string; enc?: string }>;
  key_groups?: unknown[];
  lastmodified?: string;
  mac?: string;
  unencrypted_suffix?: string;
  encrypted_suffix?: string;
  unencrypted_regex?: string;
  encrypted_regex?: string;
  unencrypted_comment_regex?: string;
  encrypted_comment_regex?: string;
  mac_only_encrypted?: boolean;
  [other: string]: unknown;
}

export interface DecryptedSops {
  /** The documents with their values in clear and the `sops` key removed. */
  documents: unknown[];
  /** Every value that was encrypted, as text: what must never be shown. */
  revealed: string[];
}

/** The SOPS metadata of a parsed file, or undefined when it is not a SOPS file. */
export function sopsMetadata(documents: readonly unknown[]): SopsMetadata | undefined {
  for (const doc of documents) {
    const meta = isMapping(doc) ? doc[SOPS_METADATA_KEY] : undefined;
    if (isMapping(meta) && typeof meta.mac === 'string' && 'lastmodified' in meta) return meta as SopsMetadata;
  }
  return undefined;
}

/** Decrypts the documents of a SOPS file with any of `identities` (AGE-SECRET-KEY-1…). */
export async function decryptSops(documents: readonly unknown[], identities: readonly string[]): Promise<DecryptedSops> {
  const meta = sopsMetadata(documents);
  if (!meta) throw new SopsError('not a SOPS file: no sops metadata with a mac');
  const rules = encryptionRules(meta);
  const dataKey = await decryptDataKey(meta, identities);
  const revealed: string[] = [];
  const mac = createHash('sha512');
  if (meta.mac_only_encrypted) mac.update(MAC_ONLY_ENCRYPTED_INIT);

  const walk = (value: unknown, path: string[]): unknown => {
    if (Array.isArray(value)) return value.map((item) => walk(item, path));
    if (isMapping(value)) {
      const out: Record<string, unknown> = {};
      for (const [key, item] of Object.entries(value)) out[key] = walk(item, [...path, key]);
      return out;
    }
    if (value === null || value === undefined) return value;
    const encrypted = rules(path);
    let clear = value;
    if (encrypted) {
      if (typeof value !== 'string') throw new SopsError(`${path.join('.')}: the value should be encrypted but is a plain ${typeof value}`);
      clear = value === '' ? '' : decryptValue(value, dataKey, path.map((k) => `${k}:`).join(''), path.join('.'));
      if (typeof clear === 'string' && clear !== '') revealed.push(clear);
      else if (clear !== '') revealed.push(String(clear));
    }
    if (!meta.mac_only_encrypted || encrypted) mac.update(macBytes(clear));
    return clear;
  };

  const clear = documents.map((doc) => {
    if (!isMapping(doc)) return doc;
    const { [SOPS_METADATA_KEY]: _meta, ...rest } = doc;
    return walk(rest, []);
  });
  const stored = decryptValue(meta.mac!, dataKey, macAdditionalData(meta.lastmodified), 'sops.mac');
  const computed = mac.digest();
  const expected = typeof stored === 'string' && /^[0-9a-fA-F]{128}$/.test(stored) ? Buffer.from(stored, 'hex') : undefined;
  if (!expected || !timingSafeEqual(expected, computed)) throw new SopsError('the MAC does not match: the file was changed after it was encrypted');
  return { documents: clear, revealed };
}

/** Encrypts one value as SOPS writes it (for producing SOPS files: tests, tools). */
export function encryptSopsValue(value: string | number | boolean, dataKey: Uint8Array, additionalData: string, iv: Uint8Array): string {
  const type = typeof value === 'string' ? 'str' : typeof value === 'boolean' ? 'bool' : Number.isInteger(value) ? 'int' : 'float';
  const cipher = createCipheriv('aes-256-gcm', dataKey, iv);
  cipher.setAAD(Buffer.from(additionalData));
  const data = Buffer.concat([cipher.update(macBytes(value)), cipher.final()]);
  const b64 = (b: Uint8Array) => Buffer.from(b).toString('base64');
  return `ENC[AES256_GCM,data:${b64(data)},iv:${b64(iv)},tag:${b64(cipher.getAuthTag())},type:${type}]`;
}

/** The bytes a value adds to the MAC (SOPS's ToBytes: booleans as True/False). */
export function macBytes(value: unknown): Buffer {
  if (typeof value === 'boolean') return Buffer.from(value ? 'True' : 'False');
  if (typeof value === 'number') return Buffer.from(String(value));
  if (value instanceof Date) return Buffer.from(value.toISOString());
  return Buffer.from(String(value));
}

/** The MAC's additional data: lastmodified as Go's RFC 3339 prints it (no fractional seconds). */
export function macAdditionalData(lastModified: unknown): string {
  const text = lastModified instanceof Date ? lastModified.toISOString() : String(lastModified ?? '');
  return text.replace(/\.\d+(?=Z|[+-]\d\d:\d\d$)/, '');
}

function decryptValue(text: string, key: Uint8Array, additionalData: string, where: string): string | number | boolean {
  const m = ENCRYPTED.exec(text);
  if (!m) throw new SopsError(`${where}: not a SOPS encrypted value (ENC[AES256_GCM,…])`);
  const [, data, iv, tag, type] = m;
  let clear: Buffer;
  try {
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64'), { authTagLength: TAG_BYTES });
    decipher.setAAD(Buffer.from(additionalData));
    decipher.setAuthTag(Buffer.from(tag, 'base64'));
    clear = Buffer.concat([decipher.update(Buffer.from(data, 'base64')), decipher.final()]);
  } catch {
    throw new SopsError(`${where}: the value does not decrypt with the file's data key (changed, or moved to another key)`);
  }
  const s = clear.toString('utf8');
  switch (type) {
    case 'str':
    case 'bytes':
      return s;
    case 'int':
    case 'int64':
    case 'float': {
      const n = Number(s);
      if (s.trim() === '' || Number.isNaN(n)) throw new SopsError(`${where}: the decrypted value is not a number, as its type says`);
      return n;
    }
    case 'bool':
      if (!/^(true|false)$/i.test(s)) throw new SopsError(`${where}: the decrypted value is not a boolean, as its type says`);
      return s.toLowerCase() === 'true';
    default:
      throw new SopsError(`${where}: unknown value type "${type}"`);
  }
}

async function decryptDataKey(meta: SopsMetadata, identities: readonly string[]): Promise<Uint8Array> {
  if (meta.key_groups && !meta.age?.length) throw new SopsError('key groups (Shamir secret sharing) are not supported: encrypt the file for age recipients without key groups');
  const entries = (meta.age ?? []).filter((e) => typeof e?.enc === 'string');
  if (!entries.length) throw new SopsError('the file has no age recipient (it was encrypted for PGP or a cloud KMS only)');
  const decrypter = new Decrypter();
  for (const identity of identities) decrypter.addIdentity(identity);
  for (const entry of entries) {
    try {
      const key = await decrypter.decrypt(armor.decode(entry.enc!));
      if (key.length === 32) return key;
    } catch {
      // Not this recipient: try the next.
    }
  }
  const recipients = entries.map((e) => e.recipient).filter(Boolean).join(', ');
  throw new SopsError(`no age identity in the key matches a recipient of the file (${recipients || 'none named'})`);
}

/** Which values are encrypted, by the one rule the file names (default: all but keys ending _unencrypted). */
function encryptionRules(meta: SopsMetadata): (path: string[]) => boolean {
  if (meta.unencrypted_comment_regex || meta.encrypted_comment_regex) {
    throw new SopsError('encrypted_comment_regex and unencrypted_comment_regex are not supported: choose values by key (encrypted_regex, unencrypted_suffix, …)');
  }
  const regex = (pattern: string, name: string) => {
    try {
      return new RegExp(pattern);
    } catch {
      throw new SopsError(`sops.${name} is not a regular expression this reader understands`);
    }
  };
  if (meta.encrypted_suffix) return (path) => path.some((k) => k.endsWith(meta.encrypted_suffix!));
  if (meta.encrypted_regex) {
    const re = regex(meta.encrypted_regex, 'encrypted_regex');
    return (path) => path.some((k) => re.test(k));
  }
  if (meta.unencrypted_regex) {
    const re = regex(meta.unencrypted_regex, 'unencrypted_regex');
    return (path) => !path.some((k) => re.test(k));
  }
  const suffix = meta.unencrypted_suffix || DEFAULT_UNENCRYPTED_SUFFIX;
  return (path) => !path.some((k) => k.endsWith(suffix));
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value) && !(value instanceof Date);
}
