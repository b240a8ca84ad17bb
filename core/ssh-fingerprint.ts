// SSH key fingerprints in OpenSSH's form, for host keys and for the keys Holdfast stores. Pure.
import { createHash } from 'node:crypto';

const FINGERPRINT = /^SHA256:([A-Za-z0-9+/]{43})=?$/;

/** `SHA256:` and the unpadded base64 of the SHA-256 of the public key blob, as ssh-keygen -l prints it. */
export function sshFingerprint(publicKeyBlob: Buffer): string {
  return `SHA256:${createHash('sha256').update(publicKeyBlob).digest('base64').replace(/=+$/, '')}`;
}

/** The canonical (unpadded) fingerprint, or undefined when the value is not a SHA256 fingerprint. */
export function normaliseFingerprint(value: string): string | undefined {
  const match = FINGERPRINT.exec(value.trim());
  return match ? `SHA256:${match[1]}` : undefined;
}
