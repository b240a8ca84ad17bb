// `holdfast backup`: which policy an argument names, and how backups print.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { backupTable, formatBytes, parsePolicyArg, restoreBody, restoredLine } from '../../../cli/commands/backup.js';
import { HoldfastError } from '../../../core/errors.js';

describe('parsePolicyArg', () => {
  const ok: Array<[string[], string]> = [
    [['backuppolicy/web-data'], 'web-data'],
    [['bp/web-data'], 'web-data'],
    [['backuppolicies', 'web-data'], 'web-data'],
  ];
  for (const [args, name] of ok) it(args.join(' '), () => assert.deepEqual(parsePolicyArg(args, 'shop', 'backup run'), { namespace: 'shop', name }));
  const bad: Array<[string[], string | undefined, RegExp]> = [
    [[], 'shop', /needs a backup policy/],
    [['service/web'], 'shop', /works on backup policies only, not services/],
    [['bp/a', 'bp/b'], 'shop', /acts on one backup policy/],
    [['bp/'], 'shop', /not in the form/],
    [['bp/web-data'], undefined, /pass -n PROJECT/],
  ];
  for (const [args, ns, message] of bad) {
    it(`refuses ${JSON.stringify(args)}${ns ? '' : ' without -n'}`, () =>
      assert.throws(() => parsePolicyArg(args, ns, 'backup run'), (err: unknown) => err instanceof HoldfastError && err.reason === 'BadRequest' && message.test(err.message)));
  }
});

describe('backup printing', () => {
  const cases: Array<[number | undefined, string]> = [[undefined, '<unknown>'], [0, '0 B'], [1023, '1023 B'], [1536, '1.5 KiB'], [5 * 1024 ** 3, '5.0 GiB']];
  for (const [n, text] of cases) it(`formats ${n}`, () => assert.equal(formatBytes(n), text));
  it('prints a table, newest first as given', () => {
    const now = new Date('2026-11-26T13:00:00Z');
    const text = backupTable(
      [
        { name: 'p-20261126T120000Z.tar', time: '2026-11-26T12:00:00Z', sizeBytes: 2048, sha256: 'ab'.repeat(32), verified: true },
        { name: 'p-20261125T120000Z.tar', time: '2026-11-25T12:00:00Z', verified: false },
      ],
      now,
    );
    const lines = text.trim().split('\n').map((l) => l.split(/\s+/));
    assert.deepEqual(lines[0], ['NAME', 'SIZE', 'SHA256', 'VERIFIED', 'AGE']);
    assert.deepEqual(lines[1], ['p-20261126T120000Z.tar', '2.0', 'KiB', 'abababababab', 'yes', '60m']);
    assert.deepEqual(lines[2].slice(0, 4), ['p-20261125T120000Z.tar', '<unknown>', '<unknown>', 'NO']);
  });
});

describe('backup restore', () => {
  const bodies: Array<[Parameters<typeof restoreBody>[0], Record<string, string>]> = [
    [{ backup: 'db-20261126T030000Z.pgdump' }, { backup: 'db-20261126T030000Z.pgdump' }],
    [{ backup: 'b', from: 'offsite' }, { backup: 'b', destination: 'offsite' }],
    [{ backup: 'b', database: 'shop_copy' }, { backup: 'b', database: 'shop_copy' }],
    [{ backup: 'b', service: 'db-staging', database: 'shop', yes: true }, { backup: 'b', service: 'db-staging', database: 'shop' }],
  ];
  for (const [flags, body] of bodies) it(`sends ${JSON.stringify(body)}`, () => assert.deepEqual(restoreBody(flags), body));

  it('says where the backup went, and that the database was made for it', () => {
    const done = { backup: 'db-20261126T030000Z.pgdump', destination: 'default', location: '/backups/db-20261126T030000Z.pgdump on server edge', service: 'db-staging', server: 'edge', container: 'hf_shop_production_db-staging_1', sizeBytes: 2048 };
    assert.equal(
      restoredLine('db', { ...done, path: 'database shop_copy', database: 'shop_copy', createdDatabase: true }),
      'backuppolicy/db: db-20261126T030000Z.pgdump (2.0 KiB) restored into database shop_copy (made for it) of service db-staging: container hf_shop_production_db-staging_1 on server edge\n',
    );
    assert.match(restoredLine('db', { ...done, path: 'database shop', database: 'shop' }), /restored into database shop of service db-staging: container/);
  });
});
