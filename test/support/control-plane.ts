// Starts a real control plane in-process on a free loopback port, on the chosen store driver.
import { randomBytes } from 'node:crypto';
import { copyFileSync, existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { ADMIN_TOKEN_FILE, readAdminToken } from '../../control-plane/admin-token.js';
import { resolveConfig } from '../../control-plane/config.js';
import { startControlPlane, type ControlPlane, type ControlPlaneParts } from '../../control-plane/start.js';
import { silentLogger } from '../../observability/logger.js';
import { KEY_FILE } from '../../security/key-rotation.js';
import { createDatabase, startPostgres } from './postgres.js';

export interface TestControlPlane {
  plane: ControlPlane;
  url: string;
  token: string;
  dataDir: string;
  /** The PostgreSQL database it runs on (postgres driver only). */
  databaseUrl?: string;
  /** fetch against the API with the admin token. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any; headers: Headers }>;
  stop(): Promise<void>;
}

export interface TestControlPlaneOptions {
  /** Environment for the server's configuration (e.g. HOLDFAST_AUTH_FAILURES_PER_MINUTE). */
  env?: Record<string, string>;
  /** Stand-ins for parts of the control plane (e.g. the deployment actions of the service controller). */
  parts?: ControlPlaneParts;
  /** Another replica of `join`: the same PostgreSQL database, encryption key and admin token. */
  join?: TestControlPlane;
}

export async function startTestControlPlane(driver: 'pglite' | 'postgres' = 'pglite', opts: TestControlPlaneOptions = {}): Promise<TestControlPlane> {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-test-'));
  let databaseUrl: string | undefined;
  if (opts.join) {
    if (!opts.join.databaseUrl) throw new Error('startTestControlPlane: only a control plane on PostgreSQL can be joined');
    databaseUrl = opts.join.databaseUrl;
    for (const file of [ADMIN_TOKEN_FILE, KEY_FILE]) if (existsSync(join(opts.join.dataDir, file))) copyFileSync(join(opts.join.dataDir, file), join(dataDir, file));
  } else if (driver === 'postgres') {
    const server = await startPostgres();
    databaseUrl = await createDatabase(server.url, 'hf_' + randomBytes(6).toString('hex'));
  }
  const config = resolveConfig({ dataDir, listen: '127.0.0.1:0', databaseUrl }, opts.env ?? {});
  const stderrWrite = process.stderr.write;
  // The first start prints the admin token on stderr; keep test output clean.
  process.stderr.write = (() => true) as typeof process.stderr.write;
  let plane: ControlPlane;
  try {
    plane = await startControlPlane(config, silentLogger, undefined, opts.parts);
  } finally {
    process.stderr.write = stderrWrite;
  }
  const token = readAdminToken(dataDir)!;
  const url = plane.url;
  return {
    plane,
    url,
    token,
    dataDir,
    databaseUrl,
    async call(method, path, body, headers = {}) {
      const res = await fetch(url + path, {
        method,
        headers: {
          authorization: `Bearer ${token}`,
          ...(body !== undefined ? { 'content-type': 'application/json' } : {}),
          ...headers,
        },
        body: body === undefined ? undefined : typeof body === 'string' ? body : JSON.stringify(body),
      });
      const text = await res.text();
      let parsed: unknown = text;
      try {
        parsed = JSON.parse(text);
      } catch {
        // not JSON: keep the text
      }
      return { status: res.status, body: parsed, headers: res.headers };
    },
    async stop() {
      await plane.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
