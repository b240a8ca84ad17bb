// `holdfast serve`: the composition root. Opens the store, loads the sealing key, makes sure an admin
// token exists, serves the API, runs housekeeping, and shuts down cleanly on SIGTERM/SIGINT.
import { existsSync, mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { randomUUID } from 'node:crypto';
import { hostname } from 'node:os';
import { join, resolve } from 'node:path';
import { sql } from 'drizzle-orm';
import { packageRoot } from '../core/package-root.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { FailedAuthLimiter } from '../security/failed-auth-limiter.js';
import { loadSealedValues, Redactor } from '../security/redactor.js';
import { KeyRotation, rotationFailpoint } from '../security/key-rotation.js';
import { OidcSignIn, resolveOidcConfig, type OidcConfig, type OidcFlags } from '../security/oidc.js';
import { loadSealer, sealedValueAad, type AesGcmSealer } from '../security/sealing.js';
import { TokenStore } from '../security/tokens.js';
import type { DeploymentActions } from '../controllers/deployment-actions.js';
import { openDatabase, type Database } from '../store/database.js';
import { restrictDataDirModes } from '../store/data-dir-modes.js';
import { BuildContextStore } from '../store/build-contexts.js';
import { DeploymentStore } from '../store/deployments.js';
import { DriftStore } from '../store/drift.js';
import { ResourceStore } from '../store/resource-store.js';
import { ChangeFeed, DEFAULT_POLL_INTERVAL_MS as DEFAULT_CHANGE_POLL_INTERVAL_MS } from '../store/change-feed.js';
import { Admission } from '../controllers/admission.js';
import { createApp } from './app.js';
import { answerPlainHttp } from './plain-http-hint.js';
import { apiVocabulary } from './redaction.js';
import { kindInfo } from '../core/resource.js';
import { createControllers, DRIFT_RESYNC_MS, SERVICE_RESYNC_MS } from '../controllers/index.js';
import { LeaseElector, SINGLETON_LEASES } from '../controllers/leases/lease-elector.js';
import { SHARD_COUNT } from '../core/lease/shards.js';
import { StoreEventRecorder } from '../controllers/events.js';
import { startHousekeeping } from './housekeeping.js';
import { defaultDataDir } from '../core/data-dir.js';

export interface ServeOptions extends OidcFlags {
  dataDir?: string;
  listen?: string;
  logLevel?: string;
  databaseUrl?: string;
  /** PEM files; with both set the API is served over HTTPS (kubectl sends tokens only over TLS). */
  tlsCertFile?: string;
  tlsKeyFile?: string;
  /** Revoke the admin token and make a new one before serving (a lost or leaked admin token). */
  resetAdminToken?: boolean;
}

export interface ServeConfig {
  dataDir: string;
  host: string;
  port: number;
  logLevel: string;
  databaseUrl?: string;
  /** ENCRYPTION_KEY: the sealing key (32 bytes, base64 or hex); unset, `<dataDir>/encryption.key` is used. */
  encryptionKey?: string;
  eventTtlSeconds: number;
  serverPollIntervalMs: number;
  /** HOLDFAST_DRIFT_RESYNC_INTERVAL_MS: every Service's drift is judged again this often even when its host reports no change. */
  driftResyncIntervalMs: number;
  /** HOLDFAST_SERVICE_RESYNC_INTERVAL_MS: every Service is reconciled again this often even when nothing woke it. */
  serviceResyncIntervalMs: number;
  /** HOLDFAST_LIVE_RESYNC_INTERVAL_MS: each server's live state is listed in full this often (Docker events keep it current in between). */
  liveResyncIntervalMs: number;
  /** HOLDFAST_CHANGE_POLL_INTERVAL_MS: on PostgreSQL, the change log is read this often while notifications come, to catch up one that did not. */
  changePollIntervalMs: number;
  /** HOLDFAST_REPLICA_ID: how Leases name this replica (host name and a random suffix by default). */
  replicaId: string;
  /** HOLDFAST_LEASE_DURATION_SECONDS: a Lease not renewed this long may be taken over by another replica. */
  leaseDurationSeconds: number;
  /** HOLDFAST_LEASE_RENEW_INTERVAL_SECONDS: how often the holder renews its Leases (and others look at them). */
  leaseRenewIntervalSeconds: number;
  /** HOLDFAST_CONTROLLERS=false: serve the API only (a replica that does not reconcile). */
  runControllers: boolean;
  /** HOLDFAST_TERMINAL_IDLE_TIMEOUT_SECONDS: an exec or shell session with neither input nor output this long is ended. */
  terminalIdleTimeoutMs: number;
  /** Failed authentications a client may make per minute before it is answered 429. */
  authFailuresPerMinute: number;
  tls?: { certFile: string; keyFile: string };
  resetAdminToken: boolean;
  /** Single sign-on (--oidc-* flags, HOLDFAST_OIDC_* variables). */
  oidc?: OidcConfig;
}

export const DEFAULT_LISTEN = '127.0.0.1:7420';
export const ADMIN_TOKEN_FILE = 'admin.token';
const ADMIN_TOKEN_NAME = 'admin';

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
  const leaseDurationSeconds = positiveInt(env.HOLDFAST_LEASE_DURATION_SECONDS, 15, 'HOLDFAST_LEASE_DURATION_SECONDS', 'seconds');
  const leaseRenewIntervalSeconds = positiveInt(env.HOLDFAST_LEASE_RENEW_INTERVAL_SECONDS, 5, 'HOLDFAST_LEASE_RENEW_INTERVAL_SECONDS', 'seconds');
  if (leaseRenewIntervalSeconds >= leaseDurationSeconds) throw new Error('HOLDFAST_LEASE_RENEW_INTERVAL_SECONDS must be shorter than HOLDFAST_LEASE_DURATION_SECONDS');
  const certFile = opts.tlsCertFile ?? env.HOLDFAST_TLS_CERT_FILE;
  const keyFile = opts.tlsKeyFile ?? env.HOLDFAST_TLS_KEY_FILE;
  if (Boolean(certFile) !== Boolean(keyFile)) throw new Error('TLS needs both --tls-cert-file and --tls-key-file');
  const oidc = resolveOidcConfig(opts, env);
  return {
    ...(certFile && keyFile ? { tls: { certFile: resolve(certFile), keyFile: resolve(keyFile) } } : {}),
    ...(oidc ? { oidc } : {}),
    dataDir: resolve(opts.dataDir ?? defaultDataDir(env)),
    host: m[1] || '127.0.0.1',
    port,
    logLevel: opts.logLevel ?? env.LOG_LEVEL ?? 'info',
    databaseUrl: opts.databaseUrl ?? env.DATABASE_URL ?? undefined,
    ...(env.ENCRYPTION_KEY ? { encryptionKey: env.ENCRYPTION_KEY } : {}),
    eventTtlSeconds: ttl,
    runControllers: env.HOLDFAST_CONTROLLERS !== 'false',
    serverPollIntervalMs: positiveInt(env.SERVER_READINESS_POLL_INTERVAL_MS, 60_000, 'SERVER_READINESS_POLL_INTERVAL_MS'),
    driftResyncIntervalMs: positiveInt(env.HOLDFAST_DRIFT_RESYNC_INTERVAL_MS, DRIFT_RESYNC_MS, 'HOLDFAST_DRIFT_RESYNC_INTERVAL_MS'),
    serviceResyncIntervalMs: positiveInt(env.HOLDFAST_SERVICE_RESYNC_INTERVAL_MS, SERVICE_RESYNC_MS, 'HOLDFAST_SERVICE_RESYNC_INTERVAL_MS'),
    liveResyncIntervalMs: positiveInt(env.HOLDFAST_LIVE_RESYNC_INTERVAL_MS, 5 * 60_000, 'HOLDFAST_LIVE_RESYNC_INTERVAL_MS'),
    replicaId: env.HOLDFAST_REPLICA_ID || `${hostname()}_${randomUUID().slice(0, 8)}`,
    leaseDurationSeconds,
    leaseRenewIntervalSeconds,
    changePollIntervalMs: positiveInt(env.HOLDFAST_CHANGE_POLL_INTERVAL_MS, DEFAULT_CHANGE_POLL_INTERVAL_MS, 'HOLDFAST_CHANGE_POLL_INTERVAL_MS'),
    authFailuresPerMinute: authFailures,
    resetAdminToken: opts.resetAdminToken ?? false,
    terminalIdleTimeoutMs: positiveInt(env.HOLDFAST_TERMINAL_IDLE_TIMEOUT_SECONDS, 15 * 60, 'HOLDFAST_TERMINAL_IDLE_TIMEOUT_SECONDS', 'seconds') * 1000,
  };
}

/**
 * The resolved configuration as the start-up log line shows it: the sealing key, the OIDC client
 * secret and the database password replaced by a marker, everything else as resolved.
 */
export function printableConfig(config: ServeConfig): Record<string, unknown> {
  const { encryptionKey, databaseUrl, oidc, ...rest } = config;
  return {
    ...rest,
    ...(databaseUrl ? { databaseUrl: withoutPassword(databaseUrl) } : {}),
    ...(encryptionKey ? { encryptionKey: REDACTED } : {}),
    ...(oidc ? { oidc: { ...oidc, issuer: oidc.issuer.href, redirectUrl: oidc.redirectUrl.href, clientSecret: REDACTED } } : {}),
  };
}

const REDACTED = '[REDACTED]';

function withoutPassword(databaseUrl: string): string {
  try {
    const url = new URL(databaseUrl);
    if (url.password) url.password = REDACTED;
    return url.href;
  } catch {
    // Not a URL (a libpq keyword string, say): it may hold a password anywhere.
    return REDACTED;
  }
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
  redactor: Redactor = new Redactor({ reserved: apiVocabulary() }),
  parts: ControlPlaneParts = {},
): Promise<ControlPlane> {
  mkdirSync(config.dataDir, { recursive: true, mode: 0o700 });
  const loosened = restrictDataDirModes(config.dataDir);
  if (loosened) log.warn({ dataDir: config.dataDir, entries: loosened }, 'removed group and world permissions from the data directory');
  const database = await openDatabase({ databaseUrl: config.databaseUrl, dataDir: config.dataDir });
  try {
    return await startOnDatabase(config, database, log, redactor, parts);
  } catch (err) {
    await database.close().catch((closeErr: unknown) => log.error({ err: closeErr }, 'closing the store failed'));
    throw err;
  }
}

async function startOnDatabase(config: ServeConfig, database: Database, log: Logger, redactor: Redactor, parts: ControlPlaneParts): Promise<ControlPlane> {
  // The embedded database has just created its files (mode 0666 from PGlite).
  restrictDataDirModes(config.dataDir);
  const shared = database.driver === 'postgres';
  const store = new ResourceStore(database.db, { redact: (value) => redactor.redact(value), shared });
  // On PostgreSQL other replicas may write too: every change, this replica's included, is heard from the log.
  const changeFeed = shared && config.databaseUrl ? new ChangeFeed(store, { databaseUrl: config.databaseUrl, log, pollIntervalMs: config.changePollIntervalMs }) : undefined;
  await changeFeed?.start();
  try {
    return await startOnStore(config, database, store, changeFeed, log, redactor, parts);
  } catch (err) {
    await changeFeed?.stop();
    throw err;
  }
}

async function startOnStore(
  config: ServeConfig,
  database: Database,
  store: ResourceStore,
  changeFeed: ChangeFeed | undefined,
  log: Logger,
  redactor: Redactor,
  parts: ControlPlaneParts,
): Promise<ControlPlane> {
  const sealer = loadSealer(config.dataDir, config.encryptionKey);
  // Every value sealed or opened from now on is known to the redactor; those stored before, too.
  sealer.onPlaintext((value, owner) => redactor.register(value, owner));
  const known = await loadSealedValues(database.db, sealer, redactor);
  // A deleted Secret's (or SSHKey's) values are no longer masked anywhere, unless another holds them.
  store.subscribe(({ type, object }) => {
    if (type === 'DELETED' && kindInfo(object.kind)?.writeOnly) redactor.forget(sealedValueAad(object.kind, object.metadata.namespace, object.metadata.name, ''));
  });
  if (known.unopened) log.warn({ unopened: known.unopened }, 'some sealed values do not open with the loaded encryption keys');
  const tokens = new TokenStore(database.db);
  if (config.resetAdminToken) await resetAdminToken(tokens, config.dataDir, log);
  else await ensureAdminToken(tokens, config.dataDir, log);
  const metrics = new Metrics();
  const deployments = new DeploymentStore(database.db, undefined, undefined, (text) => redactor.redactText(text));
  const drift = new DriftStore(database.db, { redact: (value) => redactor.redact(value) });
  const buildContexts = new BuildContextStore(database.db);
  const reconciles = parts.startControllers !== false && config.runControllers;
  // Several replicas may share PostgreSQL: each singleton runs on the one replica holding its Lease,
  // and servers are sharded over the replicas that reconcile (backups follow their server's shard).
  const elector = changeFeed
    ? new LeaseElector({
        store,
        identity: config.replicaId,
        names: reconciles ? [SINGLETON_LEASES.gitops, SINGLETON_LEASES.housekeeping] : [SINGLETON_LEASES.housekeeping],
        shards: reconciles ? SHARD_COUNT : 0,
        durationSeconds: config.leaseDurationSeconds,
        renewIntervalSeconds: config.leaseRenewIntervalSeconds,
        log: log.child({ component: 'leases', replica: config.replicaId }),
      })
    : undefined;
  let stopped = false;
  const controllers = createControllers({
    store,
    deployments,
    drift,
    buildContexts,
    sealer,
    log,
    metrics,
    leases: elector,
    config: { serverPollIntervalMs: config.serverPollIntervalMs, driftResyncIntervalMs: config.driftResyncIntervalMs, serviceResyncIntervalMs: config.serviceResyncIntervalMs, liveResyncIntervalMs: config.liveResyncIntervalMs, gitCacheDir: join(config.dataDir, 'git-cache') },
  });
  const deploymentActions = parts.deploymentActions?.({ store, deployments }) ?? controllers.services;

  const app = createApp({
    store,
    admission: new Admission(store, sealer),
    sealer,
    ...(config.oidc ? { oidc: new OidcSignIn(config.oidc) } : {}),
    tokens,
    log,
    version: packageVersion(),
    metrics,
    redactor,
    deployments,
    deploymentActions,
    backupActions: controllers.backups,
    gitWebhooks: { store, sealer, syncs: controllers.gitRepositories },
    buildContexts,
    drift,
    views: controllers.drift,
    serviceLogs: controllers.logs,
    terminals: controllers.terminals,
    serverCleanup: controllers.cleanup,
    swarmNodes: controllers.swarmNodes,
    events: new StoreEventRecorder(store, 'api'),
    terminalIdleTimeoutMs: config.terminalIdleTimeoutMs,
    keyRotation: new KeyRotation({
      db: database.db,
      sealer,
      dataDir: config.dataDir,
      keyFromEnvironment: Boolean(config.encryptionKey),
      afterRow: rotationFailpoint(),
    }),
    authLimiter: new FailedAuthLimiter({ maxFailures: config.authFailuresPerMinute, windowMs: 60_000 }),
    dashboardDir: existsSync(join(packageRoot(), 'dashboard', 'dist', 'index.html')) ? join(packageRoot(), 'dashboard', 'dist') : undefined,
    ready: async () => {
      if (stopped) return 'shutting down';
      await database.db.execute(sql`select 1`);
      if (changeFeed && !changeFeed.connected) return 'not listening for changes (reconnecting to the database)';
      if (elector && !elector.settled) return 'leases not settled yet';
      return true;
    },
  });
  const http = await listen(config, app);
  const addr = http.address() as AddressInfo;
  const url = `${config.tls ? 'https' : 'http'}://${addr.address.includes(':') ? `[${addr.address}]` : addr.address}:${addr.port}`;
  if (elector) {
    for (const lease of elector.names) metrics.leaseHeld.set({ lease, replica: config.replicaId }, 0);
    elector.onChange((lease, held) => {
      metrics.leaseHeld.set({ lease, replica: config.replicaId }, held ? 1 : 0);
      if (elector.shardCount) metrics.shardsHeld.set({ replica: config.replicaId }, elector.heldShards().length);
    });
    await elector.start();
  }
  const stopHousekeeping = startHousekeeping(store, {
    eventTtlSeconds: config.eventTtlSeconds,
    log,
    buildContexts,
    ...(elector ? { when: () => elector.holds(SINGLETON_LEASES.housekeeping) } : {}),
  });
  if (reconciles) await controllers.start();
  log.info({ url, dataDir: config.dataDir, database: database.driver, ...(elector ? { replica: config.replicaId } : {}) }, 'holdfast API listening');

  return {
    config, database, store, deployments, buildContexts, tokens, sealer, redactor, metrics, log, http, url,
    async stop() {
      if (stopped) return;
      stopped = true;
      stopHousekeeping();
      app.terminals.close();
      await controllers.stop();
      // Handed over only once nothing of this replica's work is running.
      await elector?.stop();
      await new Promise<void>((ok) => {
        http.close(() => ok());
        http.closeAllConnections();
      });
      await changeFeed?.stop();
      await database.close();
    },
  };
}

/** Binds the API's listener; a failure (the port is taken, say) names the address and the cause. */
function listen(config: ServeConfig, app: ReturnType<typeof createApp>): Promise<HttpServer> {
  return new Promise<HttpServer>((ok, fail) => {
    const server = config.tls
      ? answerPlainHttp(createHttpsServer({ cert: readFileSync(config.tls.certFile), key: readFileSync(config.tls.keyFile) }, app))
      : createHttpServer(app);
    server.on('upgrade', app.terminals.handleUpgrade);
    server.once('error', (err: NodeJS.ErrnoException) => {
      const why = err.code === 'EADDRINUSE' ? 'the address is already in use' : err.code === 'EACCES' ? 'permission denied' : err.message;
      fail(new Error(`cannot listen on ${config.host}:${config.port}: ${why}`));
    });
    server.listen(config.port, config.host, () => ok(server));
  });
}

export async function serve(opts: ServeOptions): Promise<void> {
  const config = resolveConfig(opts);
  // Whatever the server writes (database, keys, tokens) is its owner's only.
  process.umask(0o077);
  const redactor = new Redactor({ reserved: apiVocabulary() });
  const log = createLogger(config.logLevel, undefined, redactor);
  // A rejection nobody handled is a bug, but one stray promise must not take down every host's
  // reconciliation with it: log it loudly (through the redacting logger) and keep serving.
  process.on('unhandledRejection', (reason) => {
    log.error({ err: reason }, 'unhandled promise rejection (a Holdfast bug; the control plane keeps running)');
  });
  log.info({ config: printableConfig(config) }, 'configuration');
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
 * On first start there is no token: create an admin token and write it to a 0600 file in the data
 * dir; the terminal is told where it is, never the value. Later starts leave tokens alone.
 */
async function ensureAdminToken(tokens: TokenStore, dataDir: string, log: Logger) {
  if ((await tokens.count()) > 0) return;
  const { token } = await tokens.create(ADMIN_TOKEN_NAME, ['*']);
  announceAdminToken(writeAdminToken(dataDir, token), 'created', log);
}

/** `serve --reset-admin-token`: revokes the unrevoked token named admin, if any, and makes a new one. */
async function resetAdminToken(tokens: TokenStore, dataDir: string, log: Logger) {
  const by = { actor: 'system:holdfast serve --reset-admin-token' };
  const { token } = await tokens.replace(ADMIN_TOKEN_NAME, ['*'], by);
  announceAdminToken(writeAdminToken(dataDir, token), 'reset', log);
}

function writeAdminToken(dataDir: string, token: string): string {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  // Replaced, not rewritten in place: a file someone else made (with looser modes) is not reused.
  rmSync(file, { force: true });
  writeFileSync(file, token + '\n', { mode: 0o600, flag: 'wx' });
  return file;
}

function announceAdminToken(file: string, what: 'created' | 'reset', log: Logger) {
  process.stderr.write(`holdfast: ${what} the admin token; it is in ${file} (readable by this user only)\n`);
  log.info({ file }, `admin token ${what}`);
}

function positiveInt(value: string | undefined, fallback: number, name: string, unit = 'milliseconds'): number {
  if (value === undefined || value === '') return fallback;
  const n = Number(value);
  if (!Number.isInteger(n) || n <= 0) throw new Error(`${name} must be a positive whole number of ${unit} (got "${value}")`);
  return n;
}

export function readAdminToken(dataDir: string): string | undefined {
  const file = join(dataDir, ADMIN_TOKEN_FILE);
  return existsSync(file) ? readFileSync(file, 'utf8').trim() : undefined;
}

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
