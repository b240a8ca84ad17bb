// Opens the store's database: embedded PGlite in a data directory by default, PostgreSQL when a
// connection URL is given. Both are driven through drizzle's pg-core dialect, so everything above
// this file is driver-agnostic.
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../core/package-root.js';
import type { PgDatabase, PgQueryResultHKT } from 'drizzle-orm/pg-core';
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
  const { YieldingPGlite } = await import('./yielding-pglite.js');
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  let dataDir: string | undefined;
  if (!opts.inMemory) {
    if (!opts.dataDir) throw new Error('openDatabase: dataDir is required for the embedded database');
    mkdirSync(opts.dataDir, { recursive: true });
    // A new database is created in a child process: initdb's memory would otherwise stay with the server.
    dataDir = (await preparePgliteDataDir(opts.dataDir, { migrationsFolder: MIGRATIONS, settings: PGLITE_SETTINGS })).path;
  }
  // Yields to the event loop before each query: PGlite would otherwise starve the API and SSH I/O.
  const client = new YieldingPGlite({ dataDir, postgresqlconf: PGLITE_SETTINGS });
  await client.waitReady;
  const db = drizzle({ client, schema });
  await migrate(db, { migrationsFolder: MIGRATIONS });
  return { db: db as unknown as Db, driver: 'pglite', close: () => client.close() };
}

async function openPostgres(url: string): Promise<Database> {
  const pg = await import('pg');
  const { drizzle } = await import('drizzle-orm/node-postgres');
  const { migrate } = await import('drizzle-orm/node-postgres/migrator');
  const pool = new pg.default.Pool({ connectionString: url, max: 10, connectionTimeoutMillis: 10_000 });
  // An idle client that loses its server must not crash the process; the next query reports it.
  pool.on('error', () => {});
  const db = drizzle({ client: pool, schema });
  await migrate(db, { migrationsFolder: MIGRATIONS });
  return { db: db as unknown as Db, driver: 'postgres', close: () => pool.end() };
}
