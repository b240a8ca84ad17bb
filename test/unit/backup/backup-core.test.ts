// The pure parts of backups: when a schedule runs next, how backup files are named, which backups
// retention keeps, and the commands run on the destination.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { classifyWriteFailure, commitBackupArgv, parseSha256, removeStalePartialsArgv, verifyBackupArgv, writeBackupArgv } from '../../../core/backup/commands.js';
import { backupFile, backupFormat, backupName, backupTime, isEncryptedBackup } from '../../../core/backup/naming.js';
import { selectRetained } from '../../../core/backup/retention.js';
import { isDue, nextScheduleTime } from '../../../core/backup/schedule.js';
import { HoldfastError } from '../../../core/errors.js';

describe('nextScheduleTime (UTC)', () => {
  const cases: Array<[string, string, string]> = [
    ['@daily', '2026-11-26T13:05:00Z', '2026-11-27T00:00:00.000Z'],
    ['@hourly', '2026-11-26T13:05:00Z', '2026-11-26T14:00:00.000Z'],
    ['@weekly', '2026-11-26T13:05:00Z', '2026-11-29T00:00:00.000Z'],
    ['@monthly', '2026-11-26T13:05:00Z', '2026-12-01T00:00:00.000Z'],
    ['30 2 * * *', '2026-11-26T02:30:00Z', '2026-11-27T02:30:00.000Z'],
    ['30 2 * * *', '2026-11-26T02:29:59Z', '2026-11-26T02:30:00.000Z'],
    ['*/15 * * * *', '2026-11-26T13:05:00Z', '2026-11-26T13:15:00.000Z'],
    ['0 3 * * 1-5', '2026-11-27T04:00:00Z', '2026-11-30T03:00:00.000Z'],
    ['0 0 1 1 *', '2026-11-26T00:00:00Z', '2027-01-01T00:00:00.000Z'],
  ];
  for (const [schedule, after, expected] of cases) {
    it(`${schedule} after ${after}`, () => assert.equal(nextScheduleTime(schedule, new Date(after)).toISOString(), expected));
  }
  it('refuses a malformed expression with an Invalid error naming spec.schedule', () => {
    assert.throws(
      () => nextScheduleTime('61 * * * *', new Date()),
      (err: unknown) => err instanceof HoldfastError && err.reason === 'Invalid' && /spec\.schedule "61 \* \* \* \*"/.test(err.message),
    );
  });
  it('is due once the recorded time has come, never without one', () => {
    const now = new Date('2026-11-26T13:00:00Z');
    assert.equal(isDue(undefined, now), false);
    assert.equal(isDue('2026-11-26T13:00:00Z', now), true);
    assert.equal(isDue('2026-11-26T12:00:00Z', now), true);
    assert.equal(isDue('2026-11-26T13:00:01Z', now), false);
    assert.equal(isDue('not a time', now), false);
  });
});

describe('backup names', () => {
  it('names a backup after the policy and the UTC second', () => {
    assert.equal(backupName('web-data', new Date('2026-11-26T13:05:12.345Z')), 'web-data-20261126T130512Z.tar');
    assert.equal(backupName('web-data', new Date('2026-11-26T13:05:12.345Z'), true), 'web-data-20261126T130512Z.tar.age');
    assert.equal(isEncryptedBackup('web-data-20261126T130512Z.tar.age'), true);
    assert.equal(isEncryptedBackup('web-data-20261126T130512Z.tar'), false);
    assert.equal(backupName('app-db', new Date('2026-11-26T13:05:12Z'), true, 'pgdump'), 'app-db-20261126T130512Z.pgdump.age');
  });
  const formats: Array<[string, string | undefined]> = [
    ['a-20261126T130512Z.tar', 'tar'],
    ['a-20261126T130512Z.tar.age', 'tar'],
    ['a-20261126T130512Z.pgdump', 'pgdump'],
    ['a-20261126T130512Z.sql.age', 'sql'],
    ['a-20261126T130512Z.age', undefined],
    ['a-20261126T130512Z.zip', undefined],
  ];
  for (const [name, expected] of formats) it(`reads the format of ${name}`, () => assert.equal(backupFormat(name), expected));
  const cases: Array<[string, string, string | undefined]> = [
    ['web-data', 'web-data-20261126T130512Z.tar', '2026-11-26T13:05:12.000Z'],
    ['web', 'web-data-20261126T130512Z.tar', undefined],
    ['web-data', 'web-data-20261126T130512Z.tar.partial', undefined],
    ['web-data', 'web-data-20261126T130512Z.tar.age', '2026-11-26T13:05:12.000Z'],
    ['web-data', 'web-data-20261126T130512Z.tar.age.partial', undefined],
    ['web-data', 'web-data-20261126T130512Z.age', undefined],
    ['web-data', 'web-data-20261340T130512Z.tar', undefined],
    ['web-data', 'other-20261126T130512Z.tar', undefined],
    ['web-data', 'web-data-../../etc/passwd.tar', undefined],
    ['app-db', 'app-db-20261126T130512Z.pgdump', '2026-11-26T13:05:12.000Z'],
    ['app-db', 'app-db-20261126T130512Z.pgdump.age', '2026-11-26T13:05:12.000Z'],
    ['app-db', 'app-db-20261126T130512Z.sql', '2026-11-26T13:05:12.000Z'],
    ['app-db', 'app-db-20261126T130512Z.pgdump.partial', undefined],
    ['app-db', 'app-db-20261126T130512Z.dump', undefined],
  ];
  for (const [policy, name, expected] of cases) {
    it(`${name} of ${policy}`, () => assert.equal(backupTime(policy, name)?.toISOString(), expected));
  }
  it('joins directory and name', () => {
    assert.equal(backupFile('/srv/backups/', 'a.tar'), '/srv/backups/a.tar');
    assert.equal(backupFile('/', 'a.tar'), '/a.tar');
  });
});

describe('selectRetained', () => {
  const b = (iso: string) => ({ name: iso, time: new Date(iso) });
  const names = (xs: Array<{ name: string }>) => xs.map((x) => x.name);
  const hourly = ['2026-11-26T10:00:00Z', '2026-11-26T11:00:00Z', '2026-11-26T12:00:00Z', '2026-11-25T23:00:00Z', '2026-11-24T23:00:00Z', '2026-11-17T23:00:00Z', '2026-10-31T23:00:00Z'].map(b);
  const cases: Array<[string, Parameters<typeof selectRetained>[1], string[]]> = [
    ['keepLast 2', { keepLast: 2 }, ['2026-11-26T12:00:00Z', '2026-11-26T11:00:00Z']],
    ['keepLast 0 still keeps the newest', { keepLast: 0 }, ['2026-11-26T12:00:00Z']],
    ['keepDaily 3: the newest of each of the last three days', { keepLast: 0, keepDaily: 3 }, ['2026-11-26T12:00:00Z', '2026-11-25T23:00:00Z', '2026-11-24T23:00:00Z']],
    ['keepWeekly 2', { keepLast: 0, keepWeekly: 2 }, ['2026-11-26T12:00:00Z', '2026-11-17T23:00:00Z']],
    ['keepMonthly 2', { keepLast: 0, keepMonthly: 2 }, ['2026-11-26T12:00:00Z', '2026-10-31T23:00:00Z']],
    ['rules add up', { keepLast: 1, keepMonthly: 2 }, ['2026-11-26T12:00:00Z', '2026-10-31T23:00:00Z']],
    ['more than there are', { keepLast: 100 }, names([...hourly].sort((x, y) => y.time.getTime() - x.time.getTime()))],
  ];
  for (const [what, rules, keep] of cases) {
    it(what, () => {
      const verdict = selectRetained(hourly, rules);
      assert.deepEqual(names(verdict.keep), keep);
      assert.equal(verdict.keep.length + verdict.remove.length, hourly.length);
      for (const r of verdict.remove) assert.ok(!keep.includes(r.name));
    });
  }
  it('keeps nothing of nothing', () => assert.deepEqual(selectRetained([], { keepLast: 3 }), { keep: [], remove: [] }));
});

describe('destination commands', () => {
  it('passes paths as arguments, never inside the script', () => {
    const argv = writeBackupArgv("/srv/it's here", "/srv/it's here/p-20261126T130512Z.tar");
    assert.equal(argv[0], 'sh');
    assert.ok(!argv[2].includes("it's"));
    assert.deepEqual(argv.slice(4), ["/srv/it's here", "/srv/it's here/p-20261126T130512Z.tar"]);
    assert.ok(!verifyBackupArgv('/x; rm -rf /')[2].includes('rm -rf'));
  });
  it('names a file only when the control plane commits it, and cleans only the policy\'s partial files', () => {
    assert.doesNotMatch(writeBackupArgv('/srv', '/srv/p-20261126T130512Z.tar')[2], /mv/, 'a stream cut short keeps its .partial name');
    assert.deepEqual(commitBackupArgv('/srv/p-20261126T130512Z.tar'), ['mv', '-f', '--', '/srv/p-20261126T130512Z.tar.partial', '/srv/p-20261126T130512Z.tar']);
    const clean = removeStalePartialsArgv('/srv/it\'s/', 'p');
    assert.ok(!clean[2].includes("it's"));
    assert.deepEqual(clean.slice(4), ["/srv/it's", 'p']);
    assert.match(clean[2], /"\$1\/\$2"-\*\.partial/);
  });
  it('reads sha256sum output', () => {
    assert.equal(parseSha256(`${'a'.repeat(64)}  /srv/x.tar\n`), 'a'.repeat(64));
    assert.equal(parseSha256('sha256sum: /srv/x.tar: No such file or directory'), undefined);
  });
  const failures: Array<[string, string]> = [
    ['sh: can\'t create /srv/x.tar.partial: Permission denied', 'DestinationUnwritable'],
    ['cat: write error: No space left on device', 'DiskFull'],
    ['mkdir: cannot create directory \u2018/proc/x\u2019: Read-only file system', 'DestinationUnwritable'],
    ['something else', 'BackupFailed'],
  ];
  for (const [stderr, reason] of failures) it(`classifies "${stderr}"`, () => assert.equal(classifyWriteFailure(stderr), reason));
});
