// Database backups on a real test host: a PostgreSQL Service (the test image made from this machine's
// PostgreSQL) is dumped with pg_dump inside its own container, the dump encrypted with age on its way
// to the destination, listed back with pg_restore, restored into a scratch container whose rows are
// counted, and restored over changed rows; pg_dumpall with the container's own password; a restore
// test that finds too few rows, and a wrong password, each fail with the reason and leave no file.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { startBackupTestbed, type BackupTestbed } from '../../support/backup-testbed.js';
import { ensurePostgresImage } from '../../support/database-images.js';
import { until } from '../../support/until.js';

const PASSWORD = `pg-${randomBytes(9).toString('hex')}`;

describe('database backups on a real Docker host', { timeout: 300_000 }, () => {
  let bed: BackupTestbed;
  const sql = (statement: string) => bed.docker('exec', '-e', `PGPASSWORD=${PASSWORD}`, bed.container, 'psql', '-U', 'postgres', '-d', 'shop', '-tAc', statement);

  before(async () => {
    bed = await startBackupTestbed({
      project: 'dbbk',
      service: 'db',
      secrets: { 'db-credentials': { password: PASSWORD } },
      serviceSpec: async (host) => ({
        source: { image: await ensurePostgresImage(host) },
        env: [
          { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'db-credentials', key: 'password' } } },
          { name: 'POSTGRES_DB', value: 'shop' },
        ],
        volumes: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
        update: { order: 'stop-first', healthDeadlineSeconds: 30 },
      }),
    });
    await until('PostgreSQL to accept connections', () => sql('select 1').then((out) => (out === '1' ? true : undefined), () => undefined), 60_000);
    await sql('create table orders (id int primary key, item text); insert into orders values (1, \'tea\'), (2, \'cake\'), (3, \'jam\')');
  });

  after(async () => {
    await bed?.stop();
  });

  it('dumps one database encrypted, lists it back, tests the restore in a scratch container, and restores it', async () => {
    const identity = await generateIdentity();
    await bed.createSecret('db-age', { recipient: await identityToRecipient(identity), identity });
    await bed.createPolicy('shop-db', {
      target: { database: { type: 'postgres', name: 'shop', passwordSecretRef: { name: 'db-credentials', key: 'password' } } },
      encryption: { recipientSecretRef: { name: 'db-age', key: 'recipient' }, identitySecretRef: { name: 'db-age', key: 'identity' } },
      verification: { restoreTest: true, restoreChecks: { tables: [{ name: 'public.orders', minRows: 3 }] } },
    });
    const ran = await bed.runPolicy('shop-db');
    assert.equal(ran.status, 201, JSON.stringify(ran.body));
    const backup = ran.body.backup as { name: string; verified: boolean; encrypted: boolean };
    assert.match(backup.name, /^shop-db-\d{8}T\d{6}Z\.pgdump\.age$/);
    assert.equal(backup.encrypted, true);
    assert.equal(backup.verified, true, JSON.stringify(ran.body.verification));
    assert.equal(readFileSync(`${bed.dest}/${backup.name}`).subarray(0, 21).toString(), 'age-encryption.org/v1');
    const verification = (await bed.status('shop-db')).lastVerification;
    assert.equal(verification.restoreTested, true);
    assert.match(verification.message, /pg_restore lists the dump.*restored into a scratch database container on server dbbk-edge: "public.orders" 3 row\(s\)/);
    assert.deepEqual([(await bed.condition('shop-db', 'Verified'))?.reason], ['RestoreTestPassed']);
    assert.equal(await bed.scratchLeft('shop-db'), '', 'the scratch container is removed');
    assert.doesNotMatch(JSON.stringify(await bed.status('shop-db')), new RegExp(PASSWORD));

    // Rows changed after the backup come back as they were.
    await sql('delete from orders where id > 1; insert into orders values (9, \'stale\')');
    const restored = await bed.cp.call('POST', `${bed.policyPath('shop-db')}/restore`, { backup: backup.name });
    assert.equal(restored.status, 200, JSON.stringify(restored.body));
    assert.equal(await sql('select string_agg(item, \',\' order by id) from orders'), 'tea,cake,jam');

    // A volume archive's name is not a dump: refused before anything is read.
    const wrongKind = await bed.cp.call('POST', `${bed.policyPath('shop-db')}/restore`, { backup: backup.name.replace('.pgdump.age', '.tar') });
    assert.equal(wrongKind.status, 400, JSON.stringify(wrongKind.body));
    assert.match(wrongKind.body.message, /is a volume archive: it cannot be restored into the database/);
  });

  it('dumps every database with the container\'s own password when no Secret is named', async () => {
    await bed.createPolicy('all-dbs', { target: { database: { type: 'postgres' } } });
    const ran = await bed.runPolicy('all-dbs');
    assert.equal(ran.status, 201, JSON.stringify(ran.body));
    assert.match(ran.body.backup.name, /^all-dbs-\d{8}T\d{6}Z\.sql$/);
    assert.equal(ran.body.backup.verified, true);
    const dump = readFileSync(`${bed.dest}/${ran.body.backup.name}`, 'utf8');
    assert.match(dump, /CREATE DATABASE shop/);
    assert.match(dump, /COPY public\.orders/);
  });

  it('fails a restore test that finds too few rows, and a dump with a wrong password, leaving no file', async () => {
    await bed.createPolicy('strict', {
      target: { database: { type: 'postgres', name: 'shop' } },
      verification: { restoreTest: true, restoreChecks: { tables: [{ name: 'orders', minRows: 10 }, { name: 'missing_table' }] } },
    });
    const strict = await bed.runPolicy('strict');
    assert.equal(strict.status, 201, JSON.stringify(strict.body));
    assert.equal(strict.body.backup.verified, false);
    const verified = await bed.condition('strict', 'Verified');
    assert.deepEqual([verified?.status, verified?.reason], ['False', 'RestoreTestFailed']);
    assert.match(verified!.message, /"orders" has 3 row\(s\), fewer than 10; "missing_table" cannot be counted/);
    assert.equal(await bed.scratchLeft('strict'), '', 'the scratch container is removed after a failed test too');

    await bed.createSecret('wrong-credentials', { password: 'not-the-password' });
    await bed.createPolicy('wrong-password', {
      target: { database: { type: 'postgres', name: 'shop', passwordSecretRef: { name: 'wrong-credentials', key: 'password' } } },
    });
    const before = readdirSync(bed.dest);
    const failed = await bed.runPolicy('wrong-password');
    assert.equal(failed.status, 503, JSON.stringify(failed.body));
    assert.match(failed.body.message, /pg_dump in container hf_dbbk_production_db_1 on server dbbk-edge exited with status 1: .*password authentication failed/);
    assert.doesNotMatch(failed.body.message, /not-the-password/);
    assert.equal((await bed.condition('wrong-password', 'LastBackupSucceeded'))?.reason, 'BackupFailed');
    assert.deepEqual(readdirSync(bed.dest), before, 'no file, partial or whole, is left');
  });
});
