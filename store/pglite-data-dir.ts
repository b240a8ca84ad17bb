// The embedded database's directory (`<data dir>/pgdata`) and its creation. PGlite keeps a real
// PostgreSQL data directory on the file system (NODEFS), and an instance that runs initdb keeps the
// WebAssembly memory initdb grew (~700 MB RSS) for as long as its process lives. So a new database
// is created by a short-lived child process (pglite-init-process.ts) in a temporary directory beside
// `pgdata` and renamed into place once complete: a failed or killed creation leaves only a
// `pgdata.init-*` directory, which the next start removes, never a half-made `pgdata`.
import { fork } from 'node:child_process';
import { closeSync, existsSync, fsyncSync, openSync, readdirSync, renameSync, rmSync, rmdirSync } from 'node:fs';
import { join } from 'node:path';
import type { InitReply } from './pglite-init-process.js';

const PGDATA = 'pgdata';
const TEMP_PREFIX = `${PGDATA}.init-`;

export interface PrepareOptions {
  migrationsFolder: string;
  /** postgresql.conf lines for the creating instance. */
  settings: string[];
  /** How long the creation may take before its process is killed (default 5 minutes). */
  timeoutMs?: number;
  /** The module the child runs (tests: one that fails on purpose). */
  initModule?: URL;
}

/** What preparePgliteDataDir found or did. */
export type Prepared = { path: string; created: boolean };

/** Temporary directories this process is creating right now (never someone else's leftover). */
const inProgress = new Set<string>();

/** Makes sure `<dataDir>/pgdata` holds a database, creating it in a child process if it does not. */
export async function preparePgliteDataDir(dataDir: string, opts: PrepareOptions): Promise<Prepared> {
  const path = join(dataDir, PGDATA);
  if (isDatabase(path)) return { path, created: false };
  removeLeftovers(dataDir);
  if (existsSync(path)) {
    // An empty directory is what an older version created before PGlite ran; anything else is not
    // ours to delete.
    if (readdirSync(path).length > 0) {
      throw new Error(`${path} is not an embedded database (it has no PG_VERSION) but is not empty either: move it away to start with a new database`);
    }
    rmdirSync(path);
  }
  const temp = join(dataDir, `${TEMP_PREFIX}${process.pid}-${Math.random().toString(36).slice(2, 8)}`);
  inProgress.add(temp);
  try {
    await runInitProcess(temp, opts);
    try {
      renameSync(temp, path);
      syncDir(dataDir);
    } catch (err) {
      // Another server on the same directory finished first: use its database.
      if (!isDatabase(path)) throw new Error(`could not move the new database into ${path}: ${(err as Error).message}`);
    }
  } finally {
    rmSync(temp, { recursive: true, force: true });
    inProgress.delete(temp);
  }
  return { path, created: true };
}

/** The rename is durable once the directory holding both names is synced. */
function syncDir(dir: string): void {
  const fd = openSync(dir, 'r');
  try {
    fsyncSync(fd);
  } finally {
    closeSync(fd);
  }
}

function isDatabase(path: string): boolean {
  return existsSync(join(path, 'PG_VERSION'));
}

/**
 * Removes what an interrupted creation left: every `pgdata.init-<pid>-*` whose process is gone (or
 * is this one, started anew under the same pid, as in a container) and that this process is not
 * creating right now.
 */
function removeLeftovers(dataDir: string): void {
  for (const name of readdirSync(dataDir)) {
    if (!name.startsWith(TEMP_PREFIX)) continue;
    const full = join(dataDir, name);
    if (inProgress.has(full)) continue;
    const pid = Number(/^(\d+)-/.exec(name.slice(TEMP_PREFIX.length))?.[1]);
    if (Number.isInteger(pid) && pid !== process.pid && processAlive(pid)) continue;
    rmSync(full, { recursive: true, force: true });
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}

/** The child's entry: the compiled .js beside this file in dist/, the .ts through tsx from source. */
function initModule(): { module: URL; execArgv: string[] } {
  const fromSource = import.meta.url.endsWith('.ts');
  const module = new URL(fromSource ? './pglite-init-process.ts' : './pglite-init-process.js', import.meta.url);
  return { module, execArgv: fromSource ? ['--import', import.meta.resolve('tsx')] : [] };
}

function runInitProcess(temp: string, opts: PrepareOptions): Promise<void> {
  const entry = initModule();
  const module = opts.initModule ?? entry.module;
  const timeoutMs = opts.timeoutMs ?? 300_000;
  const child = fork(module, [temp, opts.migrationsFolder, JSON.stringify(opts.settings)], {
    execArgv: entry.execArgv,
    stdio: ['ignore', 'pipe', 'pipe', 'ipc'],
    serialization: 'json',
  });
  let output = '';
  const keep = (d: Buffer) => {
    output = (output + d.toString()).slice(-4000);
  };
  child.stdout!.on('data', keep);
  child.stderr!.on('data', keep);
  return new Promise<void>((resolve, reject) => {
    let reply: InitReply | undefined;
    let timedOut = false;
    const timer = setTimeout(() => {
      timedOut = true;
      child.kill('SIGKILL');
    }, timeoutMs);
    const fail = (why: string) => {
      const tail = output.trim().split('\n').slice(-10).join('\n');
      reject(new Error(`creating the embedded database in ${temp} failed: ${why}${tail ? `; its output:\n${tail}` : ''}`));
    };
    child.on('message', (m: InitReply) => (reply = m));
    child.once('error', (err) => {
      clearTimeout(timer);
      fail(`could not start ${module.pathname}: ${err.message}`);
    });
    child.once('close', (code, signal) => {
      clearTimeout(timer);
      if (reply?.ok && code === 0) return resolve();
      if (reply?.error) return fail(reply.error);
      if (timedOut) return fail(`it did not finish within ${timeoutMs / 1000} s and was killed`);
      fail(`its process ${signal ? `was killed by ${signal}` : `exited with code ${code}`}`);
    });
  });
}
