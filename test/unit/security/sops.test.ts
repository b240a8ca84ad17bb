import assert from 'node:assert/strict';
import { test } from 'node:test';
import { generateX25519Identity, identityToRecipient } from 'age-encryption';
import { loadAllBoundedYaml } from '../../../core/bounded-yaml.js';
import { decryptSops, macAdditionalData, sopsMetadata } from '../../../security/sops.js';
import { encryptSops } from '../../support/sops.js';

const secret = {
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Secret',
  metadata: { name: 'db', labels: { tier: 'data' } },
  spec: { stringData: { password: 'correct-horse-battery', user: 'app-owner' } },
};
const service = {
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name: 'web' },
  spec: { replicas: 2, command: ['httpd', '-f'], env: [{ name: 'DEBUG', value: 'off' }], suspend_unencrypted: true, ratio: 1.5, healthy: false, note: '' },
};

const keys = async () => {
  const identity = await generateX25519Identity();
  return { identity, recipient: await identityToRecipient(identity) };
};
const parse = (text: string) => loadAllBoundedYaml(text);

test('SOPS files decrypt to their documents, with every rule for what is encrypted', async () => {
  const { identity, recipient } = await keys();
  const table: Array<[string, Record<string, unknown>[], { encryptedRegex?: string }, (text: string) => void]> = [
    ['every value by default', [secret], {}, (text) => assert.doesNotMatch(text, /app-owner|kind: Secret|name: db/)],
    ['only data and stringData with encrypted_regex', [secret], { encryptedRegex: '^(data|stringData)$' }, (text) => {
      assert.match(text, /kind: Secret/);
      assert.doesNotMatch(text, /correct-horse-battery|app-owner/);
    }],
    ['numbers, booleans, lists, empty strings and _unencrypted keys', [service], {}, (text) => assert.match(text, /suspend_unencrypted: true/)],
    ['several documents in one file', [secret, service], {}, (text) => assert.equal(text.split('\n---\n').length, 2)],
  ];
  for (const [name, documents, opts, checkText] of table) {
    const text = await encryptSops(documents, recipient, opts);
    checkText(text);
    const parsed = parse(text);
    assert.ok(sopsMetadata(parsed), `${name}: recognised as SOPS`);
    const clear = await decryptSops(parsed, [identity]);
    assert.deepEqual(clear.documents, documents, name);
    if (documents.includes(secret)) assert.ok(clear.revealed.includes('correct-horse-battery'), `${name}: the secret value is reported as revealed`);
  }
});

test('a plain manifest, or one with a sops key that is not SOPS metadata, is not a SOPS file', () => {
  assert.equal(sopsMetadata([secret, null, 'text']), undefined);
  assert.equal(sopsMetadata([{ ...secret, sops: { note: 'a field of ours' } }]), undefined);
});

test('what cannot be decrypted is refused with a reason that shows no value', async () => {
  const { identity, recipient } = await keys();
  const other = await keys();
  const text = await encryptSops([secret], recipient);
  const swap = (t: string) => {
    // Two values exchanged: each still decrypts with the data key, but not at the other's path.
    const lines = t.split('\n');
    const p = lines.findIndex((l) => l.trim().startsWith('password:'));
    const u = lines.findIndex((l) => l.trim().startsWith('user:'));
    const [pv, uv] = [lines[p].split(': ')[1], lines[u].split(': ')[1]];
    lines[p] = lines[p].replace(pv, uv);
    lines[u] = lines[u].replace(uv, pv);
    return lines.join('\n');
  };
  const plainEdit = text.replace(/^( *)password: .*$/m, '$1password: edited-by-hand');
  assert.notEqual(plainEdit, text);
  const table: Array<[string, string, string[], RegExp]> = [
    ['another identity', text, [other.identity], /no age identity in the key matches a recipient of the file \(age1/],
    ['no identity at all', text, [], /no age identity in the key matches/],
    ['values moved between keys', swap(text), [identity], /^spec\.stringData\.(password|user): the value does not decrypt/],
    ['a value replaced by clear text', plainEdit, [identity], /spec\.stringData\.password: not a SOPS encrypted value/],
    ['an encrypted value dropped', text.replace(/^ *user: .*\n/m, ''), [identity], /the MAC does not match/],
    ['a PGP-only file', text.replace(/  age:\n(    .*\n)+/, '  age: []\n'), [identity], /no age recipient/],
  ];
  for (const [name, input, identities, expected] of table) {
    await assert.rejects(decryptSops(parse(input), identities), (err: Error) => {
      assert.equal(err.name, 'SopsError', `${name}: ${err.message}`);
      assert.match(err.message, expected, name);
      assert.doesNotMatch(err.message, /correct-horse-battery|app-owner/, `${name}: no value in the message`);
      return true;
    });
  }
});

test('the MAC is bound to lastmodified as RFC 3339 prints it', () => {
  const table: Array<[unknown, string]> = [
    ['2024-11-12T13:33:42Z', '2024-11-12T13:33:42Z'],
    ['2024-11-12T13:33:42.123Z', '2024-11-12T13:33:42Z'],
    ['2024-11-12T14:33:42.5+01:00', '2024-11-12T14:33:42+01:00'],
    [new Date('2024-11-12T13:33:42Z'), '2024-11-12T13:33:42Z'],
  ];
  for (const [input, expected] of table) assert.equal(macAdditionalData(input), expected, String(input));
});
