// Starts every controller of the control plane over one store, one set of host connections and one
// event recorder; returns how to stop them.
import { HostConnections } from '../hosts/index.js';
import type { Logger } from '../observability/logger.js';
import type { Metrics } from '../observability/metrics.js';
import type { Sealer } from '../security/sealing.js';
import type { ResourceStore } from '../store/resource-store.js';
import { StoreEventRecorder } from './events.js';
import { ControllerManager } from './manager.js';
import { ServerConnector } from './servers/server-connector.js';
import { ServerController } from './servers/server-controller.js';

export interface ControllerConfig {
  /** SERVER_READINESS_POLL_INTERVAL_MS: how often each server's readiness is checked. */
  serverPollIntervalMs: number;
}

export interface RunningControllers {
  manager: ControllerManager;
  hosts: HostConnections;
  connector: ServerConnector;
  stop(): Promise<void>;
}

export async function startControllers(deps: {
  store: ResourceStore;
  sealer: Sealer;
  log: Logger;
  metrics: Metrics;
  config: ControllerConfig;
}): Promise<RunningControllers> {
  const { store, sealer, log, metrics, config } = deps;
  const hosts = new HostConnections({
    observer: metrics,
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

  await manager.start();
  return {
    manager,
    hosts,
    connector,
    async stop() {
      await manager.stop();
      await hosts.closeAll();
    },
  };
}
