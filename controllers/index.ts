// Starts every controller of the control plane over one store, one set of host connections and one
// event recorder; returns how to stop them.
import { HostConnections } from '../hosts/index.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Sealer } from '../security/sealing.js';
import type { ResourceStore } from '../store/resource-store.js';
import { StoreEventRecorder } from './events.js';
import { servicesAffectedBy } from './services-affected.js';
import { ControllerManager } from './manager.js';
import { InUseFinalizer, lifecycleKeys, ProjectController, serverUsers, sshKeyUsers } from './lifecycle.js';
import { ServerConnector } from './servers/server-connector.js';
import { ServerController } from './servers/server-controller.js';
import { ServiceController } from './services/service-controller.js';
import { DriftController } from './drift/drift-controller.js';
import { BACKUP_RECONCILE_TIMEOUT_MS, BackupController } from './backups/backup-controller.js';
import type { DriftStore } from '../store/drift.js';
import type { BuildContextStore } from '../store/build-contexts.js';
import type { DeploymentStore } from '../store/deployments.js';

export interface ControllerConfig {
  /** SERVER_READINESS_POLL_INTERVAL_MS: how often each server's readiness is checked. */
  serverPollIntervalMs: number;
  /** HOLDFAST_DRIFT_RESYNC_INTERVAL_MS: how often every Service's drift is judged again without a change on its host. */
  driftResyncIntervalMs?: number;
  /** HOLDFAST_LIVE_RESYNC_INTERVAL_MS: how often each server's live state is listed in full (Docker events keep it current in between). */
  liveResyncIntervalMs?: number;
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
  const connector = new ServerConnector(store, sealer, hosts);
  const manager = new ControllerManager(store, log.child({ component: 'controllers' }), metrics);

  const serverController = new ServerController(store, connector, new StoreEventRecorder(store, 'server-controller'), log.child({ controller: 'Server' }), {
    pollIntervalMs: config.serverPollIntervalMs,
  });
  manager.register(serverController, {
    workers: 4,
    resyncMs: 10 * 60_000,
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
    deployments,
    connector,
    sealer,
    events: new StoreEventRecorder(store, 'service-controller'),
    log: log.child({ controller: 'Service' }),
    metrics,
    buildContexts: deps.buildContexts,
    enqueue: (key) => serviceQueue?.add(key),
  });
  serviceQueue = manager.register(services, {
    workers: 4,
    resyncMs: 60_000,
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
    resyncMs: config.driftResyncIntervalMs ?? 60_000,
    // A rotated Secret changes the declared view; a changed Server, where the Services run.
    mapOthers: servicesAffectedBy(store),
  });

  const backups = new BackupController({
    store,
    deployments,
    connector,
    events: new StoreEventRecorder(store, 'backup-controller'),
    log: log.child({ controller: 'BackupPolicy' }),
  });
  manager.register(backups, {
    workers: 2,
    resyncMs: 60_000,
    // A backup streams for as long as the volume takes; the reconcile that runs one waits for it.
    reconcileTimeoutMs: BACKUP_RECONCILE_TIMEOUT_MS,
    // A Service deployed or removed changes whether its policies can run.
    mapOthers: async (e) => {
      if (e.object.kind !== 'Service' || !e.object.metadata.namespace) return [];
      const { items } = await store.list('BackupPolicy', { namespace: e.object.metadata.namespace });
      return items.filter((p) => (p.spec as { service?: string })?.service === e.object.metadata.name).map((p) => `${p.metadata.namespace}/${p.metadata.name}`);
    },
  });

  return {
    manager,
    hosts,
    connector,
    services,
    drift,
    backups,
    async start() {
      await manager.start();
      drift.start();
    },
    async stop() {
      drift.stop();
      backups.stop();
      await manager.stop();
      await services.stop();
      await hosts.closeAll();
    },
  };
}
