// Starts every controller of the control plane over one store, one set of host connections and one
// event recorder; returns how to stop them.
import { HostConnections } from '../hosts/index.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Sealer } from '../security/sealing.js';
import { openSealedValue } from '../security/secret-values.js';
import type { ResourceStore } from '../store/resource-store.js';
import { StoreEventRecorder } from './events.js';
import { servicesAffectedBy } from './services-affected.js';
import { ControllerManager } from './manager.js';
import { SINGLETON_LEASES, type LeaseHolder } from './leases/lease-elector.js';
import { objectShards } from './leases/object-shards.js';
import { shardLeaseName, shardOfLease } from '../core/lease/shards.js';
import { InUseFinalizer, lifecycleKeys, ProjectController, serverUsers, sshKeyUsers } from './lifecycle.js';
import { ServerConnector } from './servers/server-connector.js';
import { ServerController } from './servers/server-controller.js';
import { ServiceController } from './services/service-controller.js';
import { DriftController } from './drift/drift-controller.js';
import { ServiceLogs } from './logs/service-logs.js';
import { TerminalSessions } from './terminal/terminal-sessions.js';
import { ScheduledCleanup } from './servers/scheduled-cleanup.js';
import { ServerCleanup } from './servers/server-cleanup.js';
import { SwarmNodeOperations } from './servers/swarm-node-operations.js';
import { BACKUP_RECONCILE_TIMEOUT_MS, BackupController } from './backups/backup-controller.js';
import { Admission } from './admission.js';
import { RevisionApplier } from './gitops/apply-revision.js';
import { GitCheckouts } from './gitops/git-checkout.js';
import { GitRepositoryController } from './gitops/gitrepository-controller.js';
import { HealthGate } from './gitops/health-gate.js';
import type { DriftStore } from '../store/drift.js';
import { ObjectCache } from '../store/object-cache.js';
import type { BuildContextStore } from '../store/build-contexts.js';
import type { DeploymentStore } from '../store/deployments.js';

/**
 * Services are woken by what can change them: their own spec, a Secret or Server they use, their
 * containers' events in the live cache (whose own full relist catches a missed event), readiness
 * verdicts, deployments ending, and the requeue their status asks for. Their full resync is only a
 * last safety net, as controller-runtime's (10 h): every minute, it cost a reconcile per Service and
 * controller (2000 a minute at 1000 Services) for nothing.
 */
export const SERVICE_RESYNC_MS = 10 * 3600_000;
/** Drift's safety net, and how stale status.drift.lastCheckedTime may get on a quiet Service. */
export const DRIFT_RESYNC_MS = 10 * 60_000;

export interface ControllerConfig {
  /** SERVER_READINESS_POLL_INTERVAL_MS: how often each server's readiness is checked. */
  serverPollIntervalMs: number;
  /** HOLDFAST_DRIFT_RESYNC_INTERVAL_MS: how often every Service's drift is judged again without a change on its host. */
  driftResyncIntervalMs?: number;
  /** HOLDFAST_SERVICE_RESYNC_INTERVAL_MS: how often every Service is reconciled again without anything waking it. */
  serviceResyncIntervalMs?: number;
  /** HOLDFAST_LIVE_RESYNC_INTERVAL_MS: how often each server's live state is listed in full (Docker events keep it current in between). */
  liveResyncIntervalMs?: number;
  /** Where followed Git repositories are cloned (one directory per URL); under the data directory. */
  gitCacheDir: string;
}

export interface Controllers {
  manager: ControllerManager;
  hosts: HostConnections;
  connector: ServerConnector;
  /** Also the DeploymentActions the API offers. */
  services: ServiceController;
  /** Also what the views API reads. */
  drift: DriftController;
  /** Also the BackupActions the API offers (run now, restore). */
  backups: BackupController;
  /** Takes on-demand syncs (webhooks). */
  gitRepositories: GitRepositoryController;
  /** Reads Services' container logs for the API. */
  logs: ServiceLogs;
  /** Starts exec and shell processes for the terminal API. */
  terminals: TerminalSessions;
  /** Previews and runs server cleanups for the API. */
  cleanup: ServerCleanup;
  /** Drains, pauses and activates the nodes of a manager Server's swarm for the API. */
  swarmNodes: SwarmNodeOperations;
  start(): Promise<void>;
  stop(): Promise<void>;
}

/** Builds the controllers; `start()` begins reconciling. */
export function createControllers(deps: {
  store: ResourceStore;
  deployments: DeploymentStore;
  drift: DriftStore;
  /** Build context tars uploaded for compose builds, read by rollouts that build from them. */
  buildContexts?: BuildContextStore;
  sealer: Sealer;
  log: Logger;
  metrics: Metrics;
  config: ControllerConfig;
  /** Replicas share the database: singletons run where their Lease is held, servers' work where their shard's is. */
  leases?: LeaseHolder;
}): Controllers {
  const { store, deployments, sealer, log, metrics, config } = deps;
  const hosts = new HostConnections({
    observer: metrics,
    ...(config.liveResyncIntervalMs ? { liveState: { resyncIntervalMs: config.liveResyncIntervalMs } } : {}),
    onSessionStateChange: (change) => {
      if (change.state === 'reconnecting') log.warn({ server: change.server, err: change.error?.message, retryInMs: change.retryInMs }, 'ssh session lost; reconnecting');
      else log.debug({ server: change.server, state: change.state }, 'ssh session state');
    },
  });
  // What nearly every reconcile reads and seldom changes, from memory (see store/object-cache.ts).
  const objects = new ObjectCache(store, ['Server', 'SSHKey', 'Secret', 'BackupPolicy']);
  const connector = new ServerConnector(store, sealer, hosts, objects);
  const manager = new ControllerManager(store, log.child({ component: 'controllers' }), metrics, deps.leases);
  const shardCount = deps.leases?.shardCount ?? 0;
  const shards = objectShards(store, shardCount);

  const cleanup = new ServerCleanup({ store, deployments, connector });
  const serverEvents = new StoreEventRecorder(store, 'server-controller');
  const serverLog = log.child({ controller: 'Server' });
  const serverController = new ServerController(store, connector, serverEvents, serverLog, {
    pollIntervalMs: config.serverPollIntervalMs,
    scheduledCleanup: new ScheduledCleanup({ cleanup, db: store.db, events: serverEvents, log: serverLog }),
  });
  const serverQueue = manager.register(serverController, {
    workers: 4,
    resyncMs: 10 * 60_000,
    shardOf: shards.server,
    // A changed SSHKey (rotation) means its servers must reconnect with the new key.
    mapOthers: async (e) => {
      if (e.object.kind !== 'SSHKey') return [];
      const { items } = await store.list('Server');
      return items.filter((s) => (s.spec as { sshKeyRef?: { name?: string } })?.sshKeyRef?.name === e.object.metadata.name).map((s) => s.metadata.name);
    },
  });

  let serviceQueue: ReturnType<ControllerManager['register']> | undefined;
  const services = new ServiceController({
    store,
    objects,
    deployments,
    connector,
    sealer,
    events: new StoreEventRecorder(store, 'service-controller'),
    log: log.child({ controller: 'Service' }),
    metrics,
    buildContexts: deps.buildContexts,
    enqueue: (key) => serviceQueue?.add(key),
    onReadinessChange: (key) => driftQueue?.add(key),
  });
  serviceQueue = manager.register(services, {
    workers: 4,
    resyncMs: config.serviceResyncIntervalMs ?? SERVICE_RESYNC_MS,
    shardOf: shards.service,
    // A Secret a Service refers to, or the Server it runs on, changed: look at those Services again.
    mapOthers: servicesAffectedBy(store),
  });

  const lifecycleEvents = new StoreEventRecorder(store, 'lifecycle-controller');
  manager.register(new InUseFinalizer('Server', store, lifecycleEvents, serverUsers(store)), { workers: 1, mapOthers: (e) => lifecycleKeys('Server', e) });
  manager.register(new InUseFinalizer('SSHKey', store, lifecycleEvents, sshKeyUsers(store)), { workers: 1, mapOthers: (e) => lifecycleKeys('SSHKey', e) });
  manager.register(new ProjectController(store, lifecycleEvents), { workers: 1, mapOthers: (e) => lifecycleKeys('Project', e) });

  let driftQueue: ReturnType<ControllerManager['register']> | undefined;
  const drift = new DriftController({
    store,
    deployments,
    drift: deps.drift,
    connector,
    services,
    hashSecret: (value) => sealer.hash(value),
    events: new StoreEventRecorder(store, 'drift-controller'),
    log: log.child({ controller: 'Drift' }),
    metrics,
    enqueue: (key) => driftQueue?.add(key),
  });
  driftQueue = manager.register(drift, {
    workers: 2,
    resyncMs: config.driftResyncIntervalMs ?? DRIFT_RESYNC_MS,
    shardOf: shards.service,
    // A rotated Secret changes the declared view; a changed Server, where the Services run.
    mapOthers: servicesAffectedBy(store),
  });

  const backups = new BackupController({
    store,
    deployments,
    connector,
    secretValue: (namespace, name, key) => openSealedValue(store, sealer, 'Secret', namespace, name, key),
    events: new StoreEventRecorder(store, 'backup-controller'),
    log: log.child({ controller: 'BackupPolicy' }),
  });
  manager.register(backups, {
    workers: 2,
    resyncMs: 60_000,
    // A backup streams for as long as the volume takes; the reconcile that runs one waits for it.
    reconcileTimeoutMs: BACKUP_RECONCILE_TIMEOUT_MS,
    // Sharded, each policy runs where its Service's server is; else one replica runs them all.
    ...(shardCount ? { shardOf: shards.backupPolicy } : { lease: SINGLETON_LEASES.backups }),
    // A Service deployed or removed changes whether its policies can run.
    mapOthers: async (e) => {
      if (e.object.kind !== 'Service' || !e.object.metadata.namespace) return [];
      const items = await objects.list('BackupPolicy', e.object.metadata.namespace);
      return items.filter((p) => (p.spec as { service?: string })?.service === e.object.metadata.name).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    },
  });

  let gitQueue: ReturnType<ControllerManager['register']> | undefined;
  /** Set by start(): controllers built for the API only (HOLDFAST_CONTROLLERS=false) run no syncs. */
  let reconciling = false;
  const gitRepositories = new GitRepositoryController({
    store,
    sealer,
    applier: new RevisionApplier(store, (view) => new Admission(view, sealer)),
    checkouts: new GitCheckouts(config.gitCacheDir),
    gate: new HealthGate({ store, deployments, actions: services }),
    events: new StoreEventRecorder(store, 'gitrepository-controller'),
    log: log.child({ controller: 'GitRepository' }),
    enqueue: (key) => gitQueue?.add(key),
    runsSyncs: () => reconciling && (!deps.leases || deps.leases.holds(SINGLETON_LEASES.gitops)),
  });
  // Each GitRepository asks for its own next look (spec.interval); the resync only catches up.
  // A health gate's rollback waits for canceled deployments to stop: a reconcile may take minutes.
  gitQueue = manager.register(gitRepositories, {
    workers: 2,
    resyncMs: 10 * 60_000,
    reconcileTimeoutMs: 60 * 60_000,
    lease: SINGLETON_LEASES.gitops,
    // A source's status change may let the sources that depend on it sync; a Service's, end the
    // health gate a sync waits on.
    mapOthers: async (e) => {
      const { kind, namespace, name } = { kind: e.object.kind, ...e.object.metadata };
      if (!namespace) return [];
      if (kind === 'GitRepository') return gitRepositories.dependentsOf(`${namespace}/${name}`);
      return kind === 'Service' ? gitRepositories.gatesWaitingOn(namespace, name) : [];
    },
  });

  // A shard handed over or lost: this replica stops working on its servers and closes their sessions.
  deps.leases?.onChange((lease, held) => {
    const shard = shardOfLease(lease);
    if (held || shard === undefined) return;
    void (async () => {
      for (const server of hosts.names()) {
        if ((await shards.server(server)) !== shard) continue;
        services.leaveServer(server, `lease ${shardLeaseName(shard)} lost`);
        await hosts.remove(server);
      }
    })().catch((err) => log.warn({ err, lease }, 'leaving the servers of a lost shard failed'));
  });

  return {
    manager,
    hosts,
    connector,
    services,
    drift,
    backups,
    gitRepositories,
    logs: new ServiceLogs({ connector }),
    terminals: new TerminalSessions({ connector }),
    cleanup,
    // The Server's status lists its nodes' availability: read it again at once after a change.
    swarmNodes: new SwarmNodeOperations({ connector, onChanged: (server) => serverQueue.add(server) }),
    async start() {
      await manager.start();
      drift.start();
      reconciling = true;
    },
    async stop() {
      drift.stop();
      backups.stop();
      await gitRepositories.stop();
      await manager.stop();
      await services.stop();
      objects.close();
      await hosts.closeAll();
    },
  };
}
