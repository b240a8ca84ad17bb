// Runs a store test on both drivers: embedded PGlite and a real PostgreSQL (started by
// test/support/postgres.ts, or DATABASE_URL when set).
import { randomBytes } from 'node:crypto';
import { openDatabase, type Database } from '../../store/database.js';
import { createDatabase, startPostgres } from './postgres.js';

export interface DriverUnderTest {
  name: 'pglite' | 'postgres';
  /** A fresh, empty, migrated database. */
  open(): Promise<Database>;
}

export const DRIVERS: DriverUnderTest[] = [
  { name: 'pglite', open: () => openDatabase({ inMemory: true }) },
  {
    name: 'postgres',
    open: async () => {
      const server = await startPostgres();
      const url = await createDatabase(server.url, 'hf_' + randomBytes(6).toString('hex'));
      return openDatabase({ databaseUrl: url });
    },
  },
];
