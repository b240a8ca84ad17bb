// The short-lived process that creates a new embedded database (see pglite-data-dir.ts): PGlite's
// initdb and the migrations grow the WebAssembly memory to several hundred MB, which a process never
// gives back, so the server leaves that to this one and opens the finished directory itself.
//
// Started with fork(): argv is [dataDir, migrationsFolder, settingsJson]; it answers on the IPC
// channel with { ok: true } or { error }, and exits.
import { open, readdir } from 'node:fs/promises';
import { join } from 'node:path';
import { compileWasmBaselineOnly } from './pglite-wasm.js';

export interface InitReply {
  ok?: true;
  error?: string;
}

async function initialise(dataDir: string, migrationsFolder: string, settings: string[]): Promise<void> {
  const { PGlite } = await import('@electric-sql/pglite');
  compileWasmBaselineOnly();
  const { drizzle } = await import('drizzle-orm/pglite');
  const { migrate } = await import('drizzle-orm/pglite/migrator');
  const client = new PGlite({ dataDir, postgresqlconf: settings });
  try {
    await client.waitReady;
    await migrate(drizzle({ client }), { migrationsFolder });
  } finally {
    await client.close();
  }
  // PGlite writes through the file system without fsync; the directory is renamed into place
  // next, so its files must be on disk before it counts as a database.
  await syncTree(dataDir);
}

/** fsync of every file and directory below `dir`, a few at a time (one by one takes seconds). */
async function syncTree(dir: string): Promise<void> {
  const paths: string[] = [];
  const walk = async (d: string) => {
    for (const entry of await readdir(d, { withFileTypes: true })) {
      const path = join(d, entry.name);
      if (entry.isDirectory()) await walk(path);
      else if (entry.isFile()) paths.push(path);
    }
    paths.push(d);
  };
  await walk(dir);
  let next = 0;
  const worker = async () => {
    while (next < paths.length) {
      const handle = await open(paths[next++]!, 'r');
      try {
        await handle.sync();
      } finally {
        await handle.close();
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
}

function reply(message: InitReply): Promise<void> {
  return new Promise((resolve) => {
    if (!process.send) return resolve();
    process.send(message, undefined, {}, () => resolve());
  });
}

// The server that started this process is gone: nobody would use the directory.
process.once('disconnect', () => process.exit(1));

const [dataDir, migrationsFolder, settingsJson] = process.argv.slice(2);
try {
  if (!dataDir || !migrationsFolder || !settingsJson) throw new Error('usage: pglite-init-process DATA_DIR MIGRATIONS_FOLDER SETTINGS_JSON');
  await initialise(dataDir, migrationsFolder, JSON.parse(settingsJson) as string[]);
  await reply({ ok: true });
  process.exit(0);
} catch (err) {
  await reply({ error: err instanceof Error ? err.message : String(err) });
  process.exit(1);
}
