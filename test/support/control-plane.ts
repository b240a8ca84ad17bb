// Starts a real control plane in-process on a free loopback port, on the chosen store driver.
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { readAdminToken, resolveConfig, startControlPlane, type ControlPlane, type ControlPlaneParts } from '../../api/serve.js';
import { silentLogger } from '../../observability/logger.js';
import { createDatabase, startPostgres } from './postgres.js';

export interface TestControlPlane {
  plane: ControlPlane;
  url: string;
  token: string;
  dataDir: string;
  /** fetch against the API with the admin token. */
  call(method: string, path: string, body?: unknown, headers?: Record<string, string>): Promise<{ status: number; body: any }>;
  stop(): Promise<void>;
}

export interface TestControlPlaneOptions {
  /** Environment for the server's configuration (e.g. HOLDFAST_AUTH_FAILURES_PER_MINUTE). */
  env?: Record<string, string>;
  /** Stand-ins for parts of the control plane (e.g. the deployment actions of the service controller). */
  parts?: ControlPlaneParts;
}

export async function startTestControlPlane(driver: 'pglite' | 'postgres' = 'pglite', opts: TestControlPlaneOptions = {}): Promise<TestControlPlane> {
  const dataDir = mkdtempSync(join(tmpdir(), 'holdfast-test-'));
  let databaseUrl: string | undefined;
  if (driver === 'postgres') {
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
      return { status: res.status, body: parsed };
    },
    async stop() {
      await plane.stop();
      rmSync(dataDir, { recursive: true, force: true });
    },
  };
}
