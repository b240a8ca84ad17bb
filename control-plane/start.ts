// `holdfast serve`: the composition root. Opens the store, loads the sealing key, makes sure an admin
// token exists, wires the stores, controllers and the API together, serves the API, runs
// housekeeping, and shuts down cleanly on SIGTERM/SIGINT.
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import { createServer as createHttpServer, type Server as HttpServer } from 'node:http';
import { createServer as createHttpsServer } from 'node:https';
import type { AddressInfo } from 'node:net';
import { join } from 'node:path';
import { sql } from 'drizzle-orm';
import { createApp } from '../api/app.js';
import { startHousekeeping } from '../api/housekeeping.js';
import { answerPlainHttp } from '../api/plain-http-hint.js';
import { apiVocabulary } from '../api/redaction.js';
import { Admission } from '../controllers/admission.js';
import type { DeploymentActions } from '../controllers/deployment-actions.js';
import { StoreEventRecorder } from '../controllers/events.js';
import { createControllers } from '../controllers/index.js';
import { LeaseElector, SINGLETON_LEASES } from '../controllers/leases/lease-elector.js';
import { SHARD_COUNT } from '../core/lease/shards.js';
import { packageRoot } from '../core/package-root.js';
import { kindInfo } from '../core/resource.js';
import { createLogger, type Logger } from '../observability/logger.js';
import { Metrics } from '../observability/metrics.js';
import { FailedAuthLimiter } from '../security/failed-auth-limiter.js';
import { KeyRotation, rotationFailpoint } from '../security/key-rotation.js';
import { OidcSignIn } from '../security/oidc.js';
import { loadSealedValues, Redactor } from '../security/redactor.js';
import { loadSealer, sealedValueAad, type AesGcmSealer } from '../security/sealing.js';
import { TokenStore } from '../security/tokens.js';
import { BuildContextStore } from '../store/build-contexts.js';
import { ChangeFeed } from '../store/change-feed.js';
import { restrictDataDirModes } from '../store/data-dir-modes.js';
import { openDatabase, type Database } from '../store/database.js';
import { DeploymentStore } from '../store/deployments.js';
import { DriftStore } from '../store/drift.js';
import { ResourceStore } from '../store/resource-store.js';
import { ensureAdminToken, resetAdminToken } from './admin-token.js';
import { printableConfig, resolveConfig, type ServeConfig, type ServeOptions } from './config.js';

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

function packageVersion(): string {
  return (JSON.parse(readFileSync(join(packageRoot(), 'package.json'), 'utf8')) as { version: string }).version;
}
