// `holdfast serve`: the composition root. Opens the store, loads the sealing key, makes sure an admin
// token exists, serves the API, runs housekeeping, and shuts down cleanly on SIGTERM/SIGINT.
import { existsSync, mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { homedir } from 'node:os';
import { join, resolve } from 'node:path';
import { sql } from 'drizzle-orm';
import { packageRoot } from '../core/package-root.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { FailedAuthLimiter } from '../security/failed-auth-limiter.js';
import { loadSealedValues, Redactor } from '../security/redactor.js';
import { KeyRotation, rotationFailpoint } from '../security/key-rotation.js';
import { loadSealer, type AesGcmSealer } from '../security/sealing.js';
import { TokenStore } from '../security/tokens.js';
import type { DeploymentActions } from '../controllers/deployment-actions.js';
import { openDatabase, type Database } from '../store/database.js';
import { BuildContextStore } from '../store/build-contexts.js';
import { DeploymentStore } from '../store/deployments.js';
import { DriftStore } from '../store/drift.js';
import { ResourceStore } from '../store/resource-store.js';
import { Admission } from './admission.js';
import { createApp } from './app.js';
import { createControllers } from '../controllers/index.js';
import { startHousekeeping } from './housekeeping.js';

export interface ServeOptions {
  dataDir?: string;
  listen?: string;
  logLevel?: string;
  databaseUrl?: string;
  /** PEM files; with both set the API is served over HTTPS (kubectl sends tokens only over TLS). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
}

export interface ServeConfig {
  dataDir: string;
  host: string;
  port: number;
  logLevel: string;
  databaseUrl?: string;
  eventTtlSeconds: number;
  serverPollIntervalMs: number;
  /** HOLDFAST_DRIFT_RESYNC_INTERVAL_MS: every Service's drift is judged again this often even when its host reports no change. */
  driftResyncIntervalMs: number;
  /** HOLDFAST_LIVE_RESYNC_INTERVAL_MS: each server's live state is listed in full this often (Docker events keep it current in between). */
  liveResyncIntervalMs: number;
  /** HOLDFAST_CONTROLLERS=false: serve the API only (a replica that does not reconcile). */
  runControllers: boolean;
  /** Failed authentications a client may make per minute before it is answered 429. */
  authFailuresPerMinute: number;
  tls?: { certFile: string; keyFile: string };
}

export const DEFAULT_LISTEN = '127.0.0.1:7420';
export const defaultDataDir = (env: NodeJS.ProcessEnv = process.env) => env.HOLDFAST_DATA_DIR ?? join(homedir(), '.holdfast');
export const ADMIN_TOKEN_FILE = 'admin.token';

/** Flags → environment → defaults, validated once. */
export function resolveConfig(opts: ServeOptions, env: NodeJS.ProcessEnv = process.env): ServeConfig {
  const listen = opts.listen ?? env.HOLDFAST_LISTEN ?? DEFAULT_LISTEN;
  const m = listen.match(/^(.*):(\d+)$/);
  if (!m) throw new Error(`--listen must be HOST:PORT (got "${listen}")`);
  const port = Number(m[2]);
  if (port > 65535) throw new Error(`--listen: port ${port} is out of range`);
  const ttl = Number(env.HOLDFAST_EVENT_TTL_SECONDS ?? 3600);
  if (!Number.isFinite(ttl) || ttl <= 0) throw new Error('HOLDFAST_EVENT_TTL_SECONDS must be a positive number');
  const authFailures = Number(env.HOLDFAST_AUTH_FAILURES_PER_MINUTE ?? 10);
  if (!Number.isInteger(authFailures) || authFailures <= 0) throw new Error('HOLDFAST_AUTH_FAILURES_PER_MINUTE must be a positive integer');
  const certFile = opts.tlsCertFile ?? env.HOLDFAST_TLS_CERT_FILE;
  const keyFile = opts.tlsKeyFile ?? env.HOLDFAST_TLS_KEY_FILE;
  if (Boolean(certFile) !== Boolean(keyFile)) throw new Error('TLS needs both --tls-cert-file and --tls-key-file');
  return {
    ...(certFile && keyFile ? { tls: { certFile: resolve(certFile), keyFile: resolve(keyFile) } } : {}),
    dataDir: resolve(opts.dataDir ?? defaultDataDir(env)),
    host: m[1] || '127.0.0.1',
    port,
    logLevel: opts.logLevel ?? env.LOG_LEVEL ?? 'info',
    databaseUrl: opts.databaseUrl ?? env.DATABASE_URL ?? undefined,
    eventTtlSeconds: ttl,
    runControllers: env.HOLDFAST_CONTROLLERS !== 'false',
    serverPollIntervalMs: positiveInt(env.SERVER_READINESS_POLL_INTERVAL_MS, 60_000, 'SERVER_READINESS_POLL_INTERVAL_MS'),
    driftResyncIntervalMs: positiveInt(env.HOLDFAST_DRIFT_RESYNC_INTERVAL_MS, 60_000, 'HOLDFAST_DRIFT_RESYNC_INTERVAL_MS'),
    liveResyncIntervalMs: positiveInt(env.HOLDFAST_LIVE_RESYNC_INTERVAL_MS, 5 * 60_000, 'HOLDFAST_LIVE_RESYNC_INTERVAL_MS'),
    authFailuresPerMinute: authFailures,
  };
}

/** Parts a control plane can be started with instead of its defaults. */
export interface ControlPlaneParts {
  /** What the deployment routes call for sync, rollback and cancel (the service controller by default). */
  deploymentActions?: (plane: { store: ResourceStore; deployments: DeploymentStore }) => DeploymentActions;
  /** false: the controllers are built but do not reconcile (API tests that drive deployments themselves). */
  startControllers?: boolean;
}

/** Everything a running control plane holds; tests start one in-process. */
export interface ControlPlane {
  config: ServeConfig;
  database: Database;
  store: ResourceStore;
  /** The one deployment store of this process: its change notices drive followed logs. */
  deployments: DeploymentStore;
  /** Build context tars uploaded for compose builds. */
  buildContexts: BuildContextStore;
  tokens: TokenStore;
  sealer: AesGcmSealer;
  /** Knows every stored secret value; everything leaving the process passes it. */
  redactor: Redactor;
  metrics: Metrics;
  log: Logger;
  http: HttpServer;
  url: string;
  stop(): Promise<void>;
}

export async function startControlPlane(
  config: ServeConfig,
  log: Logger = createLogger(config.logLevel),
  redactor: Redactor = new Redactor(),
  parts: ControlPlaneParts = {},
): Promise<ControlPlane> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  const store = new ResourceStore(database.db, { redact: (value) => redactor.redact(value) });
  const sealer = loadSealer(config.dataDir);
  // Every value sealed or opened from now on is known to the redactor; those stored before, too.
  sealer.onPlaintext((value) => redactor.register(value));
  const known = await loadSealedValues(database.db, sealer, redactor);
  if (known.unopened) log.warn({ unopened: known.unopened }, 'some sealed values do not open with the loaded encryption keys');
  const tokens = new TokenStore(database.db);
  await ensureAdminToken(tokens, config.dataDir, log);
  const metrics = new Metrics();
  const deployments = new DeploymentStore(database.db, undefined, undefined, (text) => redactor.redactText(text));
  const drift = new DriftStore(database.db, { redact: (value) => redactor.redact(value) });
  const buildContexts = new BuildContextStore(database.db);
  const controllers = createControllers({
    store,
    deployments,
    drift,
    buildContexts,
    sealer,
    log,
    metrics,
    config: { serverPollIntervalMs: config.serverPollIntervalMs, driftResyncIntervalMs: config.driftResyncIntervalMs, liveResyncIntervalMs: config.liveResyncIntervalMs },
  });
  const deploymentActions = parts.deploymentActions?.({ store, deployments }) ?? controllers.services;

  const app = createApp({
    store,
    admission: new Admission(store, sealer),
    tokens,
    log,
    version: packageVersion(),
    metrics,
    redactor,
    deployments,
    deploymentActions,
    backupActions: controllers.backups,
    buildContexts,
    drift,
    views: controllers.drift,
    keyRotation: new KeyRotation({
      db: database.db,
      sealer,
      dataDir: config.dataDir,
      keyFromEnvironment: Boolean(process.env.ENCRYPTION_KEY),
      afterRow: rotationFailpoint(),
    }),
    authLimiter: new FailedAuthLimiter({ maxFailures: config.authFailuresPerMinute, windowMs: 60_000 }),
    dashboardDir: existsSync(join(packageRoot(), 'dashboard', 'dist', 'index.html')) ? join(packageRoot(), 'dashboard', 'dist') : undefined,
    ready: async () => {
      await database.db.execute(sql`select 1`);
      return true;
    },
  });
  const http = await new Promise<HttpServer>((ok, fail) => {
    const server = config.tls
      ? createHttpsServer({ cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }, app)
      : createHttpServer(app);
    server.once('error', fail);
    server.listen(config.port, config.host, () => ok(server));
  });
  const addr = http.address() as AddressInfo;
  const url = `${config.tls ? 'https' : 'http'}://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
  const stopHousekeeping = startHousekeeping(store, { eventTtlSeconds: config.eventTtlSeconds, log, buildContexts });
  if (parts.startControllers !== false && config.runControllers) await controllers.start();
  log.info({ url, dataDir: config.dataDir, database: database.driver }, 'holdfast API listening');

  let stopped = false;
  return {
    config, database, store, deployments, buildContexts, tokens, sealer, redactor, metrics, log, http, url,
    async stop() {
      if (stopped) return;
      stopped = true;
      stopHousekeeping();
      await controllers.stop();
      await new Promise<void>((ok) => {
        http.close(() => ok());
        http.closeAllConnections();
      });
      await database.close();
    },
  };
}

export async function serve(opts: ServeOptions): Promise<void> {
  const config = resolveConfig(opts);
  const redactor = new Redactor();
  const log = createLogger(config.logLevel, undefined, redactor);
  // A rejection nobody handled is a bug, but one stray promise must not take down every host's
  // reconciliation with it: log it loudly (through the redacting logger) and keep serving.
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection (a Holdfast bug; the control plane keeps running)');
  });
  const plane = await startControlPlane(config, log, redactor);
  const shutdown = (signal: string) => {
    log.info({ signal }, 'shutting down');
    plane.stop().then(
      () => process.exit(0),
      (err) => {
        log.error({ err }, 'shutdown failed');
        process.exit(1);
      },
    );
  };
  process.once('SIGTERM', () => shutdown('SIGTERM'));
  process.once('SIGINT', () => shutdown('SIGINT'));
}

/**
 * On first start there is no token: create an admin token, write it to a 0600 file in the data dir
 * and print it once. Later starts leave tokens alone.
 */
async function ensureAdminToken(tokens: TokenStore, dataDir: string, log: Logger) {
  if ((await tokens.count()) > 0) return;
  const { token } = await tokens.create('admin', ['*']);
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  writeFileSync(file, token + '\n', { mode: 0o600 });
  // Printed once, on the terminal only (not into the JSON log stream).
  process.stderr.write(`holdfast: created an admin token (saved to ${file}):\n  ${token}\n`);
  log.info({ file }, 'admin token created');
}

function positiveInt(value: string | undefined, fallback: number, name: string): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number of milliseconds (got "${value}")`);
  return n;
}

export function readAdminToken(dataDir: string): string | undefined {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
