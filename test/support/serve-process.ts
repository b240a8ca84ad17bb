// Starts the built `holdfast serve` as a child process (the way a user runs it), on a free loopback
// port, over HTTPS with a throwaway self-signed certificate when asked (kubectl sends tokens only
// over TLS). Stops it by PID.
import { execFileSync, spawn, type ChildProcess } from 'node:child_process';
import { createHash } from 'node:crypto';
import { cpSync, existsSync, mkdtempSync, readdirSync, readFileSync, renameSync, rmSync } from 'node:fs';
import { createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { packageRoot } from '../../core/package-root.js';
import { openDatabase } from '../../store/database.js';
import { readPrivateKey, type TestHost } from './testhosts.js';

export interface ServeProcess {
  url: string;
  token: string;
  dataDir: string;
  caFile?: string;
  child: ChildProcess;
  /** Everything the server wrote to stdout and stderr so far (its log). */
  output(): string;
  stop(): Promise<void>;
}

export async function freePort(): Promise<number> {
  return new Promise((ok, fail) => {
    const srv = createServer();
    srv.once('error', fail);
    srv.listen(0, '127.0.0.1', () => {
      const port = (srv.address() as { port: number }).port;
      srv.close(() => ok(port));
    });
  });
}

export interface ServeProcessOptions {
  tls?: boolean;
  env?: Record<string, string>;
  /** Reuse this data directory (a restart); it is left in place on stop. */
  dataDir?: string;
  /** Extra `holdfast serve` flags, e.g. ['--log-level', 'debug']. */
  args?: string[];
  /** Listen on this port (from freePort) when the server must know its own URL before it starts. */
  port?: number;
}

export async function startServeProcess(opts: ServeProcessOptions = {}): Promise<ServeProcess> {
  const dataDir = opts.dataDir ?? mkdtempSync(join(tmpdir(), 'holdfast-serve-'));
  const port = opts.port ?? (await freePort());
  const env: Record<string, string> = { ...(process.env as Record<string, string>), ...opts.env, HOLDFAST_DATA_DIR: dataDir };
  if (!env.DATABASE_URL && !existsSync(join(dataDir, 'pgdata'))) cpSync(await pgdataTemplate(), join(dataDir, 'pgdata'), { recursive: true });
  let caFile: string | undefined;
  if (opts.tls) {
    caFile = join(dataDir, 'tls.crt');
    const keyFile = join(dataDir, 'tls.key');
    execFileSync('openssl', [
      'req', '-x509', '-newkey', 'ec', '-pkeyopt', 'ec_paramgen_curve:prime256v1', '-nodes',
      '-keyout', keyFile, '-out', caFile, '-days', '1', '-subj', '/CN=127.0.0.1', '-addext', 'subjectAltName=IP:127.0.0.1',
    ], { stdio: 'ignore' });
    env.HOLDFAST_TLS_CERT_FILE = caFile;
    env.HOLDFAST_TLS_KEY_FILE = keyFile;
  }
  // The command itself, not `node` with it: its first line carries the flags `holdfast serve` runs with.
  const child = spawn(join(packageRoot(), 'bin', 'holdfast.js'), ['serve', '--data-dir', dataDir, '--listen', `127.0.0.1:${port}`, '--log-level', 'warn', ...(opts.args ?? [])], {
    env,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (d) => (output += d));
  child.stderr!.on('data', (d) => (output += d));
  const url = `${opts.tls ? 'https' : 'http'}://127.0.0.1:${port}`;
  const deadline = Date.now() + 60_000;
  for (;;) {
    if (child.exitCode !== null) throw new Error(`holdfast serve exited with ${child.exitCode}:\n${output}`);
    try {
      const token = readFileSync(join(dataDir, 'admin.token'), 'utf8').trim();
      // Health is plain HTTP(S) without auth; with TLS, trust the throwaway certificate for this probe.
      const res = await probe(url + '/readyz', caFile);
      if (res === 200 && token) {
        return {
          url, token, dataDir, caFile, child,
          output: () => output,
          async stop() {
            if (child.exitCode === null) {
              const exited = new Promise((ok) => child.once('exit', ok));
              child.kill('SIGTERM');
              await Promise.race([exited, new Promise((ok) => setTimeout(ok, 10_000))]);
              if (child.exitCode === null) child.kill('SIGKILL');
            }
            if (!opts.dataDir) rmSync(dataDir, { recursive: true, force: true });
          },
        };
      }
    } catch {
      // not up yet
    }
    if (Date.now() > deadline) {
      child.kill('SIGKILL');
      throw new Error(`holdfast serve did not become ready within 60 s:\n${output}`);
    }
    await new Promise((ok) => setTimeout(ok, 200));
  }
}

async function probe(url: string, caFile?: string): Promise<number> {
  if (!caFile) return (await fetch(url)).status;
  const https = await import('node:https');
  return new Promise((ok, fail) => {
    https.get(url, { ca: readFileSync(caFile) }, (res) => {
      res.resume();
      ok(res.statusCode ?? 0);
    }).on('error', fail);
  });
}

/**
 * An empty, migrated embedded database to copy into a new data directory: creating one (initdb in a
 * child process) takes seconds, and the end-to-end tests start many servers. Made once per machine
 * for each set of migrations; the creation itself is tested in test/integration/store.
 */
async function pgdataTemplate(): Promise<string> {
  const migrations = join(packageRoot(), 'store', 'migrations');
  const hash = createHash('sha256');
  for (const file of readdirSync(migrations).filter((f) => f.endsWith('.sql')).sort()) hash.update(file).update(readFileSync(join(migrations, file)));
  hash.update(readFileSync(join(packageRoot(), 'node_modules', '@electric-sql', 'pglite', 'package.json')));
  const template = join(tmpdir(), `holdfast-pgdata-template-${hash.digest('hex').slice(0, 16)}`);
  if (existsSync(join(template, 'pgdata', 'PG_VERSION'))) return join(template, 'pgdata');
  const building = mkdtempSync(`${template}.building-`);
  const database = await openDatabase({ dataDir: building });
  await database.close();
  try {
    renameSync(building, template);
  } catch {
    // Another test process made it first: use theirs.
    rmSync(building, { recursive: true, force: true });
  }
  return join(template, 'pgdata');
}

/** An answer of the API: its status, its text, and the text parsed as JSON (undefined when it is not JSON). */
export interface ApiAnswer {
  status: number;
  text: string;
  body: any;
}

/**
 * Calls a running `holdfast serve` as the admin unless given a token; a PATCH is a JSON merge patch.
 * `request` takes the whole path, `call` a path below /apis/holdfast.dev/v1alpha1.
 */
export function serveApi(serve: ServeProcess) {
  const request = async (method: string, path: string, body?: unknown, token = serve.token): Promise<ApiAnswer> => {
    const res = await fetch(`${serve.url}${path}`, {
      method,
      headers: { authorization: `Bearer ${token}`, 'content-type': method === 'PATCH' ? 'application/merge-patch+json' : 'application/json' },
      body: body === undefined ? undefined : JSON.stringify(body),
    });
    const text = await res.text();
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      parsed = undefined;
    }
    return { status: res.status, text, body: parsed };
  };
  const call = (method: string, path: string, body?: unknown, token?: string) => request(method, `/apis/holdfast.dev/v1alpha1${path}`, body, token);
  /** POSTs an object and fails the test unless it is created. */
  const create = async (path: string, body: unknown): Promise<ApiAnswer> => {
    const res = await call('POST', path, body);
    if (res.status !== 201) throw new Error(`POST ${path}: HTTP ${res.status}: ${res.text}`);
    return res;
  };
  return { request, call, create };
}

/** Declares a test host as a Server (with its SSHKey `${name}-key` and pinned host key) through the API. */
export async function declareTestServer(
  serve: ServeProcess,
  name: string,
  host: TestHost,
): Promise<void> {
  const { create } = serveApi(serve);
  const keyName = `${name}-key`;
  await create('/sshkeys', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'SSHKey', metadata: { name: keyName }, spec: { privateKey: readPrivateKey(host) } });
  await create('/servers', {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Server',
    metadata: { name },
    spec: { host: host.address, port: host.port, user: host.user, sshKeyRef: { name: keyName }, hostKeyFingerprint: host.hostKeyFingerprint },
  });
}

export type ServeApi = ReturnType<typeof serveApi>;
