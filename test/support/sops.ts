// Writes SOPS files as the sops tool does for age recipients, so tests can commit encrypted
// manifests: a random data key age-encrypted (armored) for the recipient, every selected value
// AES-256-GCM encrypted with its key path as additional data, and the MAC over the values.
import { createHash, randomBytes } from 'node:crypto';
import { armor, Encrypter } from 'age-encryption';
import { dump } from 'js-yaml';
import { encryptSopsValue, macAdditionalData, macBytes } from '../../security/sops.js';

export interface SopsEncryptOptions {
  /** Encrypt only values under keys matching this (sops --encrypted-regex); default: every value. */
  encryptedRegex?: string;
}

/** The YAML text of `documents` encrypted for the age `recipient`. */
export async function encryptSops(documents: Record<string, unknown>[], recipient: string, opts: SopsEncryptOptions = {}): Promise<string> {
  const dataKey = randomBytes(32);
  const selected = opts.encryptedRegex ? new RegExp(opts.encryptedRegex) : undefined;
  const mac = createHash('sha512');
  const walk = (value: unknown, path: string[]): unknown => {
    if (Array.isArray(value)) return value.map((v) => walk(v, path));
    if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([k, v]) => [k, walk(v, [...path, k])]));
    if (value === null || value === undefined) return value;
    mac.update(macBytes(value));
    const encrypt = selected ? path.some((k) => selected.test(k)) : !path.some((k) => k.endsWith('_unencrypted'));
    if (!encrypt || value === '') return value;
    return encryptSopsValue(value as string | number | boolean, dataKey, path.map((k) => `${k}:`).join(''), randomBytes(32));
  };
  const encrypted = documents.map((doc) => walk(doc, []) as Record<string, unknown>);
  const encrypter = new Encrypter();
  encrypter.addRecipient(recipient);
  const lastmodified = macAdditionalData(new Date().toISOString());
  const metadata = {
    age: [{ recipient, enc: armor.encode(await encrypter.encrypt(dataKey)) }],
    lastmodified,
    mac: encryptSopsValue(mac.digest('hex').toUpperCase(), dataKey, lastmodified, randomBytes(32)),
    ...(opts.encryptedRegex ? { encrypted_regex: opts.encryptedRegex } : { unencrypted_suffix: '_unencrypted' }),
    version: '3.9.0',
  };
  return encrypted.map((doc) => dump({ ...doc, sops: metadata }, { lineWidth: -1 })).join('---\n');
}
