// A throwaway PostgreSQL server for tests: Debian's server binaries, a temporary data directory, a
// free loopback port, fsync off. One server per test process, shared by every caller in it; each
// test file makes its own empty database with createDatabase. When DATABASE_URL is set, that server
// is used instead and nothing is started.
import { spawn, type ChildProcess } from 'node:child_process';
import { chownSync, closeSync, existsSync, openSync, readFileSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { mkdtemp } from 'node:fs/promises';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export interface PostgresServer {
  /** Connection URL of an empty database on the server (or DATABASE_URL as given). */
  url: string;
  /** Releases this handle; the server stops when the last handle of the process is released. */
  stop(): Promise<void>;
}

const PG_LIB_DIR = '/usr/lib/postgresql';
const TEMP_PREFIX = 'holdfast-pg-';
const SUPERUSER = 'holdfast';
const DEFAULT_DATABASE = 'holdfast_test';
const INITDB_TIMEOUT_MS = 60_000;
const READY_TIMEOUT_MS = 30_000;
const STOP_GRACE_MS = 10_000;
const QUERY_TIMEOUT_MS = 30_000;
const START_ATTEMPTS = 4;

interface RunningServer {
  child: ChildProcess;
  dir: string;
  port: number;
  exited: Promise<void>;
  cleanupOnExit: () => void;
  cleanupOnSignal: (signal: NodeJS.Signals) => void;
}

let shared: Promise<RunningServer> | undefined;
let handles = 0;

export async function startPostgres(): Promise<PostgresServer> {
  const external = process.env.DATABASE_URL;
  if (external) return { url: external, stop: async () => {} };

  handles++;
  let server: RunningServer;
  try {
    shared ??= launch();
    server = await shared;
  } catch (error) {
    handles--;
    shared = undefined;
    throw error;
  }
  let released = false;
  return {
    url: serverUrl(server.port, DEFAULT_DATABASE),
    stop: async () => {
      if (released) return;
      released = true;
      handles--;
      if (handles > 0) return;
      shared = undefined;
      await shutdown(server);
    },
  };
}

/**
 * Creates (or recreates, empty) database `name` on the server that `url` points at and returns the
 * URL of the new database.
 */
export async function createDatabase(url: string, name: string): Promise<string> {
  if (!/^[a-z_][a-z0-9_]{0,62}$/.test(name)) {
    throw new Error(`createDatabase: '${name}' is not a plain lower-case SQL identifier`);
  }
  const client = new pg.Client({
    connectionString: url,
    connectionTimeoutMillis: QUERY_TIMEOUT_MS,
    query_timeout: QUERY_TIMEOUT_MS,
  });
  await client.connect();
  try {
    await client.query(`DROP DATABASE IF EXISTS "${name}" WITH (FORCE)`);
    await client.query(`CREATE DATABASE "${name}"`);
  } finally {
    await client.end();
  }
  const databaseUrl = new URL(url);
  databaseUrl.pathname = `/${name}`;
  return databaseUrl.toString();
}

function serverUrl(port: number, database: string): string {
  return `postgres://${SUPERUSER}@127.0.0.1:${port}/${database}`;
}

async function launch(): Promise<RunningServer> {
  removeOrphanedServers();
  const binDir = findServerBinaries();
  const runAs = serverAccount();
  const dir = await mkdtemp(join(tmpdir(), TEMP_PREFIX));
  try {
    // Lets a later test process recognise this directory as orphaned if we die without cleanup.
    writeOwner(dir);
    if (runAs) chownSync(dir, runAs.uid, runAs.gid);
    const dataDir = join(dir, 'data');
    await runToCompletion(
      join(binDir, 'initdb'),
      ['-D', dataDir, '-U', SUPERUSER, '--auth=trust', '--no-sync', '--encoding=UTF8', '--locale=C'],
      { dir, runAs, timeoutMs: INITDB_TIMEOUT_MS },
    );
    let lastError: unknown;
    for (let attempt = 1; attempt <= START_ATTEMPTS; attempt++) {
      const port = await freeLoopbackPort();
      try {
        const server = await startServer(binDir, dir, port, runAs);
        await createDatabase(serverUrl(port, 'postgres'), DEFAULT_DATABASE);
        return server;
      } catch (error) {
        lastError = error;
        // Another process may take the port between our probe and the server's bind: try another.
        if (!(error instanceof PortTakenError)) throw error;
      }
    }
    throw lastError;
  } catch (error) {
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
    throw error;
  }
}

class PortTakenError extends Error {}

async function startServer(
  binDir: string,
  dir: string,
  port: number,
  runAs: Account | undefined,
): Promise<RunningServer> {
  const logPath = join(dir, 'postgres.log');
  const logFd = openSync(logPath, 'a');
  if (runAs) chownSync(logPath, runAs.uid, runAs.gid);
  const child = spawn(
    join(binDir, 'postgres'),
    [
      '-D', join(dir, 'data'),
      '-p', String(port),
      '-k', dir,
      '-c', 'listen_addresses=127.0.0.1',
      // Durability is worthless for a throwaway server; these make every commit cheap.
      '-c', 'fsync=off',
      '-c', 'synchronous_commit=off',
      '-c', 'full_page_writes=off',
      '-c', 'shared_buffers=32MB',
      '-c', 'max_connections=200',
    ],
    { cwd: dir, env: serverEnv(), stdio: ['ignore', logFd, logFd], uid: runAs?.uid, gid: runAs?.gid },
  );
  closeSync(logFd);
  // The server must not keep the test process alive; exit and signal handlers stop it instead.
  child.unref();
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  let hasExited = false;
  void exited.then(() => (hasExited = true));

  const deadline = Date.now() + READY_TIMEOUT_MS;
  for (;;) {
    if (hasExited || child.exitCode !== null) {
      const log = tail(logPath);
      if (/Address already in use|could not create any TCP\/IP sockets/.test(log)) throw new PortTakenError(log);
      throw new Error(`PostgreSQL exited during start-up (log ${logPath}):\n${log}`);
    }
    if (await acceptsConnections(port)) break;
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`PostgreSQL did not accept connections within ${READY_TIMEOUT_MS} ms:\n${tail(logPath)}`);
    }
    await sleep(100);
  }

  const server: RunningServer = {
    child,
    dir,
    port,
    exited,
    cleanupOnExit: () => killAndRemove(server),
    cleanupOnSignal: (signal) => {
      killAndRemove(server);
      process.removeListener(signal, server.cleanupOnSignal);
      // Keep the signal's normal effect (ending the process) unless someone else handles it.
      if (process.listenerCount(signal) === 0) process.kill(process.pid, signal);
    },
  };
  process.once('exit', server.cleanupOnExit);
  for (const signal of TERMINATING_SIGNALS) process.once(signal, server.cleanupOnSignal);
  return server;
}

const TERMINATING_SIGNALS: NodeJS.Signals[] = ['SIGTERM', 'SIGINT', 'SIGHUP'];

async function shutdown(server: RunningServer): Promise<void> {
  process.removeListener('exit', server.cleanupOnExit);
  for (const signal of TERMINATING_SIGNALS) process.removeListener(signal, server.cleanupOnSignal);
  if (server.child.exitCode === null && server.child.signalCode === null) {
    // SIGINT is PostgreSQL's "fast" shutdown: it ends client sessions instead of waiting for them.
    server.child.kill('SIGINT');
    if (!(await within(server.exited, STOP_GRACE_MS))) {
      server.child.kill('SIGKILL');
      await within(server.exited, STOP_GRACE_MS);
    }
  }
  rmSync(server.dir, { recursive: true, force: true, maxRetries: 5 });
}

// Synchronous, for 'exit' and signal handlers: immediate shutdown, then remove the files.
function killAndRemove(server: RunningServer): void {
  if (server.child.exitCode === null && server.child.signalCode === null) server.child.kill('SIGQUIT');
  rmSync(server.dir, { recursive: true, force: true, maxRetries: 5 });
}

// A test process killed outright (SIGKILL, a crash) leaves its server running. Stop the servers of
// directories whose owning process is gone.
function removeOrphanedServers(): void {
  let entries: string[];
  try {
    entries = readdirSync(tmpdir()).filter((name) => name.startsWith(TEMP_PREFIX));
  } catch {
    return;
  }
  for (const name of entries) {
    const dir = join(tmpdir(), name);
    const owner = readPid(join(dir, 'owner.pid'));
    if (owner === undefined || processAlive(owner)) continue;
    const postmaster = readPid(join(dir, 'data', 'postmaster.pid'));
    // Only signal a process that is still that directory's server, never an unrelated one.
    if (postmaster !== undefined && commandLine(postmaster).includes(dir)) {
      try {
        process.kill(postmaster, 'SIGQUIT');
      } catch {
        // Already gone.
      }
    }
    rmSync(dir, { recursive: true, force: true, maxRetries: 5 });
  }
}

function writeOwner(dir: string): void {
  writeFileSync(join(dir, 'owner.pid'), `${process.pid}\n`);
}

function readPid(path: string): number | undefined {
  try {
    const pid = Number.parseInt(readFileSync(path, 'utf8').split('\n')[0] ?? '', 10);
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}

function processAlive(pid: number): boolean {
  try {
    process.kill(pid, 0);
    return true;
  } catch (error) {
    return (error as NodeJS.ErrnoException).code === 'EPERM';
  }
}

function commandLine(pid: number): string {
  try {
    return readFileSync(`/proc/${pid}/cmdline`, 'utf8').replaceAll('\0', ' ');
  } catch {
    return '';
  }
}

function findServerBinaries(): string {
  const versions = existsSync(PG_LIB_DIR)
    ? readdirSync(PG_LIB_DIR)
        .filter((version) => existsSync(join(PG_LIB_DIR, version, 'bin', 'postgres')))
        .sort((a, b) => Number.parseFloat(b) - Number.parseFloat(a))
    : [];
  const newest = versions[0];
  if (newest === undefined) {
    throw new Error(
      `PostgreSQL server binaries not found under ${PG_LIB_DIR}: run 'bash scripts/setup.sh test' ` +
        `(or set DATABASE_URL to use a running server)`,
    );
  }
  return join(PG_LIB_DIR, newest, 'bin');
}

interface Account {
  uid: number;
  gid: number;
}

// PostgreSQL refuses to run as root; as root we run it as the 'postgres' account that Debian's
// package creates. Any other user runs it as themselves.
function serverAccount(): Account | undefined {
  if (process.getuid?.() !== 0) return undefined;
  const line = readFileSync('/etc/passwd', 'utf8')
    .split('\n')
    .find((entry) => entry.startsWith('postgres:'));
  const [, , uid, gid] = line?.split(':') ?? [];
  if (uid === undefined || gid === undefined) {
    throw new Error("no 'postgres' user to run PostgreSQL as (root is refused): run 'bash scripts/setup.sh test'");
  }
  return { uid: Number(uid), gid: Number(gid) };
}

function serverEnv(): NodeJS.ProcessEnv {
  return { PATH: process.env.PATH ?? '/usr/bin:/bin', LANG: 'C', LC_ALL: 'C' };
}

function runToCompletion(
  command: string,
  args: string[],
  opts: { dir: string; runAs: Account | undefined; timeoutMs: number },
): Promise<void> {
  return new Promise((resolve, reject) => {
    const child = spawn(command, args, {
      cwd: opts.dir,
      env: serverEnv(),
      stdio: ['ignore', 'pipe', 'pipe'],
      uid: opts.runAs?.uid,
      gid: opts.runAs?.gid,
      timeout: opts.timeoutMs,
      killSignal: 'SIGKILL',
    });
    let output = '';
    child.stdout.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.stderr.on('data', (chunk: Buffer) => (output += chunk.toString()));
    child.once('error', reject);
    child.once('close', (code, signal) => {
      if (code === 0) resolve();
      else reject(new Error(`${command} failed (${signal ?? `exit ${code}`}):\n${output.slice(-4000)}`));
    });
  });
}

async function acceptsConnections(port: number): Promise<boolean> {
  const client = new pg.Client({ connectionString: serverUrl(port, 'postgres'), connectionTimeoutMillis: 2_000 });
  // A refused connection also emits 'error' on the client; the rejected connect() reports it.
  client.on('error', () => {});
  try {
    await client.connect();
    await client.end();
    return true;
  } catch {
    return false;
  }
}

function freeLoopbackPort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const probe = createServer();
    probe.once('error', reject);
    probe.listen(0, '127.0.0.1', () => {
      const address = probe.address();
      probe.close(() => {
        if (address && typeof address === 'object') resolve(address.port);
        else reject(new Error('could not find a free loopback port'));
      });
    });
  });
}

function tail(path: string, lines = 30): string {
  try {
    return readFileSync(path, 'utf8').trimEnd().split('\n').slice(-lines).join('\n');
  } catch {
    return '(no log)';
  }
}

function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

async function within(promise: Promise<void>, ms: number): Promise<boolean> {
  let timer: NodeJS.Timeout | undefined;
  const timedOut = new Promise<false>((resolve) => (timer = setTimeout(() => resolve(false), ms)));
  try {
    return await Promise.race([promise.then(() => true as const), timedOut]);
  } finally {
    clearTimeout(timer);
  }
}
