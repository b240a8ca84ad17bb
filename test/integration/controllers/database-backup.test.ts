// Database backups on a real test host: a PostgreSQL Service (the test image made from this machine's
// PostgreSQL) is dumped with pg_dump inside its own container, the dump encrypted with age on its way
// to the destination, listed back with pg_restore, restored into a scratch container whose rows are
// counted, and restored over changed rows; pg_dumpall with the container's own password; a restore
// test that finds too few rows, and a wrong password, each fail with the reason and leave no file;
// a dump restored into another database (made for it) and into the database of another Service on
// another server (entered with that Service's own password), the original untouched; restores that cannot be done refused
// with the reason.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { readdirSync, readFileSync } from 'node:fs';
import { after, before, describe, it } from 'node:test';
import { generateIdentity, identityToRecipient } from 'age-encryption';
import { startBackupTestbed, type BackupTestbed, type ExtraServer } from '../../support/backup-testbed.js';
import { ensurePostgresImage } from '../../support/database-images.js';
import { until } from '../../support/until.js';

const PASSWORD = `pg-${randomBytes(9).toString('hex')}`;
const OTHER_PASSWORD = `pg2-${randomBytes(9).toString('hex')}`;

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

  describe('restoring into another database or Service', () => {
    let backup: string;
    let db2: string;
    let edge3: ExtraServer;
    const restore = (body: Record<string, unknown>, policy = 'copy-db') => bed.cp.call('POST', `${bed.policyPath(policy)}/restore`, body);
    const sqlIn = (container: string, password: string, database: string, statement: string) =>
      (container === db2 ? edge3.docker : bed.docker)('exec', '-e', `PGPASSWORD=${password}`, container, 'psql', '-U', 'postgres', '-d', database, '-tAc', statement);

    before(async () => {
      await sql('delete from orders; insert into orders values (1, \'tea\'), (2, \'cake\'), (3, \'jam\')');
      await bed.createPolicy('copy-db', { target: { database: { type: 'postgres', name: 'shop', passwordSecretRef: { name: 'db-credentials', key: 'password' } } } });
      const ran = await bed.runPolicy('copy-db');
      assert.equal(ran.status, 201, JSON.stringify(ran.body));
      backup = ran.body.backup.name;
      // The original moves on after the backup: a restore elsewhere must leave it as it is.
      await sql('insert into orders values (4, \'scones\')');
      await bed.createSecret('db2-credentials', { password: OTHER_PASSWORD });
      edge3 = await bed.addServer();
      db2 = await bed.deployService('db2', {
        source: { image: await ensurePostgresImage(edge3.host) },
        env: [
          { name: 'POSTGRES_PASSWORD', valueFrom: { secretKeyRef: { name: 'db2-credentials', key: 'password' } } },
          { name: 'POSTGRES_DB', value: 'other' },
        ],
        volumes: [{ name: 'data', mountPath: '/var/lib/postgresql/data' }],
        update: { order: 'stop-first', healthDeadlineSeconds: 30 },
      }, edge3);
      await until('the second PostgreSQL to accept connections', () => sqlIn(db2, OTHER_PASSWORD, 'other', 'select 1').then((out) => (out === '1' ? true : undefined), () => undefined), 60_000);
    });

    it('restores a dump into another database of the same server, made for it, and leaves the original as it is', async () => {
      const done = await restore({ backup, database: 'shop_copy' });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.deepEqual([done.body.service, done.body.database, done.body.createdDatabase, done.body.path, done.body.container], ['db', 'shop_copy', true, 'database shop_copy', bed.container]);
      assert.equal(await sqlIn(bed.container, PASSWORD, 'shop_copy', 'select count(*) from orders'), '3');
      assert.equal(await sql('select count(*) from orders'), '4', 'the original database is untouched');

      // Into the copy again, now that it exists: objects in the dump are made again.
      await sqlIn(bed.container, PASSWORD, 'shop_copy', 'delete from orders where id = 1');
      const again = await restore({ backup, database: 'shop_copy' });
      assert.equal(again.status, 200, JSON.stringify(again.body));
      assert.equal(again.body.createdDatabase, undefined);
      assert.equal(await sqlIn(bed.container, PASSWORD, 'shop_copy', "select string_agg(item, ',' order by id) from orders"), 'tea,cake,jam');
      assert.equal(await sql('select count(*) from orders'), '4');

      const audit = (await bed.cp.call('GET', `/apis/holdfast.dev/v1alpha1/auditlog?kind=BackupPolicy&name=copy-db&verb=restore`)).body.items as Array<{ outcome: string; message: string }>;
      assert.ok(
        audit.some((a) => a.outcome === 'Success' && a.message === `backup ${backup} restored into database shop_copy (made for it) of service db: container ${bed.container} on server dbbk-edge`),
        JSON.stringify(audit),
      );
      const restoredEvents = (await bed.events()).filter((e) => e.reason === 'Restored' && e.involvedObject.name === 'copy-db').map((e) => e.message);
      assert.ok(restoredEvents.some((m) => /restored into database shop_copy \(made for it\) of service db: container/.test(m)), JSON.stringify(restoredEvents));
    });

    it('restores a dump into the database of another Service on another server with that Service\'s own password', async () => {
      const done = await restore({ backup, service: 'db2' });
      assert.equal(done.status, 200, JSON.stringify(done.body));
      assert.deepEqual([done.body.service, done.body.database, done.body.createdDatabase, done.body.container, done.body.server], ['db2', 'shop', true, db2, 'dbbk-edge3']);
      // Read from where the policy's backups are kept: its own Service's server.
      assert.equal(done.body.location, `${bed.dest}/${backup} on server dbbk-edge`);
      assert.equal(await sqlIn(db2, OTHER_PASSWORD, 'shop', 'select count(*) from orders'), '3');
      assert.equal(await sql('select count(*) from orders'), '4', 'the original database is untouched');

      const named = await restore({ backup, service: 'db2', database: 'orders_2026' });
      assert.equal(named.status, 200, JSON.stringify(named.body));
      assert.deepEqual([named.body.service, named.body.database, named.body.createdDatabase], ['db2', 'orders_2026', true]);
      assert.equal(await sqlIn(db2, OTHER_PASSWORD, 'orders_2026', 'select count(*) from orders'), '3');

      const audit = (await bed.cp.call('GET', `/apis/holdfast.dev/v1alpha1/auditlog?kind=BackupPolicy&name=copy-db`)).body.items;
      const events = await bed.events();
      for (const secret of [PASSWORD, OTHER_PASSWORD]) assert.doesNotMatch(JSON.stringify({ audit, events, status: await bed.status('copy-db') }), new RegExp(secret));
    });

    it('refuses what cannot be done, saying why', async () => {
      await bed.createPolicy('pg-files', { target: { volume: 'data' } });
      await bed.createPolicy('every-db', { target: { database: { type: 'postgres' } } });
      await bed.deployService('app', { source: { image: 'holdfast-test/busybox:1' }, command: ['sh', '-c', 'exec sleep 100000'], update: { order: 'stop-first', healthDeadlineSeconds: 15 } });
      const refusals: Array<[string, Record<string, unknown>, string, number, RegExp, string?]> = [
        ['a volume backup into a database', { backup: 'pg-files-20261126T030000Z.tar', database: 'shop_copy' }, 'pg-files', 422, /backs up volume "data": only a database backup can be restored into another database/, 'database'],
        ['a volume backup into another service', { backup: 'pg-files-20261126T030000Z.tar', service: 'db2' }, 'pg-files', 422, /only a database backup can be restored into another service/, 'service'],
        ['a dump of every database into one', { backup: 'every-db-20261126T030000Z.sql', database: 'shop_copy' }, 'every-db', 422, /is a dump of every database .*: it can only be restored into every database, not into database "shop_copy"/, 'database'],
        ['an unknown service', { backup, service: 'nope' }, 'copy-db', 422, /service "nope" not found in project dbbk/, 'service'],
        ['a service that serves no PostgreSQL', { backup, service: 'app' }, 'copy-db', 422, /service "app" does not serve a PostgreSQL database, which backups of backuppolicy dbbk\/copy-db are: pg_restore and psql are not in this container \(container hf_dbbk_production_app_1 on server dbbk-edge\)/, 'service'],
        ['a database name that is not one', { backup, database: 'shop; drop' }, 'copy-db', 400, /"database" must be a database name of letters, digits, _ and -/],
        ['a service name that is not one', { backup, service: 'DB 2' }, 'copy-db', 400, /"service" must be the name of a Service/],
        ['an unknown field', { backup, target: 'x' }, 'copy-db', 400, /unknown field "target" in the restore request: only backup, destination, service and database are accepted/],
      ];
      for (const [what, body, policy, code, message, field] of refusals) {
        const res = await restore(body, policy);
        assert.equal(res.status, code, `${what}: ${JSON.stringify(res.body)}`);
        assert.match(res.body.message, message, what);
        // 422 names the request's field, as Kubernetes' Invalid does.
        if (field) assert.deepEqual(res.body.details?.causes?.map((c: { field: string }) => c.field), [field], what);
      }

      // A stopped database container: nothing is read or made.
      await edge3.docker('stop', db2);
      const stopped = await restore({ backup, service: 'db2', database: 'never_made' });
      assert.equal(stopped.status, 409, JSON.stringify(stopped.body));
      assert.equal(stopped.body.reason, 'Conflict');
      assert.match(stopped.body.message, /no container of the database of service "db2" is running on server dbbk-edge3 \(hf_dbbk_production_db2_1\)/);
      await edge3.docker('start', db2);
      await until('the second PostgreSQL to accept connections again', () => sqlIn(db2, OTHER_PASSWORD, 'other', 'select 1').then((out) => (out === '1' ? true : undefined), () => undefined), 60_000);
      assert.equal(await sqlIn(db2, OTHER_PASSWORD, 'other', "select count(*) from pg_database where datname = 'never_made'"), '0');

      const audit = (await bed.cp.call('GET', `/apis/holdfast.dev/v1alpha1/auditlog?kind=BackupPolicy&name=copy-db&verb=restore`)).body.items as Array<{ outcome: string; message: string }>;
      assert.ok(audit.some((a) => a.outcome === 'Failure' && /service "nope" not found/.test(a.message)), 'a refused restore is audited with its reason');
    });
  });
});
