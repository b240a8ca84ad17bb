// Owns the deployments that run: one per Service at a time, in the background, each with its abort
// signal. It queues deployment records, launches them, resumes the ones a restart left in flight
// (or ends them past their deadline), supersedes a running one with a newer one, and stops them all
// on shutdown. What a deployment does is the rollout's; the reconcile decides when one starts.
import { HoldfastError } from '../../core/errors.js';
import type { FrozenInput } from '../../core/deploy/container-spec.js';
import type { Service } from '../../core/schema/types.generated.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { isTerminal } from '../../core/deploy/deployment-record.js';
import type { DeploymentRecord, DeploymentStore, DeploymentTrigger } from '../../store/deployments.js';
import type { EventRecorder } from '../events.js';
import { FencedWrite } from '../../store/fencing.js';
import { DeploymentSuperseded, ShardHandedOver, type RolloutOutcome } from './rollout.js';

/** Extra time a deployment gets beyond its health deadlines, for pulls and the rest. */
const DEPLOYMENT_SLACK_MS = 10 * 60_000;

interface Running {
  id: string;
  abort: AbortController;
  done: Promise<void>;
  /** The server it deploys to (unknown while it is being queued). */
  server?: string;
  /** The deployment that supersedes this one, once queued. */
  supersededBy?: string;
}

export interface DeploymentRunnerDeps {
  deployments: DeploymentStore;
  events: EventRecorder;
  log: Logger;
  metrics?: Metrics;
  /** Runs one deployment to its end (the rollout); throws only when the host cannot be reached at all. */
  run(service: Service, record: DeploymentRecord, signal: AbortSignal): Promise<RolloutOutcome>;
  /** Wakes the Service's reconcile when a deployment ends. */
  enqueue(key: string): void;
  clock: () => Date;
}

export class DeploymentRunner {
  private readonly running = new Map<string, Running>();

  constructor(private readonly deps: DeploymentRunnerDeps) {}

  /** The id of the deployment running for the Service, and the one that supersedes it if any. */
  runningFor(service: Service): { id: string; supersededBy?: string } | undefined {
    const r = this.running.get(service.metadata.uid!);
    return r && { id: r.id, ...(r.supersededBy ? { supersededBy: r.supersededBy } : {}) };
  }

  /** A Conflict while a deployment of the Service runs. */
  refuseWhileRunning(service: Service): void {
    const running = this.running.get(service.metadata.uid!);
    if (running) throw new HoldfastError('Conflict', `deployment ${running.id} of service ${service.metadata.namespace}/${service.metadata.name} is still running; wait for it or cancel it`);
  }

  /**
   * Queues a deployment of `frozen` and runs it; refused while one runs. `beforeLaunch` runs between
   * the two: when it throws, the record stays queued, for the Service's next reconcile to resume.
   */
  async start(service: Service, frozen: FrozenInput, trigger: DeploymentTrigger, actor: string, opts: { rollbackOf?: number; beforeLaunch?(record: DeploymentRecord): Promise<void> } = {}): Promise<DeploymentRecord> {
    const uid = service.metadata.uid!;
    // Claim the service before the first await: two starts in the same tick (a heal and a new
    // generation, say) must not both create a deployment.
    this.refuseWhileRunning(service);
    let release!: () => void;
    const claimed: Running = { id: '(queued)', abort: new AbortController(), done: new Promise<void>((ok) => (release = ok)) };
    this.running.set(uid, claimed);
    let record: DeploymentRecord;
    try {
      record = await this.queue(service, frozen, trigger, actor, opts.rollbackOf);
      await opts.beforeLaunch?.(record);
    } catch (err) {
      this.running.delete(uid);
      throw err;
    } finally {
      release();
    }
    this.launch(service, record);
    return record;
  }

  /**
   * Queues a deployment that the Service's reconcile then runs (an explicit sync or rollback): the
   * replica holding the Service's shard runs it under the shard's fencing token, whichever replica
   * took the request. The record's DeploymentQueued Event reaches every replica through the change
   * feed and wakes the Service there; `enqueue` wakes it here at once. Refused while the Service's
   * newest record is in flight, here or on another replica (the store decides, not this replica's
   * memory: a deployment that has just completed may still be ending here).
   */
  async request(service: Service, frozen: FrozenInput, actor: string, rollbackOf?: number): Promise<DeploymentRecord> {
    const latest = await this.deps.deployments.latest(service.metadata.uid!);
    if (latest && !isTerminal(latest.phase)) {
      throw new HoldfastError('Conflict', `deployment ${latest.id} of service ${keyOf(service)} is still ${latest.phase}; wait for it or cancel it`);
    }
    const record = await this.queue(service, frozen, 'user', actor, rollbackOf);
    this.deps.enqueue(keyOf(service));
    return record;
  }

  /**
   * A newer generation was applied while a deployment of an older one runs: the newer one is queued
   * and the running one canceled (Superseded, naming it); it starts once the old one has stopped.
   */
  async supersede(service: Service, frozen: FrozenInput, actor: string): Promise<DeploymentRecord | undefined> {
    const running = this.running.get(service.metadata.uid!);
    if (!running || running.supersededBy) return undefined;
    running.supersededBy = '(queued)';
    const record = await this.queue(service, frozen, 'api', actor, undefined, running.id);
    running.supersededBy = record.id;
    running.abort.abort(new DeploymentSuperseded(record.id));
    return record;
  }

  /** Takes up a deployment in flight that nothing here runs (after a restart, or queued behind a superseded one). */
  async resume(service: Service, record: DeploymentRecord): Promise<void> {
    if (this.running.has(service.metadata.uid!)) return;
    if (Date.parse(record.deadline) <= this.deps.clock().getTime()) {
      await this.deps.deployments.setPhase(record.id, 'failed', { reason: 'DeadlineExceeded', message: 'the control plane restarted after the deployment deadline had passed' });
      await this.deps.events.record(service, 'Warning', 'DeploymentFailed', `deployment ${record.id} ended: the control plane restarted after its deadline`);
      return;
    }
    // A deployment queued behind one it superseded starts now; any other was cut short by a restart.
    if (record.startedAt) {
      await this.deps.deployments.appendLog(record.id, 'deploy', ['resumed after a control plane restart']);
      this.deps.log.info({ service: keyOf(service), deployment: record.id, revision: record.revision }, 'deployment resumed after a restart');
    }
    this.launch(service, record);
  }

  /** Aborts the Service's running deployment (it is being deleted). */
  abort(service: Service, reason: Error): void {
    this.running.get(service.metadata.uid!)?.abort.abort(reason);
  }

  /** Stops the deployments running on a server whose shard this replica no longer holds; they stay in flight. */
  handOver(server: string, reason: ShardHandedOver): void {
    for (const r of this.running.values()) if (r.server === server) r.abort.abort(reason);
  }

  /** Stops every running deployment (shutdown); their records stay in flight and resume on next start. */
  async stop(): Promise<void> {
    for (const r of this.running.values()) r.abort.abort(new Error('control plane shutting down'));
    await Promise.allSettled([...this.running.values()].map((r) => r.done));
  }

  /** Creates the deployment record and says so in an Event. */
  private async queue(service: Service, frozen: FrozenInput, trigger: DeploymentTrigger, actor: string, rollbackOf?: number, supersedes?: string): Promise<DeploymentRecord> {
    const healthMs = frozen.update.healthDeadlineSeconds * 1000 * Math.max(1, frozen.containers.length);
    const record = await this.deps.deployments.create({
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
    const detail = [rollbackOf ? `rolling back to revision ${rollbackOf}` : '', supersedes ? `superseding deployment ${supersedes}` : ''].filter(Boolean).join(', ');
    await this.deps.events.record(service, 'Normal', 'DeploymentQueued', `deployment ${record.id} (revision ${record.revision}${detail ? `, ${detail}` : ''}) queued by ${actor}`);
    return record;
  }

  /** Runs a deployment in the background; the Service is reconciled again when it ends. */
  private launch(service: Service, record: DeploymentRecord): void {
    const uid = service.metadata.uid!;
    const key = keyOf(service);
    const log = this.deps.log.child({ service: key, deployment: record.id });
    const abort = new AbortController();
    const done = (async () => {
      log.info({ revision: record.revision, generation: record.generation, trigger: record.trigger, server: record.server }, 'deployment started');
      try {
        const outcome = await this.deps.run(service, record, abort.signal);
        this.deps.metrics?.deployments.inc({ outcome: outcome.phase });
        if (outcome.phase === 'completed') log.info('deployment completed');
        else log.warn({ phase: outcome.phase, reason: outcome.reason, message: outcome.message }, `deployment ${outcome.phase}`);
        const type = outcome.phase === 'completed' ? 'Normal' : 'Warning';
        const reason = outcome.phase === 'completed' ? 'DeploymentCompleted' : outcome.phase === 'canceled' ? 'DeploymentCanceled' : 'DeploymentFailed';
        const why = [outcome.phase === 'failed' ? outcome.reason : undefined, outcome.message].filter(Boolean).join(': ');
        await this.deps.events.record(service, type, reason, `deployment ${record.id} (revision ${record.revision}) ${outcome.phase}${why ? `: ${why}` : ''}`);
      } catch (err) {
        // Stopped here for the shard's next holder, or refused by the store because it holds the shard already.
        if (err instanceof ShardHandedOver || err instanceof FencedWrite) {
          log.info({ reason: err.message }, 'deployment handed over');
          return;
        }
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
    this.running.set(uid, { id: record.id, abort, done, server: record.server });
  }
}

function keyOf(service: Service): string {
  return `${service.metadata.namespace}/${service.metadata.name}`;
}
