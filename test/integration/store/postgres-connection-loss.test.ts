// A transaction that PostgreSQL ends from its side between two of its statements — its
// idle_in_transaction_session_timeout after this replica was paused (SIGSTOP, a long GC pause), or an
// administrator's pg_terminate_backend: the process goes on, the transaction's next statement fails
// with an error the caller can handle, and the store keeps working on a fresh connection.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import pg from 'pg';
import { openDatabase, type Database } from '../../../store/database.js';
import { ResourceStore } from '../../../store/resource-store.js';
import { createDatabase, startPostgres, type PostgresServer } from '../../support/postgres.js';
import { until } from '../../support/until.js';

describe('a PostgreSQL transaction ended by the server', () => {
  let server: PostgresServer;
  let url: string;
  let database: Database;
  let admin: pg.Client;

  before(async () => {
    server = await startPostgres();
    url = await createDatabase(server.url, 'hf_conn_loss_' + randomBytes(5).toString('hex'));
    database = await openDatabase({ databaseUrl: url });
    admin = new pg.Client({ connectionString: url });
    await admin.connect();
  });
  after(async () => {
    await admin?.end();
    await database?.close();
    await server?.stop();
  });

  const backendAlive = async (pid: number) => (await admin.query('select 1 from pg_stat_activity where pid = $1', [pid])).rowCount === 1;

  it('does not crash the process; the next statement fails and the store goes on', async () => {
    let pid = 0;
    const transaction = database.db.transaction(async (tx) => {
      const rows = (await tx.execute(sql`select pg_backend_pid() as pid`)) as unknown as { rows: Array<{ pid: number }> };
      pid = rows.rows[0]!.pid;
      // Idle in the transaction while the server ends it, as a paused replica would be.
      await admin.query('select pg_terminate_backend($1)', [pid]);
      await until('the backend gone', async () => ((await backendAlive(pid)) ? undefined : true), 10_000, 50);
      // Give the client the moment to read the server's FATAL message (the 'error' event that crashed the process).
      await new Promise((ok) => setTimeout(ok, 200));
      await tx.execute(sql`select 1`);
    });
    await assert.rejects(transaction, (err: Error) => err instanceof Error, 'the statement after the server ended the transaction fails');
    assert.ok(pid > 0);
    const store = new ResourceStore(database.db, { shared: true });
    const created = await store.create({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: 'after-loss' }, spec: { environments: [{ name: 'production' }] } }, { actor: 'system:test' });
    assert.equal(created.metadata.name, 'after-loss');
    assert.equal((await store.mustGet('Project', undefined, 'after-loss')).metadata.uid, created.metadata.uid);
  });
});
