// The Service controller. reconcile(namespace/name) renders the declared Service into a frozen input,
// compares it with the newest deployment and decides: start a deployment when they differ, supersede
// a running one with a newer generation, or leave it (the DeploymentRunner runs deployments, the
// Rollout executes each). It writes status as core/health computes it from what the host runs and
// the probes observe (service-health.ts). Deleting a Service removes exactly what Holdfast made for
// it (a finalizer; host-cleanup.ts). It also implements the deployment actions the API offers (sync,
// rollback, cancel).
import { HoldfastError } from '../../core/errors.js';
import type { FrozenInput, SecretKeyRef } from '../../core/deploy/container-spec.js';
import { renderDeclaredService } from '../../core/deploy/render.js';
import { rolledBack } from '../../core/deploy/rolled-back.js';
import { computeServiceStatus, type ProbeRecord, type ServiceHealth, type ServiceStatusFacts } from '../../core/health/index.js';
import type { Resource } from '../../core/resource.js';
import type { Service, ServiceStatus } from '../../core/schema/types.generated.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Sealer } from '../../security/sealing.js';
import { resolveSecretValue } from '../../security/secret-values.js';
import type { BuildContextStore } from '../../store/build-contexts.js';
import { isTerminal, type DeploymentRecord, type DeploymentStore } from '../../store/deployments.js';
import type { ResourceStore } from '../../store/resource-store.js';
import type { DeploymentActions } from '../deployment-actions.js';
import type { EventRecorder } from '../events.js';
import type { Reconciler, ReconcileResult } from '../manager.js';
import type { ObjectCache } from '../../store/object-cache.js';
import type { ServerConnector } from '../servers/server-connector.js';
import { HostFeed } from '../drift/host-feed.js';
import { ReadinessProber } from './readiness-prober.js';
import { removeServiceFromHost } from './host-cleanup.js';
import { ServiceHealthObserver, swarmPublishMode } from './service-health.js';
import { connectedHost, type HostAccess } from '../../hosts/host-access.js';
import { CommitResolver } from './git-source.js';
import { DeploymentRunner } from './deployment-runner.js';
import { Rollout, ShardHandedOver, type RolloutOutcome } from './rollout.js';

export const SERVICE_FINALIZER = 'holdfast.dev/cleanup';
const CONTROLLER_ACTOR = 'system:controller:service';
export interface ServiceControllerDeps {
  store: ResourceStore;
  /** Holds the Secrets a render hashes. */
  objects: ObjectCache;
  deployments: DeploymentStore;
  connector: ServerConnector;
  sealer: Sealer;
  events: EventRecorder;
  log: Logger;
  metrics?: Metrics;
  /** Build context tars `holdfast apply` uploaded for compose builds. */
  buildContexts?: BuildContextStore;
  /** Wakes this controller for a key (when a deployment ends). */
  enqueue(key: string): void;
  /** A replica's readiness probe verdict changed: whoever else judges health (drift) looks again. */
  onReadinessChange?(key: string): void;
  clock?: () => Date;
}

export class ServiceController implements Reconciler, DeploymentActions {
  readonly kind = 'Service';
  readonly name = 'service';
  private readonly runner: DeploymentRunner;
  private readonly clock: () => Date;
  /** Container events on the servers wake the Services they concern: readiness follows the host. */
  private readonly feed: HostFeed;
  private readonly prober: ReadinessProber;
  private readonly health: ServiceHealthObserver;
  private readonly commits = new CommitResolver();

  constructor(private readonly deps: ServiceControllerDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.feed = new HostFeed(deps.enqueue);
    this.runner = new DeploymentRunner({
      deployments: deps.deployments,
      events: deps.events,
      log: deps.log,
      metrics: deps.metrics,
      run: (service, record, signal) => this.runRollout(service, record, signal),
      enqueue: deps.enqueue,
      clock: this.clock,
    });
    this.prober = new ReadinessProber({
      enqueue: (key) => {
        deps.enqueue(key);
        deps.onReadinessChange?.(key);
      },
      clock: this.clock,
    });
    this.health = new ServiceHealthObserver({ store: deps.store, connector: deps.connector, feed: this.feed, prober: this.prober });
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/');
    const service = await this.deps.store.get('Service', namespace, name);
    if (!service) return {};
    if (service.metadata.deletionTimestamp) return this.finalize(service, signal);
    // The cleanup finalizer goes in with the first status, before any deployment can touch the host.
    const addFinalizer = !service.metadata.finalizers?.includes(SERVICE_FINALIZER);

    const latest = await this.deps.deployments.latest(service.metadata.uid!);
    if (latest && !isTerminal(latest.phase)) {
      const running = this.runner.runningFor(service);
      if (!running && addFinalizer) {
        const result = await this.writeStatus(service, { latest, addFinalizer });
        await this.runner.resume(service, latest);
        return result;
      }
      if (!running) await this.runner.resume(service, latest);
      else if (running.id === latest.id && !running.supersededBy && (service.metadata.generation ?? 1) > latest.generation) {
        const frozen = await this.render(service, { signal }).catch((err) => {
          if (err instanceof HoldfastError) return undefined;
          throw err;
        });
        if (frozen && frozen.specHash !== latest.specHash) {
          const record = await this.runner.supersede(service, frozen, (await this.lastWriter(service)) ?? CONTROLLER_ACTOR);
          if (record) return this.writeStatus(service, { latest: record });
        }
      }
      return this.writeStatus(service, { latest, addFinalizer });
    }

    let frozen: FrozenInput;
    try {
      frozen = await this.render(service, { signal });
    } catch (err) {
      // A git remote that does not answer is no fault of the spec: what runs stays, and the render is tried again.
      if (err instanceof HoldfastError && err.reason === 'ServiceUnavailable') {
        return this.writeStatus(service, { latest, addFinalizer, waiting: { reason: 'SourceUnreachable', message: err.message, until: 'the repository answers' } });
      }
      if (err instanceof HoldfastError) return this.writeStatus(service, { latest, addFinalizer, invalid: err });
      throw err;
    }
    // A new generation with a different input rolls out. The same generation never does again by
    // itself: a failed rollout waits for a fix or `holdfast sync`, a rollback stays until the next
    // spec change (declared vs frozen shows the difference meanwhile).
    const generation = service.metadata.generation ?? 1;
    if (!latest || (generation > latest.generation && latest.specHash !== frozen.specHash)) {
      // A rollout waits for its server to be ready instead of failing against it; the Server's own
      // status change wakes this Service again.
      const blocked = await this.serverNotReady(frozen.target.server);
      if (blocked) return this.writeStatus(service, { latest, addFinalizer, waiting: blocked });
      const actor = (await this.lastWriter(service)) ?? CONTROLLER_ACTOR;
      if (!addFinalizer) return this.writeStatus(service, { latest: await this.runner.start(service, frozen, 'api', actor) });
      let result: ReconcileResult = {};
      await this.runner.start(service, frozen, 'api', actor, {
        beforeLaunch: async (record) => {
          result = await this.writeStatus(service, { latest: record, addFinalizer }).catch(async (err) => {
            // Deleted meanwhile, before it had a finalizer: nothing of this deployment may reach the host.
            if (err instanceof HoldfastError && err.reason === 'NotFound') await this.deps.deployments.setPhase(record.id, 'canceled', { reason: 'ServiceDeleted', message: 'the service was deleted before its deployment started' });
            throw err;
          });
        },
      });
      return result;
    }
    return this.writeStatus(service, { latest, addFinalizer, inputCurrent: latest.specHash === frozen.specHash });
  }

  // ---- DeploymentActions ----------------------------------------------------------------------

  async sync(svc: Service, actor: string): Promise<DeploymentRecord> {
    const frozen = await this.render(svc, { fresh: true });
    await this.requireServerReady(svc, frozen);
    return this.runner.request(svc, frozen, actor);
  }

  /**
   * Drift healing (the drift controller calls it): redeploys `frozen`, the input the host should
   * run, to put back what changed on the host. A deployment with trigger `controller`; refused while
   * one runs.
   */
  async heal(svc: Service, frozen: FrozenInput, actor: string): Promise<DeploymentRecord> {
    this.runner.refuseWhileRunning(svc);
    return this.runner.start(svc, frozen, 'controller', actor);
  }

  async rollback(svc: Service, toRevision: number | undefined, actor: string): Promise<DeploymentRecord> {
    const uid = svc.metadata.uid!;
    const latest = await this.deps.deployments.latest(uid);
    const target =
      toRevision !== undefined
        ? await this.deps.deployments.byRevision(uid, toRevision)
        : await this.deps.deployments.lastCompleted(uid, (await this.deps.deployments.lastCompleted(uid))?.revision ?? (latest?.revision ?? 0) + 1);
    if (!target) {
      throw new HoldfastError('NotFound', toRevision !== undefined ? `service ${svc.metadata.namespace}/${svc.metadata.name} has no revision ${toRevision}` : `service ${svc.metadata.namespace}/${svc.metadata.name} has no earlier completed revision to roll back to`);
    }
    const frozen = target.frozen;
    await this.requireServerReady(svc, frozen);
    return this.runner.request(svc, frozen, actor, target.revision);
  }

  /** The readiness probe results of these containers, as the status uses them. */
  probeRecords(containers: readonly string[]): ReadonlyMap<string, ProbeRecord> {
    return this.prober.recordsFor(containers);
  }

  async cancel(deploymentId: string, _actor: string): Promise<DeploymentRecord> {
    const record = await this.deps.deployments.requestCancel(deploymentId);
    return record;
  }

  /**
   * This replica no longer holds the shard of `server`: its deployments there stop (left in flight
   * for the next holder) and its probes there end.
   */
  leaveServer(server: string, why: string): void {
    this.runner.handOver(server, new ShardHandedOver(why));
    this.prober.untrackServer(server);
  }

  /** Stops every running deployment (shutdown); their records stay in flight and resume on next start. */
  async stop(): Promise<void> {
    this.feed.close();
    this.prober.stop();
    await this.runner.stop();
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Why the server cannot take a rollout now, or undefined when it is Ready. */
  private async serverNotReady(name: string): Promise<Waiting | undefined> {
    const server = await this.deps.connector.findServer(name);
    if (!server) return { reason: 'ServerNotFound', message: `server ${name} does not exist` };
    const ready = server.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True') return undefined;
    return { reason: 'WaitingForServer', message: ready ? `server ${name} is not ready: ${ready.message}` : `server ${name} has not been checked yet` };
  }

  private async requireServerReady(service: Service, frozen: FrozenInput) {
    const blocked = await this.serverNotReady(frozen.target.server);
    if (blocked) throw new HoldfastError('ServiceUnavailable', `cannot deploy ${service.metadata.namespace}/${service.metadata.name} now: ${blocked.message}`);
  }

  /**
   * Renders the declared Service; secret values are seen only as hashes. A git build's ref is resolved
   * through the resolver's recent answers unless `fresh`.
   */
  async render(service: Service, opts: { signal?: AbortSignal; fresh?: boolean } = {}): Promise<FrozenInput> {
    const secrets = await this.deps.objects.list('Secret', service.metadata.namespace);
    const hashes = new Map<string, Record<string, string>>();
    for (const s of secrets) hashes.set(s.metadata.name, ((s.spec as { valueHashes?: Record<string, string> })?.valueHashes ?? {}));
    // A git build is pinned to the commit its ref names now: the frozen input redeploys exactly it.
    const git = service.spec?.source.build?.git;
    const sourceCommit = git ? await this.commits.resolve(git.url, git.ref, opts) : undefined;
    const server = service.spec?.server ? await this.deps.connector.findServer(service.spec.server) : undefined;
    return renderDeclaredService(service, {
      sourceCommit,
      swarm: (server?.spec as { kind?: string } | undefined)?.kind === 'docker-swarm-manager',
      resolveSecret: (name, key) => {
        const h = hashes.get(name)?.[key];
        return h ? { hash: h } : undefined;
      },
    });
  }

  /** The rollout of one deployment record, with what it needs of the store, the sealer and the host. */
  private async runRollout(service: Service, record: DeploymentRecord, signal: AbortSignal): Promise<RolloutOutcome> {
    const host = await this.hostFor(frozenServer(record));
    const previous = await this.deps.deployments.lastCompleted(service.metadata.uid!, record.revision);
    const publishMode = await swarmPublishMode(this.deps.connector, frozenServer(record));
    return new Rollout(record, {
      deployments: this.deps.deployments,
      host,
      secretValue: (ref: SecretKeyRef) => resolveSecretValue(this.deps.store, this.deps.sealer, service.metadata.namespace!, ref.name, ref.key),
      hashSecret: (v) => this.deps.sealer.hash(v),
      // Fields the Service says to ignore never force a replacement.
      ignorePaths: (service.spec?.driftPolicy?.ignoreDifferences ?? []).map((d) => d.path),
      buildContext: async (namespace, digest) => {
        const opened = await this.deps.buildContexts?.open(namespace, digest);
        return opened && { size: opened.info.size, stream: opened.stream };
      },
      ...(publishMode ? { swarm: { publishMode, taskProbes: this.health.taskProbes(frozenServer(record)) } } : {}),
      onProbe: (container, startedAt, probe, result) => this.prober.observe(container, startedAt, probe, result),
      clock: this.clock,
    }, previous).run(signal);
  }

  private async hostFor(serverName: string): Promise<HostAccess & ReturnType<typeof connectedHost>> {
    const server = await this.deps.connector.server(serverName);
    return connectedHost(await this.deps.connector.connectionFor(server));
  }

  /** Removes the Service's containers (and networks; volumes under deletionPolicy Delete), then the finalizer. */
  private async finalize(service: Service, signal: AbortSignal): Promise<ReconcileResult> {
    if (!service.metadata.finalizers?.includes(SERVICE_FINALIZER)) return {};
    this.runner.abort(service, new Error('service deleted'));
    this.prober.untrack(serviceKey(service));
    const latest = await this.deps.deployments.latest(service.metadata.uid!);
    const serverName = latest ? frozenServer(latest) : service.spec!.server;
    // Nothing was ever deployed, or the server itself is gone: there is nothing Holdfast could clean.
    const server = latest ? await this.deps.store.get('Server', undefined, serverName) : undefined;
    if (!latest || !server) {
      if (latest) await this.deps.events.record(service, 'Warning', 'ServerGone', `server ${serverName} no longer exists; containers it may still run were not removed`);
      return this.dropFinalizer(service);
    }
    try {
      const host = await this.hostFor(serverName);
      const owner = { project: service.metadata.namespace!, environment: service.spec!.environment, service: service.metadata.name };
      const swarm = (await swarmPublishMode(this.deps.connector, serverName)) !== undefined;
      const removed = await removeServiceFromHost(host, owner, { swarm, deleteVolumes: service.spec!.deletionPolicy === 'Delete' }, signal);
      await this.deps.events.record(service, 'Normal', 'Deleted', `removed ${removed.swarmServices ? `${removed.swarmServices} Swarm service(s) and ` : ''}${removed.containers} container(s) from server ${serverName}`);
    } catch (err) {
      const message = (err as Error).message;
      await this.deps.events.record(service, 'Warning', 'DeletionBlocked', `cannot clean up on server ${serverName}: ${message}; retrying (remove the finalizer ${SERVICE_FINALIZER} to give up)`);
      throw err;
    }
    return this.dropFinalizer(service);
  }

  private async dropFinalizer(service: Service): Promise<ReconcileResult> {
    await this.deps.store.replace(
      { ...service, metadata: { ...service.metadata, finalizers: (service.metadata.finalizers ?? []).filter((f) => f !== SERVICE_FINALIZER) } },
      { actor: CONTROLLER_ACTOR, skipAudit: true },
    );
    return {};
  }

  /** Who last changed the Service through the API: the actor of the deployment it causes. */
  private async lastWriter(service: Service): Promise<string | undefined> {
    return this.deps.store.lastWriter('Service', service.metadata.namespace, service.metadata.name);
  }

  /** An Event for a Service whose replicas crash-loop: why, with each one's last 20 log lines (the store redacts secret values). */
  private async recordCrashLoop(service: Service, observed: DeploymentRecord, health: ServiceHealth): Promise<void> {
    const looping = health.replicas.filter((r) => r.state === 'CrashLoopBackOff');
    const parts: string[] = [];
    try {
      const host = await this.hostFor(frozenServer(observed));
      for (const replica of looping) {
        const logs = await host.docker.containerLogs(replica.name, { tail: 20 }, { signal: AbortSignal.timeout(10_000) }).catch(() => undefined);
        const lines = logs ? `${logs.stdout}${logs.stderr}`.trimEnd() : '';
        parts.push(`${replica.message}${lines ? `\nlast log lines of ${replica.name}:\n${lines}` : ''}`);
      }
    } catch {
      parts.push(...looping.map((r) => r.message));
    }
    await this.deps.events.record(service, 'Warning', 'CrashLoopBackOff', parts.join('\n'));
  }

  /**
   * Writes the status computed from what is observed, when it changed. With `addFinalizer`, the
   * cleanup finalizer goes in the same write, whatever the status, and a failed write throws: a
   * deployment must not start before the finalizer is stored.
   */
  private async writeStatus(service: Service, facts: { latest?: DeploymentRecord; invalid?: HoldfastError; waiting?: Waiting; inputCurrent?: boolean; addFinalizer?: boolean }): Promise<ReconcileResult> {
    const now = this.clock();
    const previous = (service.status ?? {}) as ServiceStatus;
    const generation = service.metadata.generation ?? 1;
    const latest = facts.latest;
    const completed = latest?.phase === 'completed' ? latest : await this.deps.deployments.lastCompleted(service.metadata.uid!);
    // What the host should run now: the last completed input, or what a failed first rollout left.
    const observed = completed ?? (latest?.phase === 'failed' ? latest : undefined);
    const frozen = observed?.frozen;
    let health: ServiceHealth | undefined;
    let hostError: string | undefined;
    if (frozen) {
      try {
        health = await this.health.observe(serviceKey(service), frozen, now);
      } catch (err) {
        hostError = (err as Error).message;
      }
    }
    const history = (await this.deps.deployments.listForService(service.metadata.namespace!, service.metadata.name, 20)).filter((d) => d.serviceUid === service.metadata.uid);
    const { status, requeueAfterMs } = computeServiceStatus({
      generation,
      previous,
      now,
      invalid: facts.invalid?.message,
      waiting: facts.waiting,
      latest,
      completed,
      inputCurrent: facts.inputCurrent,
      ...(frozen ? { observed: { replicas: frozen.containers.length, image: frozen.containers[0]?.image } } : {}),
      health,
      hostError,
      rolledBack: rolledBack(generation, history),
    });
    const wasLooping = previous.conditions?.some((c) => c.type === 'Ready' && c.reason === 'CrashLoopBackOff');
    const looping = status.conditions?.some((c) => c.type === 'Ready' && c.reason === 'CrashLoopBackOff');
    if (looping && !wasLooping && observed && health) await this.recordCrashLoop(service, observed, health);
    if (facts.addFinalizer) {
      const finalizers = [...(service.metadata.finalizers ?? []), SERVICE_FINALIZER];
      await this.deps.store.replace({ ...service, metadata: { ...service.metadata, finalizers } }, { actor: CONTROLLER_ACTOR, skipAudit: true }, undefined, { status });
    } else if (JSON.stringify(stripTimes(previous)) !== JSON.stringify(stripTimes(status))) {
      try {
        await this.deps.store.replaceStatus({ ...service, status } as Resource, { actor: CONTROLLER_ACTOR, skipAudit: true });
      } catch (err) {
        if ((err as { reason?: string }).reason !== 'Conflict') throw err;
        return { requeueAfterMs: 100 };
      }
    }
    return requeueAfterMs !== undefined ? { requeueAfterMs } : {};
  }
}

/** Why a rollout waits: for its server (`ServerNotFound`, `WaitingForServer`) or its git source (`SourceUnreachable`). */
type Waiting = NonNullable<ServiceStatusFacts['waiting']>;

function frozenServer(record: DeploymentRecord): string {
  // Records written before inputs carried their target name the record's server.
  return record.frozen.target?.server ?? record.server;
}

function stripTimes(s: ServiceStatus): unknown {
  return { ...s, conditions: s.conditions?.map((c) => ({ ...c, lastTransitionTime: undefined })) };
}

function serviceKey(service: Service): string {
  return `${service.metadata.namespace}/${service.metadata.name}`;
}
