// Opens the store's database: embedded PGlite in a data directory by default, PostgreSQL when a
// connection URL is given. Both are driven through drizzle's pg-core dialect, so everything above
// this file is driver-agnostic.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/package-root.js';
import type { PGlite } from '@electric-sql/pglite';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
import { lockDataDir, type DataDirLock } from './data-dir-lock.js';
import { preparePgliteDataDir } from './pglite-data-dir.js';
import * as schema from './schema.js';

export type Db = PgDatabase<PgQueryResultHKT, typeof schema>;

export interface Database {
  db: Db;
  driver: 'pglite' | 'postgres';
  close(): Promise<void>;
}

const MIGRATIONS = join(packageRoot(), 'store', 'migrations');

// PGlite's defaults cost ~120 MB more RSS than these settings with no measurable effect at our sizes.
const PGLITE_SETTINGS = ['shared_buffers=16MB', 'work_mem=1MB', 'maintenance_work_mem=8MB', 'wal_buffers=1MB'];

export interface OpenOptions {
  /** PostgreSQL connection URL; when absent, PGlite stores its files under `dataDir`. */
  databaseUrl?: string;
  dataDir?: string;
  /** PGlite only: keep everything in memory (tests). */
  inMemory?: boolean;
}

export async function openDatabase(opts: OpenOptions): Promise<Database> {
  if (opts.databaseUrl) return openPostgres(opts.databaseUrl);
  return openPglite(opts);
}

async function openPglite(opts: OpenOptions): Promise<Database> {
  const { PgliteThread } = await import('./pglite-thread.js');
  const { compileWasmBaselineOnly } = await import('./pglite-wasm.js');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const onDisk = opts.inMemory ? undefined : opts.dataDir;
  if (!opts.inMemory && !onDisk) throw new Error('openDatabase: dataDir is required for the embedded database');
  let lock: DataDirLock | undefined;
  if (onDisk) {
    mkdirSync(onDisk, { recursive: true, mode: 0o700 });
    // Two processes on one embedded database would each overwrite what the other acknowledged.
    lock = lockDataDir(onDisk);
  }
  try {
    // A new database is created in a child process: initdb's memory would otherwise stay with the server.
    const dataDir = onDisk && (await preparePgliteDataDir(onDisk, { migrationsFolder: MIGRATIONS, settings: PGLITE_SETTINGS })).path;
    // PGlite runs in a thread of its own: its queries would otherwise stall the API and SSH I/O.
    compileWasmBaselineOnly();
    const client = new PgliteThread({ dataDir: dataDir || undefined, settings: PGLITE_SETTINGS });
    try {
      await client.waitReady;
      // The thread offers what drizzle's PGlite driver calls: query() and transaction().
      const db = drizzle({ client: client as unknown as PGlite, schema });
      await migrate(db, { migrationsFolder: MIGRATIONS });
      return {
        db: db as unknown as Db,
        driver: 'pglite',
        async close() {
          try {
            await client.close();
          } finally {
            lock?.release();
          }
        },
      };
    } catch (err) {
      await client.close().catch(() => undefined);
      throw err;
    }
  } catch (err) {
    lock?.release();
    throw err;
  }
}

/** Every transaction here is a few statements sent back to back; one idle this long is stalled. */
const STALLED_TRANSACTION_MS = 10_000;

async function openPostgres(url: string): Promise<Database> {
  const pg = await import('pg');
  const { drizzle } = await import('drizzle-orm/node-postgres');
  const { migrate } = await import('drizzle-orm/node-postgres/migrator');
  // A transaction left open by a stalled replica (a GC pause, SIGSTOP) would hold the lock that orders
  // every replica's writes; the server ends it instead, so the others go on and take over its leases.
  const pool = new pg.default.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000, options: `-c idle_in_transaction_session_timeout=${STALLED_TRANSACTION_MS}` });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  // Nor one checked out between two statements of a transaction: the server ending that transaction
  // (the timeout above, after this replica was paused) emits 'error' on a client the pool no longer
  // listens to. The transaction's next statement fails instead, and the pool drops the client.
  pool.on('connect', (client) => client.on('error', () => {}));
  const db = drizzle({ client: pool, schema });
  await migrate(db, { migrationsFolder: MIGRATIONS });
  return { db: db as unknown as Db, driver: 'postgres', close: () => pool.end() };
}
