import assert from 'node:assert/strict';
import { test } from 'node:test';
import { allowedSigners, pgpPublicKeys } from '../../../core/gitops/signers.js';

const ED = 'ssh-ed25519 AAAAC3NzaC1lZDI1NTE5AAAAIOMqqnkVzrm0SdG6UOoqKLsabgH5C9okWi0dh2l9GKJl';
const RSA = 'ssh-rsa AAAAB3NzaC1yc2EAAAADAQABAAABAQC7== ci@example';

test('public keys and allowed-signers lines become git allowed_signers', () => {
  const table: Array<[string, string[], string, number]> = [
    ['a bare key is trusted for any committer', [`${ED} alice@laptop`], `* namespaces="git" ${ED} alice@laptop\n`, 1],
    ['several keys across values, comments and blank lines left out', [`# team\n${ED}\n\n`, RSA], `* namespaces="git" ${ED}\n* namespaces="git" ${RSA}\n`, 2],
    ['allowed-signers lines as they are', [`alice@example.com ${ED}`, `bob@example.com namespaces="git" ${ED}`], `alice@example.com ${ED}\nbob@example.com namespaces="git" ${ED}\n`, 2],
    ['nothing that is a key', ['not a key', 'ssh-ed25519', '-----BEGIN OPENSSH PRIVATE KEY-----'], '', 0],
  ];
  for (const [name, values, text, keys] of table) assert.deepEqual(allowedSigners(values), { text, keys }, name);
});

test('ASCII-armored OpenPGP public keys are found wherever they are, and nothing else', () => {
  const block = (body: string) => `-----BEGIN PGP PUBLIC KEY BLOCK-----\n\n${body}\n=abcd\n-----END PGP PUBLIC KEY BLOCK-----`;
  const table: Array<[string, string[], string[]]> = [
    ['one key in a value', [`${block('mDMEZ1')}\n`], [block('mDMEZ1')]],
    ['two keys in one value, one in another, with text around', [`release:\n${block('A')}\nci:\n${block('B')}`, block('C')], [block('A'), block('B'), block('C')]],
    ['an SSH key and a private key block are not public keys', [ED, '-----BEGIN PGP PRIVATE KEY BLOCK-----\nx\n-----END PGP PRIVATE KEY BLOCK-----'], []],
    ['an unterminated block is not a key', ['-----BEGIN PGP PUBLIC KEY BLOCK-----\nmDMEZ1'], []],
  ];
  for (const [name, values, keys] of table) assert.deepEqual(pgpPublicKeys(values), keys, name);
});
