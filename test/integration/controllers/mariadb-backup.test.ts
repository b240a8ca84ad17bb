// MariaDB backups on a real test host: a MariaDB Service (the test image made from Debian's
// mariadb-server) is dumped with mysqldump --single-transaction inside its own container, the
// password reaching it through the exec's environment; the dump is read back to its last line,
// restored into a scratch container whose rows are counted, and restored over changed rows; every
// database with the container's own root password, encrypted with age; the image's own user with
// its own password; a restore test that finds too few rows, and a wrong password, each fail with
// the reason and leave no file; a dump restored into another database name (its CREATE DATABASE and
// USE renamed on the way), the original untouched; a dump of every database, restored into one
// database after the policy came to name one, stopped before anything of it is written.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { startBackupTestbed, type BackupTestbed } from '../../support/backup-testbed.js';
import { ensureMariadbImage } from '../../support/database-images.js';
import { until } from '../../support/until.js';

const ROOT_PASSWORD = `root-${randomBytes(9).toString('hex')}`;
const USER_PASSWORD = `shop-${randomBytes(9).toString('hex')}`;

describe('MariaDB backups on a real Docker host', { timeout: 300_000 }, () => {
  let bed: BackupTestbed;
  const sql = (statement: string) => bed.docker('exec', '-e', `MYSQL_PWD=${ROOT_PASSWORD}`, bed.container, 'mariadb', '--user=root', '--batch', '--skip-column-names', 'shop', `--execute=${statement}`);
  const rows = () => sql('select group_concat(item order by id) from orders');
  const sqlIn = (database: string, statement: string) => bed.docker('exec', '-e', `MYSQL_PWD=${ROOT_PASSWORD}`, bed.container, 'mariadb', '--user=root', '--batch', '--skip-column-names', database, `--execute=${statement}`);

  before(async () => {
    bed = await startBackupTestbed({
      project: 'mdbbk',
      service: 'db',
      secrets: { 'db-root': { password: ROOT_PASSWORD } },
      serviceSpec: async (host) => ({
        source: { image: await ensureMariadbImage(host) },
        env: [
          { name: 'MARIADB_ROOT_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-root', key: 'password' } } },
          { name: 'MARIADB_DATABASE', value: 'shop' },
          { name: 'MARIADB_USER', value: 'shop' },
          { name: 'MARIADB_PASSWORD', value: USER_PASSWORD },
        ],
        volumes: [{ name: 'data', mountPath: '/var/lib/mysql' }],
        update: { order: 'stop-first', healthDeadlineSeconds: 30 },
      }),
    });
    await until('MariaDB to accept connections', () => sql('select 1').then((out) => (out === '1' ? true : undefined), () => undefined), 60_000);
    await sql("create table orders (id int primary key, item text) engine=InnoDB; insert into orders values (1, 'tea'), (2, 'cake'), (3, 'jam')");
  });

  after(async () => {
    await bed?.stop();
  });

  it('dumps one database, reads it back, tests the restore in a scratch container, and restores changed rows', async () => {
    await bed.createPolicy('shop-db', {
      target: { database: { type: 'mysql', name: 'shop', passwordSecretRef: { name: 'db-root', key: 'password' } } },
      verification: { restoreTest: true, restoreChecks: { tables: [{ name: 'orders', minRows: 3 }] } },
    });
    const ran = await bed.runPolicy('shop-db');
    assert.equal(ran.status, 201, JSON.stringify(ran.body));
    const backup = ran.body.backup as { name: string; verified: boolean };
    assert.match(backup.name, /^shop-db-\d{8}T\d{6}Z\.sql$/);
    assert.equal(backup.verified, true, JSON.stringify(ran.body.verification));
    const dump = readFileSync(`${bed.dest}/${backup.name}`, 'utf8');
    assert.match(dump, /CREATE DATABASE \/\*!32312 IF NOT EXISTS\*\/ `shop`/);
    assert.match(dump, /INSERT INTO `orders` VALUES\s*\(1,'tea'\),\s*\(2,'cake'\),\s*\(3,'jam'\)/);
    assert.match(dump, /-- Dump completed on .*\n$/);

    const status = await bed.status('shop-db');
    assert.equal(status.lastVerification.restoreTested, true);
    assert.match(status.lastVerification.message, /the dump ends with mysqldump's "Dump completed" line.*restored into a scratch database container on server mdbbk-edge: "orders" 3 row\(s\)/);
    assert.equal((await bed.condition('shop-db', 'Verified'))?.reason, 'RestoreTestPassed');
    const [record] = status.runs as Array<{ result: string; steps: Array<{ name: string; result: string; message?: string }> }>;
    assert.equal(record.result, 'Succeeded');
    assert.match(record.steps.find((s) => s.name === 'dump')!.message!, /^mysqldump in container hf_mdbbk_production_db_1 on server mdbbk-edge$/);
    assert.equal(await bed.scratchLeft('shop-db'), '', 'the scratch container is removed');
    assert.doesNotMatch(JSON.stringify({ status, events: await bed.events() }), new RegExp(ROOT_PASSWORD));

    // Rows changed after the backup come back as they were.
    await sql("delete from orders where id > 1; insert into orders values (9, 'stale')");
    assert.equal(await sql('select count(*) from orders'), '2');
    const restored = await bed.cp.call('POST', `${bed.policyPath('shop-db')}/restore`, { backup: backup.name });
    assert.equal(restored.status, 200, JSON.stringify(restored.body));
    assert.equal(restored.body.path, 'database shop');
    assert.equal(await sql('select count(*) from orders'), '3');
    assert.equal(await rows(), 'tea,cake,jam');
  });

  it('dumps every database encrypted with the container\'s own root password, and one as the image\'s own user', async () => {
    const identity = await generateIdentity();
    await bed.createSecret('db-age', { recipient: await identityToRecipient(identity), identity });
    await bed.createPolicy('all-dbs', {
      target: { database: { type: 'mysql' } },
      encryption: { recipientSecretRef: { name: 'db-age', key: 'recipient' }, identitySecretRef: { name: 'db-age', key: 'identity' } },
      verification: { restoreTest: true, restoreChecks: { tables: [{ name: 'shop.orders', minRows: 3 }] } },
    });
    const all = await bed.runPolicy('all-dbs');
    assert.equal(all.status, 201, JSON.stringify(all.body));
    assert.match(all.body.backup.name, /^all-dbs-\d{8}T\d{6}Z\.sql\.age$/);
    assert.equal(all.body.backup.verified, true, JSON.stringify(all.body.verification));
    assert.equal(readFileSync(`${bed.dest}/${all.body.backup.name}`).subarray(0, 21).toString(), 'age-encryption.org/v1');
    assert.match((await bed.status('all-dbs')).lastVerification.message, /"Dump completed" line.*"shop\.orders" 3 row\(s\)/);
    assert.equal(await bed.scratchLeft('all-dbs'), '');

    await bed.createPolicy('as-user', { target: { database: { type: 'mysql', name: 'shop', user: 'shop' } } });
    const asUser = await bed.runPolicy('as-user');
    assert.equal(asUser.status, 201, JSON.stringify(asUser.body));
    assert.equal(asUser.body.backup.verified, true);
    assert.match(readFileSync(`${bed.dest}/${asUser.body.backup.name}`, 'utf8'), /INSERT INTO `orders`/);
  });

  it('fails a restore test that finds too few rows, and a dump with a wrong password, leaving no file', async () => {
    await bed.createPolicy('strict', {
      target: { database: { type: 'mysql', name: 'shop' } },
      verification: { restoreTest: true, restoreChecks: { tables: [{ name: 'orders', minRows: 10 }, { name: 'missing_table' }] } },
    });
    const strict = await bed.runPolicy('strict');
    assert.equal(strict.status, 201, JSON.stringify(strict.body));
    assert.equal(strict.body.backup.verified, false);
    const verified = await bed.condition('strict', 'Verified');
    assert.deepEqual([verified?.status, verified?.reason], ['False', 'RestoreTestFailed']);
    assert.match(verified!.message, /"orders" has 3 row\(s\), fewer than 10; "missing_table" cannot be counted \(.*doesn't exist/);
    assert.equal(await bed.scratchLeft('strict'), '', 'the scratch container is removed after a failed test too');

    await bed.createSecret('wrong-credentials', { password: 'not-the-password' });
    await bed.createPolicy('wrong-password', { target: { database: { type: 'mysql', name: 'shop', passwordSecretRef: { name: 'wrong-credentials', key: 'password' } } } });
    const before = readdirSync(bed.dest);
    const failed = await bed.runPolicy('wrong-password');
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    assert.match(failed.body.message, /mysqldump in container hf_mdbbk_production_db_1 on server mdbbk-edge exited with status 2: .*Access denied for user 'root'@'localhost'/);
    assert.doesNotMatch(failed.body.message, /not-the-password/);
    assert.equal((await bed.condition('wrong-password', 'LastBackupSucceeded'))?.reason, 'BackupFailed');
    assert.deepEqual(readdirSync(bed.dest), before, 'no file, partial or whole, is left');
  });

  it('restores a dump into another database name, made by the dump, and leaves the original as it is', async () => {
    await sql("delete from orders; insert into orders values (1, 'tea'), (2, 'cake'), (3, 'jam')");
    await bed.createPolicy('copy-db', { target: { database: { type: 'mysql', name: 'shop', passwordSecretRef: { name: 'db-root', key: 'password' } } } });
    const ran = await bed.runPolicy('copy-db');
    assert.equal(ran.status, 201, JSON.stringify(ran.body));
    await sql("insert into orders values (4, 'scones')");

    const done = await bed.cp.call('POST', `${bed.policyPath('copy-db')}/restore`, { backup: ran.body.backup.name, database: 'shop_copy' });
    assert.equal(done.status, 200, JSON.stringify(done.body));
    assert.deepEqual([done.body.service, done.body.database, done.body.createdDatabase, done.body.path], ['db', 'shop_copy', true, 'database shop_copy']);
    assert.equal(await sqlIn('shop_copy', 'select group_concat(item order by id) from orders'), 'tea,cake,jam');
    assert.equal(await sql('select count(*) from orders'), '4', 'the original database is untouched');

    await sqlIn('shop_copy', 'delete from orders where id = 2');
    const again = await bed.cp.call('POST', `${bed.policyPath('copy-db')}/restore`, { backup: ran.body.backup.name, database: 'shop_copy' });
    assert.equal(again.status, 200, JSON.stringify(again.body));
    assert.equal(again.body.createdDatabase, undefined);
    assert.equal(await sqlIn('shop_copy', 'select count(*) from orders'), '3');
    assert.equal(await sql('select count(*) from orders'), '4');
    const audit = (await bed.cp.call('GET', '/apis/holdfast.dev/v1alpha1/auditlog?kind=BackupPolicy&name=copy-db&verb=restore')).body.items;
    assert.doesNotMatch(JSON.stringify({ audit, events: await bed.events() }), new RegExp(ROOT_PASSWORD));
  });

  it('stops a dump of every database restored into one database before anything of it is written', async () => {
    const credentials = { name: 'db-root', key: 'password' };
    await bed.createPolicy('all-then-one', { target: { database: { type: 'mysql', passwordSecretRef: credentials } } });
    const ran = await bed.runPolicy('all-then-one');
    assert.equal(ran.status, 201, JSON.stringify(ran.body));
    // The policy names one database only later: its older backups still hold every database.
    const put = await bed.cp.call('PUT', bed.policyPath('all-then-one'), { ...bed.policy('all-then-one', { target: { database: { type: 'mysql', name: 'shop', passwordSecretRef: credentials } } }), metadata: { name: 'all-then-one', namespace: bed.project } });
    assert.equal(put.status, 200, JSON.stringify(put.body));

    const res = await bed.cp.call('POST', `${bed.policyPath('all-then-one')}/restore`, { backup: ran.body.backup.name, database: 'never_copy' });
    assert.equal(res.status, 503, JSON.stringify(res.body));
    assert.match(res.body.message, /the dump holds database "\w+" besides "shop": a dump of several databases cannot be restored into database "never_copy"/);
    assert.equal(await sql("show databases like 'never\\_copy'"), '', 'nothing of the dump was written');
    assert.equal(await sql('select count(*) from orders'), '4', 'the original database is untouched');
  });
});
