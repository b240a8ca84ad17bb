// The embedded database's directory: a new one is created by a child process (the server keeps
// none of initdb's memory) and renamed into place; an interrupted or failed creation leaves nothing
// that breaks the next start, and says what went wrong.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { openDatabase } from '../../../store/database.js';
import { preparePgliteDataDir, type PrepareOptions } from '../../../store/pglite-data-dir.js';
import { packageRoot } from '../../../core/package-root.js';

const MB = 1024 * 1024;
const OPTS: PrepareOptions = { migrationsFolder: join(packageRoot(), 'store', 'migrations'), settings: ['shared_buffers=16MB'] };
const FAILING = new URL('../../support/failing-pglite-init.ts', import.meta.url);
const dirs: string[] = [];

function newDataDir(): string {
  const dir = mkdtempSync(join(tmpdir(), 'hf-pgdata-'));
  dirs.push(dir);
  return dir;
}

/** A pid that no process has any more. */
function deadPid(): number {
  const child = spawnSync(process.execPath, ['-e', 'process.stdout.write(String(process.pid))'], { encoding: 'utf8' });
  return Number(child.stdout);
}

async function tables(dataDir: string): Promise<string[]> {
  const database = await openDatabase({ dataDir });
  try {
    const rows = await database.db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' order by 1`);
    return (rows as unknown as { rows: Array<{ table_name: string }> }).rows.map((r) => r.table_name);
  } finally {
    await database.close();
  }
}

async function failWith(behaviour: string, dataDir: string, extra: Partial<PrepareOptions> = {}): Promise<Error> {
  process.env.HOLDFAST_TEST_INIT_FAILURE = behaviour;
  try {
    return await preparePgliteDataDir(dataDir, { ...OPTS, initModule: FAILING, ...extra }).then(
      () => assert.fail('the creation should have failed'),
      (err: Error) => err,
    );
  } finally {
    delete process.env.HOLDFAST_TEST_INIT_FAILURE;
  }
}

describe('the embedded database directory', () => {
  after(() => dirs.forEach((dir) => rmSync(dir, { recursive: true, force: true })));

  it('creates a new database in a child process, migrated, renamed into place; openDatabase keeps what was written', async () => {
    const dataDir = newDataDir();
    const rssBefore = process.memoryUsage().rss;
    assert.deepEqual(await preparePgliteDataDir(dataDir, OPTS), { path: join(dataDir, 'pgdata'), created: true });
    // initdb in this process would keep several hundred MB.
    assert.ok(process.memoryUsage().rss - rssBefore < 100 * MB, `RSS grew by ${((process.memoryUsage().rss - rssBefore) / MB).toFixed(0)} MB`);
    const first = await openDatabase({ dataDir });
    await first.db.execute(sql`create table kept (v text)`);
    await first.db.execute(sql`insert into kept values ('still here')`);
    await first.close();
    assert.deepEqual(readdirSync(dataDir), ['pgdata']);
    assert.ok(existsSync(join(dataDir, 'pgdata', 'PG_VERSION')));
    const names = await tables(dataDir);
    for (const table of ['resources', 'deployments', 'kept']) assert.ok(names.includes(table), `${table} in ${names.join(', ')}`);
    assert.deepEqual(await preparePgliteDataDir(dataDir, OPTS), { path: join(dataDir, 'pgdata'), created: false });
    const again = await openDatabase({ dataDir });
    try {
      const rows = await again.db.execute(sql`select v from kept`);
      assert.deepEqual((rows as unknown as { rows: unknown[] }).rows, [{ v: 'still here' }]);
    } finally {
      await again.close();
    }
  });

  it('a creation killed half-way leaves no pgdata, says so, and the next start creates the database', async () => {
    const dataDir = newDataDir();
    const err = await failWith('kill', dataDir);
    assert.match(err.message, /creating the embedded database in .*pgdata\.init-\d+-\w+ failed: its process was killed by SIGKILL; its output:\ninitdb: half-way/);
    assert.deepEqual(readdirSync(dataDir), []);
    assert.deepEqual(await preparePgliteDataDir(dataDir, OPTS), { path: join(dataDir, 'pgdata'), created: true });
    assert.ok((await tables(dataDir)).includes('resources'));
  });

  it('a leftover temporary directory of a process that is gone is removed by the next start', async () => {
    const dataDir = newDataDir();
    const leftover = join(dataDir, `pgdata.init-${deadPid()}-abc123`);
    // What a server killed during the creation leaves (PG_VERSION may already be there).
    mkdirSync(join(leftover, 'base'), { recursive: true });
    writeFileSync(join(leftover, 'PG_VERSION'), '17\n');
    const database = await openDatabase({ dataDir });
    await database.close();
    assert.deepEqual(readdirSync(dataDir), ['pgdata']);
  });

  it('reports the error the creating process sent', async () => {
    const dataDir = newDataDir();
    const err = await failWith('error', dataDir);
    assert.match(err.message, /failed: INITDB failed to initialize: out of disk space \(test\)$/);
    assert.deepEqual(readdirSync(dataDir), []);
  });

  it('reports a creating process that exits without a word, and one that does not finish in time', async () => {
    const dataDir = newDataDir();
    assert.match((await failWith('silent', dataDir)).message, /failed: its process exited with code 3$/);
    assert.match((await failWith('hang', dataDir, { timeoutMs: 2000 })).message, /failed: it did not finish within 2 s and was killed$/);
    assert.deepEqual(readdirSync(dataDir), []);
  });

  it('an empty pgdata is replaced; one with other contents is refused with what to do', async () => {
    const empty = newDataDir();
    mkdirSync(join(empty, 'pgdata'));
    assert.deepEqual(await preparePgliteDataDir(empty, OPTS), { path: join(empty, 'pgdata'), created: true });
    const foreign = newDataDir();
    mkdirSync(join(foreign, 'pgdata'));
    writeFileSync(join(foreign, 'pgdata', 'notes.txt'), 'mine');
    await assert.rejects(openDatabase({ dataDir: foreign }), {
      message: `${join(foreign, 'pgdata')} is not an embedded database (it has no PG_VERSION) but is not empty either: move it away to start with a new database`,
    });
    assert.deepEqual(readdirSync(join(foreign, 'pgdata')), ['notes.txt']);
  });
});
