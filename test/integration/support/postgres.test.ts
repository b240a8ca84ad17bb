import { after, before, describe, test } from 'node:test';
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { createDatabase, startPostgres, type PostgresServer } from '../../support/postgres.js';

async function withClient<T>(url: string, use: (client: pg.Client) => Promise<T>): Promise<T> {
  const client = new pg.Client({ connectionString: url, connectionTimeoutMillis: 10_000 });
  await client.connect();
  try {
    return await use(client);
  } finally {
    await client.end();
  }
}

describe('startPostgres', () => {
  let server: PostgresServer;

  before(async () => {
    server = await startPostgres();
  });

  after(async () => {
    await server.stop();
  });

  test('serves a database that accepts DDL and queries', async () => {
    const rows = await withClient(server.url, async (client) => {
      await client.query('CREATE TABLE greeting (id serial PRIMARY KEY, text text NOT NULL)');
      await client.query('INSERT INTO greeting (text) VALUES ($1), ($2)', ['hello', 'world']);
      const result = await client.query<{ text: string }>('SELECT text FROM greeting ORDER BY id');
      return result.rows.map((row) => row.text);
    });
    assert.deepEqual(rows, ['hello', 'world']);
  });

  test('createDatabase gives an empty database, recreated on a second call', async () => {
    const url = await createDatabase(server.url, 'support_fresh');
    assert.equal(new URL(url).pathname, '/support_fresh');
    await withClient(url, (client) => client.query('CREATE TABLE leftover (id int)'));

    const again = await createDatabase(server.url, 'support_fresh');
    const tables = await withClient(again, async (client) => {
      const result = await client.query<{ count: string }>(
        "SELECT count(*) FROM information_schema.tables WHERE table_schema = 'public'",
      );
      return Number(result.rows[0]?.count);
    });
    assert.equal(tables, 0);
  });

  test('createDatabase rejects names that are not plain identifiers', async () => {
    await assert.rejects(createDatabase(server.url, 'bad"name'), /not a plain lower-case SQL identifier/);
  });

  test('a second caller in the same process shares the server', async () => {
    const second = await startPostgres();
    try {
      assert.equal(new URL(second.url).port, new URL(server.url).port);
    } finally {
      await second.stop();
    }
    // The first handle still works after the second is released.
    const one = await withClient(server.url, async (client) => (await client.query('SELECT 1 AS one')).rows[0]);
    assert.deepEqual(one, { one: 1 });
  });
});

describe('stop', { skip: process.env.DATABASE_URL ? 'DATABASE_URL is set: no server is started' : false }, () => {
  test('stops the server and removes its directory', async () => {
    const server = await startPostgres();
    const port = Number(new URL(server.url).port);
    const dirsBefore = serverDirs();
    assert.ok(dirsBefore.length > 0, 'a temporary server directory exists while running');
    await server.stop();

    await assert.rejects(
      withClient(`postgres://holdfast@127.0.0.1:${port}/postgres`, (client) => client.query('SELECT 1')),
      /ECONNREFUSED|terminat|shut/i,
    );
    for (const dir of dirsBefore) assert.equal(existsSync(dir), false, `${dir} is removed`);
  });
});

function serverDirs(): string[] {
  const ownerPid = `${process.pid}\n`;
  return readdirSync(tmpdir())
    .filter((name) => name.startsWith('holdfast-pg-'))
    .map((name) => join(tmpdir(), name))
    .filter((dir) => {
      try {
        return readFileSync(join(dir, 'owner.pid'), 'utf8') === ownerPid;
      } catch {
        return false;
      }
    });
}
