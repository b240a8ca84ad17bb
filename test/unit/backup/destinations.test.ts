// A policy's destinations: the single spec.destination as one named "default", spec.destinations
// in their order with their own retention (the policy's otherwise), what the schema cannot refuse,
// and the object keys of an S3 destination.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { destinationProblems, policyDestinations, s3Key, s3ListPrefix } from '../../../core/backup/destinations.js';
import type { BackupPolicySpec } from '../../../core/schema/types.generated.js';

const creds = { credentialsSecretRef: { name: 's3' } };
const spec = (s: Partial<BackupPolicySpec>) => ({ retention: { keepLast: 7 }, ...s }) as BackupPolicySpec;

describe('policyDestinations', () => {
  it('reads the single destination as one directory named default, with the policy retention', () => {
    assert.deepEqual(policyDestinations(spec({ destination: { server: 'vault', path: '/b' } })), [
      { name: 'default', kind: 'directory', server: 'vault', path: '/b', retention: { keepLast: 7 }, field: 'spec.destination' },
    ]);
  });
  it('keeps the order of spec.destinations and each one retention', () => {
    const got = policyDestinations(
      spec({
        destinations: [
          { name: 'local', path: '/b' },
          { name: 'offsite', s3: { bucket: 'bk', region: 'us-east-1', forcePathStyle: true, ...creds }, retention: { keepLast: 30 } },
        ],
      }),
    );
    assert.deepEqual(
      got.map((d) => [d.name, d.kind, d.retention, d.field]),
      [
        ['local', 'directory', { keepLast: 7 }, 'spec.destinations[0]'],
        ['offsite', 's3', { keepLast: 30 }, 'spec.destinations[1]'],
      ],
    );
  });
});

describe('destinationProblems', () => {
  const cases: Array<[string, Partial<BackupPolicySpec>, string[]]> = [
    ['a single destination', { destination: { path: '/b' } }, []],
    ['distinct names', { destinations: [{ name: 'a', path: '/a' }, { name: 'b', path: '/b' }] }, []],
    ['a bucket with a server', { destinations: [{ name: 'a', server: 'x', s3: { bucket: 'bk', region: 'r', forcePathStyle: false, ...creds } }] }, ['spec.destinations[0].server']],
  ];
  for (const [what, s, fields] of cases) {
    it(what, () => assert.deepEqual(destinationProblems(spec(s)).map((c) => c.field), fields));
  }
});

describe('s3Key', () => {
  const cases: Array<[string | undefined, string]> = [
    [undefined, 'web-20261126T130512Z.tar'],
    ['backups', 'backups/web-20261126T130512Z.tar'],
    ['backups/shop/', 'backups/shop/web-20261126T130512Z.tar'],
  ];
  for (const [prefix, key] of cases) it(`prefix ${prefix ?? '(none)'}`, () => assert.equal(s3Key(prefix, 'web-20261126T130512Z.tar'), key));
  it('lists under the prefix with its slash', () => {
    assert.equal(s3ListPrefix('backups'), 'backups/');
    assert.equal(s3ListPrefix(undefined), '');
  });
});
