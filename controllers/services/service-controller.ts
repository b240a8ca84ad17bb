// The Service controller. reconcile(namespace/name) renders the declared Service into a frozen input,
// compares it with the newest deployment, queues and runs a deployment when they differ, and writes
// status (observedGeneration, Ready/Progressing/Degraded, replicas, current deployment) from what the
// host runs. Deleting a Service removes exactly what Holdfast made for it (a finalizer). It also
// implements the deployment actions the API offers (sync, rollback, cancel).
import { HoldfastError } from '../../core/errors.js';
import type { FrozenInput, SecretKeyRef } from '../../core/deploy/container-spec.js';
import { renderFrozenInput } from '../../core/deploy/render.js';
import { publishModeOf, runsAsSwarmService, swarmServiceName, type PublishMode } from '../../core/deploy/swarm-spec.js';
import { liveSwarmService, planSwarmDeletion, SWARM_TASK_LABEL } from '../../core/plan/swarm.js';
import { buildLiveState } from '../../core/plan/live-state.js';
import { planDeletion } from '../../core/plan/index.js';
import { isDockerNotFound } from '../../hosts/errors.js';
import { setCondition, type Condition, type Resource } from '../../core/resource.js';
import type { Service, ServiceStatus } from '../../core/schema/types.generated.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import type { Sealer } from '../../security/sealing.js';
import { resolveSecretValue } from '../../security/secret-values.js';
import type { BuildContextStore } from '../../store/build-contexts.js';
import { isTerminal, type DeploymentRecord, type DeploymentStore, type DeploymentTrigger } from '../../store/deployments.js';
import type { ResourceStore } from '../../store/resource-store.js';
import type { DeploymentActions } from '../deployment-actions.js';
import type { EventRecorder } from '../events.js';
import type { Reconciler, ReconcileResult } from '../manager.js';
import type { ServerConnector } from '../servers/server-connector.js';
import { connectedHost } from './connected-host.js';
import type { HostAccess } from './host-access.js';
import { resolveCommit } from './git-source.js';
import { Rollout } from './rollout.js';

export const SERVICE_FINALIZER = 'holdfast.dev/cleanup';
const CONTROLLER_ACTOR = 'system:controller:service';
/** Extra time a deployment gets beyond its health deadlines, for pulls and the rest. */
const DEPLOYMENT_SLACK_MS = 10 * 60_000;

interface Running {
  id: string;
  abort: AbortController;
  done: Promise<void>;
}

export interface ServiceControllerDeps {
  store: ResourceStore;
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
  clock?: () => Date;
}

export class ServiceController implements Reconciler, DeploymentActions {
  readonly kind = 'Service';
  readonly name = 'service';
  private readonly running = new Map<string, Running>();
  private readonly clock: () => Date;

  constructor(private readonly deps: ServiceControllerDeps) {
    this.clock = deps.clock ?? (() => new Date());
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/');
    const service = (await this.deps.store.get('Service', namespace, name)) as unknown as Service | undefined;
    if (!service) return {};
    if (service.metadata.deletionTimestamp) return this.finalize(service, signal);
    if (!service.metadata.finalizers?.includes(SERVICE_FINALIZER)) {
      await this.deps.store.replace(
        { ...service, metadata: { ...service.metadata, finalizers: [...(service.metadata.finalizers ?? []), SERVICE_FINALIZER] } } as unknown as Resource,
        { actor: CONTROLLER_ACTOR, skipAudit: true },
      );
      return {};
    }

    const latest = await this.deps.deployments.latest(service.metadata.uid!);
    if (latest && !isTerminal(latest.phase)) {
      if (!this.running.has(service.metadata.uid!)) await this.resume(service, latest);
      return this.writeStatus(service, { latest });
    }

    let frozen: FrozenInput;
    try {
      frozen = await this.render(service);
    } catch (err) {
      if (err instanceof HoldfastError) return this.writeStatus(service, { latest, invalid: err });
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
      if (blocked) return this.writeStatus(service, { latest, waiting: blocked });
      const actor = (await this.lastWriter(service)) ?? CONTROLLER_ACTOR;
      const record = await this.start(service, frozen, 'api', actor);
      return this.writeStatus(service, { latest: record });
    }
    return this.writeStatus(service, { latest });
  }

  // ---- DeploymentActions ----------------------------------------------------------------------

  async sync(service: Resource, actor: string): Promise<DeploymentRecord> {
    const svc = service as unknown as Service;
    this.refuseWhileRunning(svc);
    const frozen = await this.render(svc);
    await this.requireServerReady(svc, frozen);
    return this.start(svc, frozen, 'user', actor);
  }

  /**
   * Drift healing (the drift controller calls it): redeploys `frozen`, the input the host should
   * run, to put back what changed on the host. A deployment with trigger `controller`; refused while
   * one runs.
   */
  async heal(service: Resource, frozen: FrozenInput, actor: string): Promise<DeploymentRecord> {
    const svc = service as unknown as Service;
    this.refuseWhileRunning(svc);
    return this.start(svc, frozen, 'controller', actor);
  }

  async rollback(service: Resource, toRevision: number | undefined, actor: string): Promise<DeploymentRecord> {
    const svc = service as unknown as Service;
    this.refuseWhileRunning(svc);
    const uid = svc.metadata.uid!;
    const latest = await this.deps.deployments.latest(uid);
    const target =
      toRevision !== undefined
        ? await this.deps.deployments.byRevision(uid, toRevision)
        : await this.deps.deployments.lastCompleted(uid, (await this.deps.deployments.lastCompleted(uid))?.revision ?? (latest?.revision ?? 0) + 1);
    if (!target) {
      throw new HoldfastError('NotFound', toRevision !== undefined ? `service ${svc.metadata.namespace}/${svc.metadata.name} has no revision ${toRevision}` : `service ${svc.metadata.namespace}/${svc.metadata.name} has no earlier completed revision to roll back to`);
    }
    const frozen = target.frozen as FrozenInput;
    await this.requireServerReady(svc, frozen);
    return this.start(svc, frozen, 'user', actor, target.revision);
  }

  async cancel(deploymentId: string, _actor: string): Promise<DeploymentRecord> {
    const record = await this.deps.deployments.requestCancel(deploymentId);
    return record;
  }

  /** Stops every running deployment (shutdown); their records stay in flight and resume on next start. */
  async stop(): Promise<void> {
    for (const r of this.running.values()) r.abort.abort(new Error('control plane shutting down'));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  // ---- internals ------------------------------------------------------------------------------

  /** Why the server cannot take a rollout now, or undefined when it is Ready. */
  private async serverNotReady(name: string): Promise<string | undefined> {
    const server = await this.deps.store.get('Server', undefined, name);
    if (!server) return `server ${name} does not exist`;
    const ready = server.status?.conditions?.find((c) => c.type === 'Ready');
    if (ready?.status === 'True') return undefined;
    return ready ? `server ${name} is not ready: ${ready.message}` : `server ${name} has not been checked yet`;
  }

  private async requireServerReady(service: Service, frozen: FrozenInput) {
    const blocked = await this.serverNotReady(frozen.target.server);
    if (blocked) throw new HoldfastError('ServiceUnavailable', `cannot deploy ${service.metadata.namespace}/${service.metadata.name} now: ${blocked}`);
  }

  private refuseWhileRunning(service: Service) {
    const running = this.running.get(service.metadata.uid!);
    if (running) throw new HoldfastError('Conflict', `deployment ${running.id} of service ${service.metadata.namespace}/${service.metadata.name} is still running; wait for it or cancel it`);
  }

  /** Renders the declared Service; secret values are seen only as hashes. */
  async render(service: Service): Promise<FrozenInput> {
    const secrets = await this.deps.store.list('Secret', { namespace: service.metadata.namespace });
    const hashes = new Map<string, Record<string, string>>();
    for (const s of secrets.items) hashes.set(s.metadata.name, ((s.spec as { valueHashes?: Record<string, string> })?.valueHashes ?? {}));
    const files = service.spec?.source.compose?.files ?? {};
    const encoder = new TextEncoder();
    // A git build is pinned to the commit its ref names now: the frozen input redeploys exactly it.
    const git = service.spec?.source.build?.git;
    const sourceCommit = git ? await resolveCommit(git.url, git.ref) : undefined;
    return renderFrozenInput(service, {
      sourceCommit,
      resolveSecret: (name, key) => {
        const h = hashes.get(name)?.[key];
        return h ? { hash: h } : undefined;
      },
      // The compose file and its neighbours travel in the spec (holdfast apply puts them there).
      composeFiles: { readFile: (path) => (path in files ? encoder.encode(files[path]) : undefined) },
    });
  }

  private async start(service: Service, frozen: FrozenInput, trigger: DeploymentTrigger, actor: string, rollbackOf?: number): Promise<DeploymentRecord> {
    const uid = service.metadata.uid!;
    // Claim the service before the first await: two starts in the same tick (a heal and a new
    // generation, say) must not both create a deployment.
    this.refuseWhileRunning(service);
    let release!: () => void;
    const claimed: Running = { id: '(queued)', abort: new AbortController(), done: new Promise<void>((ok) => (release = ok)) };
    this.running.set(uid, claimed);
    const healthMs = frozen.update.healthDeadlineSeconds * 1000 * Math.max(1, frozen.containers.length);
    let record: DeploymentRecord;
    try {
      record = await this.deps.deployments.create({
      service: { uid: service.metadata.uid!, namespace: service.metadata.namespace!, name: service.metadata.name },
      generation: service.metadata.generation ?? 1,
      trigger,
      actor,
      server: frozen.target.server,
      sourceCommit: frozen.sourceCommit,
      frozen: { ...frozen, generation: service.metadata.generation ?? frozen.generation },
      specHash: frozen.specHash,
      rollbackOf,
      deadlineMs: healthMs + DEPLOYMENT_SLACK_MS,
      });
    } catch (err) {
      this.running.delete(uid);
      throw err;
    } finally {
      release();
    }
    await this.deps.events.record(service, 'Normal', 'DeploymentQueued', `deployment ${record.id} (revision ${record.revision}${rollbackOf ? `, rolling back to revision ${rollbackOf}` : ''}) queued by ${actor}`);
    this.launch(service, record);
    return record;
  }

  private async resume(service: Service, record: DeploymentRecord) {
    if (Date.parse(record.deadline) <= this.clock().getTime()) {
      await this.deps.deployments.setPhase(record.id, 'failed', { reason: 'DeadlineExceeded', message: 'the control plane restarted after the deployment deadline had passed' });
      await this.deps.events.record(service, 'Warning', 'DeploymentFailed', `deployment ${record.id} ended: the control plane restarted after its deadline`);
      return;
    }
    await this.deps.deployments.appendLog(record.id, 'deploy', ['resumed after a control plane restart']);
    this.deps.log.info({ service: serviceKey(service), deployment: record.id, revision: record.revision }, 'deployment resumed after a restart');
    this.launch(service, record);
  }

  /** Runs a deployment in the background; the service is reconciled again when it ends. */
  private launch(service: Service, record: DeploymentRecord) {
    const uid = service.metadata.uid!;
    const key = serviceKey(service);
    const log = this.deps.log.child({ service: key, deployment: record.id });
    const abort = new AbortController();
    const done = (async () => {
      log.info({ revision: record.revision, generation: record.generation, trigger: record.trigger, server: record.server }, 'deployment started');
      try {
        const host = await this.hostFor(frozenServer(record));
        const previous = await this.deps.deployments.lastCompleted(uid, record.revision);
        const publishMode = await this.swarmPublishMode(frozenServer(record));
        const outcome = await new Rollout(record, {
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
          ...(publishMode ? { swarm: { publishMode } } : {}),
        }, previous).run(abort.signal);
        this.deps.metrics?.deployments.inc({ outcome: outcome.phase });
        if (outcome.phase === 'completed') log.info('deployment completed');
        else log.warn({ phase: outcome.phase, reason: outcome.reason, message: outcome.message }, `deployment ${outcome.phase}`);
        const type = outcome.phase === 'completed' ? 'Normal' : 'Warning';
        const reason = outcome.phase === 'completed' ? 'DeploymentCompleted' : outcome.phase === 'canceled' ? 'DeploymentCanceled' : 'DeploymentFailed';
        await this.deps.events.record(service, type, reason, `deployment ${record.id} (revision ${record.revision}) ${outcome.phase}${outcome.message ? `: ${outcome.message}` : ''}`);
      } catch (err) {
        // Reaching the host failed before the rollout could start: the record says why.
        const message = (err as Error)?.message ?? String(err);
        log.warn({ reason: 'ServerUnavailable', message }, 'deployment failed');
        await this.deps.deployments.setPhase(record.id, 'failed', { reason: 'ServerUnavailable', message }).catch(() => undefined);
        this.deps.metrics?.deployments.inc({ outcome: 'failed' });
        await this.deps.events.record(service, 'Warning', 'DeploymentFailed', `deployment ${record.id}: ${message}`).catch(() => undefined);
      } finally {
        this.running.delete(uid);
        this.deps.enqueue(key);
      }
    })();
    this.running.set(uid, { id: record.id, abort, done });
  }

  /**
   * For a Swarm manager, how its Swarm services publish ports: through the ingress routing mesh,
   * or in mode host when the server check found no IPVS in its kernel. Undefined for other servers.
   */
  private async swarmPublishMode(serverName: string): Promise<PublishMode | undefined> {
    const server = await this.deps.store.get('Server', undefined, serverName);
    if ((server?.spec as { kind?: string } | undefined)?.kind !== 'docker-swarm-manager') return undefined;
    return publishModeOf((server?.status as { checks?: Array<{ name: string; result: string }> } | undefined)?.checks);
  }

  private async hostFor(serverName: string): Promise<HostAccess & ReturnType<typeof connectedHost>> {
    const server = await this.deps.connector.server(serverName);
    return connectedHost(await this.deps.connector.connectionFor(server));
  }

  /** Removes the Service's containers (and networks; volumes under deletionPolicy Delete), then the finalizer. */
  private async finalize(service: Service, signal: AbortSignal): Promise<ReconcileResult> {
    if (!service.metadata.finalizers?.includes(SERVICE_FINALIZER)) return {};
    this.running.get(service.metadata.uid!)?.abort.abort(new Error('service deleted'));
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
      const swarm = (await this.swarmPublishMode(serverName)) !== undefined;
      let removedServices = 0;
      if (swarm) {
        // The Service's Swarm services go first; Swarm removes their tasks' containers itself.
        const services = (await host.docker.listServices({ label: [`holdfast.dev/service=${owner.service}`] }, { signal })).map((s) => liveSwarmService(s));
        for (const action of planSwarmDeletion(services, owner)) {
          if (action.type !== 'remove-service') continue;
          await host.docker.removeService(action.serviceId, { signal }).catch(ignoreMissing);
          removedServices++;
        }
      }
      const snapshot = await host.snapshot(signal);
      const live = buildLiveState(snapshot, undefined, {});
      if (swarm) live.containers = live.containers.filter((c) => c.labels[SWARM_TASK_LABEL] === undefined);
      const actions = planDeletion(live, { owner, deleteVolumes: service.spec!.deletionPolicy === 'Delete' });
      for (const action of actions) {
        const docker = host.docker;
        if (action.type === 'stop') await docker.stopContainer(action.containerId ?? action.target, { timeoutSeconds: action.timeoutSeconds }, { signal }).catch(ignoreMissing);
        else if (action.type === 'remove') await docker.removeContainer(action.containerId ?? action.target, { force: true }, { signal }).catch(ignoreMissing);
        else if (action.type === 'remove-network') await docker.removeNetwork(action.networkId, { signal }).catch(ignoreMissing);
        else if (action.type === 'remove-volume') await docker.removeVolume(action.target, {}, { signal }).catch(ignoreMissing);
      }
      await this.deps.events.record(service, 'Normal', 'Deleted', `removed ${removedServices ? `${removedServices} Swarm service(s) and ` : ''}${actions.filter((a) => a.type === 'remove').length} container(s) from server ${serverName}`);
    } catch (err) {
      const message = (err as Error).message;
      await this.deps.events.record(service, 'Warning', 'DeletionBlocked', `cannot clean up on server ${serverName}: ${message}; retrying (remove the finalizer ${SERVICE_FINALIZER} to give up)`);
      throw err;
    }
    return this.dropFinalizer(service);
  }

  private async dropFinalizer(service: Service): Promise<ReconcileResult> {
    await this.deps.store.replace(
      { ...service, metadata: { ...service.metadata, finalizers: (service.metadata.finalizers ?? []).filter((f) => f !== SERVICE_FINALIZER) } } as unknown as Resource,
      { actor: CONTROLLER_ACTOR, skipAudit: true },
    );
    return {};
  }

  /** Who last changed the Service through the API: the actor of the deployment it causes. */
  private async lastWriter(service: Service): Promise<string | undefined> {
    return this.deps.store.lastWriter('Service', service.metadata.namespace, service.metadata.name);
  }

  private async writeStatus(service: Service, facts: { latest?: DeploymentRecord; invalid?: HoldfastError; waiting?: string }): Promise<ReconcileResult> {
    const now = this.clock();
    const previous = (service.status ?? {}) as ServiceStatus;
    const gen = service.metadata.generation ?? 1;
    let conditions: Condition[] = previous.conditions ?? [];
    const set = (type: string, ok: boolean, reason: string, message: string) => {
      conditions = setCondition(conditions, { type, status: ok ? 'True' : 'False', reason, message, observedGeneration: gen }, now);
    };
    const latest = facts.latest;
    const status: ServiceStatus = { ...previous, observedGeneration: gen };
    let requeueAfterMs: number | undefined;
    if (facts.invalid) {
      set('Ready', false, 'InvalidSpec', facts.invalid.message);
      set('Progressing', false, 'InvalidSpec', 'nothing is rolled out until the spec is fixed');
    } else if (facts.waiting) {
      set('Progressing', false, 'WaitingForServer', `${facts.waiting}; generation ${gen} rolls out once it is ready`);
      if (!latest) set('Ready', false, 'WaitingForServer', facts.waiting);
      requeueAfterMs = 30_000;
    } else if (latest && !isTerminal(latest.phase)) {
      set('Progressing', true, 'DeploymentRunning', `deployment ${latest.id} (revision ${latest.revision}) is in phase ${latest.phase}`);
    } else if (latest?.phase === 'completed') {
      set('Progressing', false, 'DeploymentCompleted', `revision ${latest.revision} rolled out`);
      set('Degraded', false, 'DeploymentCompleted', `revision ${latest.revision} rolled out`);
    } else if (latest?.phase === 'failed' || latest?.phase === 'canceled') {
      set('Progressing', false, latest.phase === 'failed' ? 'DeploymentFailed' : 'DeploymentCanceled', latest.message ?? latest.phase);
      set('Degraded', true, latest.reason ?? 'DeploymentFailed', latest.message ?? 'the last deployment failed');
    }
    if (latest) {
      status.currentDeployment = {
        name: latest.id,
        generation: latest.generation,
        phase: latest.phase,
        ...(latest.startedAt ? { startedAt: latest.startedAt } : {}),
        ...(latest.finishedAt ? { finishedAt: latest.finishedAt } : {}),
      } as ServiceStatus['currentDeployment'];
    }
    const completed = latest?.phase === 'completed' ? latest : await this.deps.deployments.lastCompleted(service.metadata.uid!);
    if (completed) {
      status.lastSuccessfulDeployment = completed.id;
      const frozen = completed.frozen as FrozenInput;
      status.replicas = frozen.containers.length;
      status.image = frozen.containers[0]?.image;
      try {
        const host = await this.hostFor(frozen.target.server);
        if (runsAsSwarmService(frozen) && (await this.swarmPublishMode(frozen.target.server))) {
          // A Swarm task reaches running once its healthcheck (if any) passes.
          const name = swarmServiceName(frozen);
          const svc = (await host.docker.listServices({ name: [name] })).find((x) => x.Spec?.Name === name);
          const tasks = svc ? await host.docker.listTasks({ service: [svc.ID], 'desired-state': ['running'] }) : [];
          status.readyReplicas = tasks.filter((t) => t.Status?.State === 'running').length;
        } else {
          const snapshot = await host.snapshot(undefined, { full: false });
          const names = new Set(frozen.containers.map((c) => c.name));
          const ready = snapshot.containers.filter((c) => names.has((c.Name ?? '').replace(/^\//, '')) && c.State?.Running && c.State?.Health?.Status !== 'unhealthy' && c.State?.Health?.Status !== 'starting');
          status.readyReplicas = ready.length;
        }
      } catch (err) {
        status.readyReplicas = 0;
        set('Ready', false, 'ServerUnavailable', (err as Error).message);
        requeueAfterMs = 30_000;
      }
    }
    if (!facts.invalid && requeueAfterMs === undefined) {
      const upToDate = completed && latest?.id === completed.id && completed.generation === gen;
      const allReady = status.replicas !== undefined && status.readyReplicas === status.replicas;
      if (latest && !isTerminal(latest.phase)) set('Ready', false, 'Progressing', `deployment ${latest.id} is running`);
      else if (upToDate && allReady) set('Ready', true, 'Available', `${status.readyReplicas}/${status.replicas} replicas ready on ${completed!.server}`);
      else if (upToDate) set('Ready', false, 'ReplicasNotReady', `${status.readyReplicas ?? 0}/${status.replicas ?? 0} replicas ready`);
      else set('Ready', false, latest?.phase === 'failed' ? 'DeploymentFailed' : 'NotRolledOut', latest?.message ?? 'the declared spec is not rolled out');
    }
    status.conditions = conditions;
    if (JSON.stringify(stripTimes(previous)) !== JSON.stringify(stripTimes(status))) {
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

function frozenServer(record: DeploymentRecord): string {
  return (record.frozen as FrozenInput).target?.server ?? record.server;
}

function stripTimes(s: ServiceStatus): unknown {
  return { ...s, conditions: s.conditions?.map((c) => ({ ...c, lastTransitionTime: undefined })) };
}

function ignoreMissing(err: unknown) {
  if (!isDockerNotFound(err)) throw err;
}

function serviceKey(service: Service): string {
  return `${service.metadata.namespace}/${service.metadata.name}`;
}
