// Host key fingerprints in OpenSSH's SHA256 form, checked against what ssh-keygen -lf -E sha256 printed
// for the same public keys.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { normaliseFingerprint, sshFingerprint } from '../../../core/ssh-fingerprint.js';

const KEYS: Array<[string, string, string]> = [
  [
    'ed25519',
    'AAAAC3NzaC1lZDI1NTE5AAAAIBdIhQ5UklKqXJYU3e94exKOhCO2e2wXfPjOuQgjtQWu',
    'SHA256:1guERBHODqzBi9zCioVsNCflmLwiZyJbGWFwN5PJQTY',
  ],
  [
    'rsa',
    'AAAAB3NzaC1yc2EAAAADAQABAAAAgQDKvv/6sA7hjvpmsvahHcxr6+KdqN9d2AasGuFXdWB8VnGnfGz3RiPmQM1pleqmHv96MXCoe1IqXkwHnmGQM2ESj1J8OEPLvJ6bDLp8Y9ILv1NXN5Z5aJZPsUNFMwIvwSJyR5iMySKuSrLVK/Oa6EXixB3lcpKfOLb/u808gYIWMw==',
    'SHA256:1a7U3JnpVQRBDLzK+ac+t66BH2SOIGUdlumK/MKTb5E',
  ],
];

describe('sshFingerprint', () => {
  for (const [type, blob, expected] of KEYS) {
    it(`matches ssh-keygen for an ${type} key`, () => {
      assert.equal(sshFingerprint(Buffer.from(blob, 'base64')), expected);
    });
  }
});

describe('normaliseFingerprint', () => {
  const cases: Array<[string, string | undefined]> = [
    ['SHA256:1guERBHODqzBi9zCioVsNCflmLwiZyJbGWFwN5PJQTY', 'SHA256:1guERBHODqzBi9zCioVsNCflmLwiZyJbGWFwN5PJQTY'],
    ['SHA256:1guERBHODqzBi9zCioVsNCflmLwiZyJbGWFwN5PJQTY=', 'SHA256:1guERBHODqzBi9zCioVsNCflmLwiZyJbGWFwN5PJQTY'],
    ['  SHA256:1a7U3JnpVQRBDLzK+ac+t66BH2SOIGUdlumK/MKTb5E\n', 'SHA256:1a7U3JnpVQRBDLzK+ac+t66BH2SOIGUdlumK/MKTb5E'],
    ['1guERBHODqzBi9zCioVsNCflmLwiZyJbGWFwN5PJQTY', undefined],
    ['MD5:16:27:ac:a5:76:28:2d:36:63:1b:56:4d:eb:df:a6:48', undefined],
    ['SHA256:tooShort', undefined],
    ['SHA256:1guERBHODqzBi9zCioVsNCflmLwiZyJbGWFwN5PJQT!', undefined],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${expected ?? 'rejected'}`, () => {
      assert.equal(normaliseFingerprint(input), expected);
    });
  }
});
