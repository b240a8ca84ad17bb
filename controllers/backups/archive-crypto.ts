// age encryption of backup archives as they stream through the control plane: the recipient (age1…)
// encrypts on the way to the destination, the identity (AGE-SECRET-KEY-1…) decrypts on the way
// back. Streams stay streams: nothing is held whole in memory.
import { Readable } from 'node:stream';
import type { ReadableStream as WebReadableStream } from 'node:stream/web';
import { Decrypter, Encrypter } from 'age-encryption';
import { ageIdentities } from '../../security/age-keys.js';
import { BackupFailure } from './backup-errors.js';

const RECIPIENT = /^age1[02-9ac-hj-np-z]{58}$/;

/** Checks the Secret's value is an age recipient, without showing it. */
export function ageRecipient(value: string, where: string): string {
  const recipient = value.trim();
  if (!RECIPIENT.test(recipient)) throw new BackupFailure('InvalidEncryptionKey', `${where} does not hold an age recipient (age1…, as age-keygen prints for "Public key")`);
  return recipient;
}

/** Checks the Secret's value is an age identity, without showing it. */
export function ageIdentity(value: string, where: string): string {
  const [identity] = ageIdentities(value);
  if (!identity) throw new BackupFailure('InvalidEncryptionKey', `${where} does not hold an age identity (AGE-SECRET-KEY-1…, as age-keygen writes it)`);
  return identity;
}

export async function encryptStream(plain: Readable, recipient: string): Promise<Readable> {
  const encrypter = new Encrypter();
  encrypter.addRecipient(recipient);
  const encrypted = await encrypter.encrypt(Readable.toWeb(plain) as unknown as ReadableStream<Uint8Array>);
  return Readable.fromWeb(encrypted as unknown as WebReadableStream<Uint8Array>);
}

/** Decrypts as the ciphertext arrives; a wrong key or a changed byte fails the stream. */
export async function decryptStream(encrypted: Readable, identity: string): Promise<Readable> {
  const decrypter = new Decrypter();
  decrypter.addIdentity(identity);
  try {
    const plain = await decrypter.decrypt(Readable.toWeb(encrypted) as unknown as ReadableStream<Uint8Array>);
    return Readable.fromWeb(plain as unknown as WebReadableStream<Uint8Array>);
  } catch (err) {
    throw new BackupFailure('DecryptionFailed', `the archive cannot be decrypted with the identity of spec.encryption.identitySecretRef: ${(err as Error).message}`);
  }
}
