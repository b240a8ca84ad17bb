// Runs one deployment: plans the frozen input against what the host runs, walks the actions through
// the deployment's phases and steps, logs every decision, and ends the record completed, failed or
// canceled. On a failed rollout with autoRollback, the previous completed input is put back. The
// executor decides nothing itself: the planner planned, core/deploy/rollout-verdicts.ts judges, and
// the waits (replica-waits.ts), Swarm (swarm-rollout.ts) and builds (image-build.ts) act for it.
import { NEXT_SUFFIX, type FileSpec, type FrozenInput, type SecretKeyRef } from '../../core/deploy/container-spec.js';
import { containerCreateRequest, type CreateRequestContext } from '../../core/deploy/docker-request.js';
import { failureOf, planRefusal, planSummary, rollsBack, RolloutFailure } from '../../core/deploy/rollout-verdicts.js';
import { planRollout } from '../../core/plan/planner.js';
import { buildLiveState } from '../../core/plan/live-state.js';
import { describeStop } from '../../core/plan/describe-stop.js';
import type { Action } from '../../core/plan/types.js';
import type { DeploymentPhase, DeploymentRecord, StepName } from '../../store/deployments.js';
import { FencedWrite } from '../../store/fencing.js';
import { CreatedOnHost, portInUseMessage } from './half-done.js';
import { DeploymentJournal } from './deployment-journal.js';
import { buildImage } from './image-build.js';
import { waitCompleted, waitHealthy } from './replica-waits.js';
import { abortableSleep, ignoreNotFound, type RolloutDeps, type RolloutRun } from './rollout-run.js';
import { SwarmRollout } from './swarm-rollout.js';

export type { RolloutDeps } from './rollout-run.js';

export interface RolloutOutcome {
  phase: Extract<DeploymentPhase, 'completed' | 'failed' | 'canceled'>;
  reason?: string;
  message?: string;
}

class Canceled extends Error {}

/**
 * The reason a running deployment is aborted with when this replica no longer holds the shard of its
 * server: the record stays in flight, and the replica that takes the shard resumes it.
 */
export class ShardHandedOver extends Error {}

/** The reason a running deployment is aborted with when a newer one takes its place. */
export class DeploymentSuperseded extends Error {
  constructor(readonly by: string) {
    super(`superseded by deployment ${by}`);
  }
}

const STEP_OF: Record<Action['type'], StepName> = {
  build: 'build',
  pull: 'pull',
  'create-network': 'volume',
  'create-swarm-file': 'volume',
  'remove-swarm-file': 'start',
  'create-volume': 'volume',
  create: 'start',
  start: 'start',
  unpause: 'start',
  stop: 'start',
  remove: 'start',
  rename: 'start',
  adopt: 'start',
  'remove-network': 'start',
  'remove-volume': 'start',
  'wait-healthy': 'health',
  'wait-completed': 'health',
  'create-service': 'start',
  'update-service': 'start',
  'wait-service': 'health',
  'remove-service': 'start',
  fail: 'start',
};
const PREPARE_STEPS: readonly StepName[] = ['clone', 'build', 'pull'];
const FILES_DIR = '/var/lib/holdfast/files';

/** The containers an input names, under their final and their temporary (start-first) names. */
const containerNamesOf = (frozen: FrozenInput) => frozen.containers.flatMap((c) => [c.name, `${c.name}${NEXT_SUFFIX}`]);

export class Rollout implements RolloutRun {
  private currentStep: StepName | undefined;
  readonly sleep: NonNullable<RolloutDeps['sleep']>;
  readonly clock: NonNullable<RolloutDeps['clock']>;
  private readonly created = new CreatedOnHost();
  /** When each container this rollout started was started (its start call returned), by the clock. */
  private readonly started = new Map<string, number>();
  /** The record's phase, steps and log lines, written a step at a time. */
  private readonly journal: DeploymentJournal;
  /** Set when the server is a Swarm manager: image and build Services run as Swarm services there. */
  private readonly swarm: SwarmRollout | undefined;
  /** The input being rolled out: the record's, or the previous one while a rollback puts it back. */
  private input: FrozenInput;

  constructor(
    private readonly record: DeploymentRecord,
    readonly deps: RolloutDeps,
    private readonly previous?: DeploymentRecord,
  ) {
    this.sleep = deps.sleep ?? abortableSleep;
    this.clock = deps.clock ?? (() => new Date());
    this.journal = new DeploymentJournal(deps.deployments, record.id, this.clock);
    this.input = record.frozen;
    this.swarm = deps.swarm ? new SwarmRollout(this, deps.swarm.publishMode) : undefined;
  }

  get server(): string {
    return this.record.server;
  }

  now(): number {
    return this.clock().getTime();
  }

  frozen(): FrozenInput {
    return this.input;
  }

  startedAt(container: string): number | undefined {
    return this.started.get(container);
  }

  /** Runs to a terminal phase; throws only ShardHandedOver (a failure is recorded and returned). */
  async run(signal: AbortSignal): Promise<RolloutOutcome> {
    try {
      return await this.runToEnd(signal);
    } finally {
      this.journal.close();
    }
  }

  private async runToEnd(signal: AbortSignal): Promise<RolloutOutcome> {
    const id = this.record.id;
    const deadline = Date.parse(this.record.deadline);
    const deadlineSignal = AbortSignal.timeout(Math.max(1, deadline - this.now()));
    const combined = AbortSignal.any([signal, deadlineSignal]);
    let outcome: RolloutOutcome;
    try {
      await this.log('deploy', `deployment ${id} (revision ${this.record.revision}, generation ${this.record.generation}, trigger ${this.record.trigger}) on server ${this.record.server}`);
      const actions = await this.plan(this.input, combined);
      await this.execute(actions, combined);
      await this.finalize(combined);
      outcome = { phase: 'completed' };
    } catch (err) {
      if (signal.aborted && signal.reason instanceof ShardHandedOver) {
        await this.log(this.currentStep ?? 'deploy', `stopped on this replica: ${signal.reason.message}; the replica that takes the shard resumes it`);
        await this.journal.flush().catch(() => undefined);
        throw signal.reason;
      }
      // Another replica holds the shard now: nothing more is written or done here.
      if (err instanceof FencedWrite) throw new ShardHandedOver(err.message);
      outcome = await this.onFailure(err, combined, deadlineSignal.aborted);
    }
    // The end, its last log line and whatever still waited, in one write (none if the record had ended already).
    this.journal.phase(outcome.phase, { reason: outcome.reason, message: outcome.message });
    await this.log('finalize', `deployment ${outcome.phase}${outcome.reason ? `: ${outcome.reason}: ${outcome.message}` : ''}`);
    await this.journal.flush().catch(() => undefined);
    return outcome;
  }

  /** Plans `frozen` against what the host runs: Swarm services on a manager, containers elsewhere. */
  private async planFor(frozen: FrozenInput, signal: AbortSignal, verifyRunning = false): Promise<Action[]> {
    if (this.swarm) return this.swarm.plan(frozen, signal);
    // The containers this input names are read fresh: the cache may not have seen our last action yet.
    const snapshot = await this.deps.host.snapshot(signal, { full: true, fresh: containerNamesOf(frozen) });
    const live = buildLiveState(snapshot, frozen, { hashSecret: this.deps.hashSecret });
    return planRollout(frozen, live, { ignorePaths: this.deps.ignorePaths ?? [], verifyRunning });
  }

  private async plan(frozen: FrozenInput, signal: AbortSignal, verifyRunning = true): Promise<Action[]> {
    const actions = await this.planFor(frozen, signal, verifyRunning);
    await this.log('deploy', planSummary(actions));
    if (actions.some((a) => a.type === 'create')) {
      const building = new Set(actions.flatMap((a) => (a.type === 'build' ? [a.image] : [])));
      for (const c of frozen.components) {
        if (c.build && c.replicas > 0 && !building.has(c.image)) await this.log('build', `${c.name}: image ${c.image} is already on the server; not rebuilt`);
      }
    }
    return actions;
  }

  private async execute(actions: Action[], signal: AbortSignal): Promise<void> {
    const refusal = planRefusal(actions);
    if (refusal) {
      this.journal.phase('deploy');
      throw refusal;
    }
    this.journal.phase('prepare');
    const prepare = actions.filter((a) => PREPARE_STEPS.includes(STEP_OF[a.type]));
    const deploy = actions.filter((a) => !PREPARE_STEPS.includes(STEP_OF[a.type]));
    for (const action of prepare) await this.act(action, signal);
    this.journal.phase('deploy');
    // The last step ends with the start of finalize's.
    for (const action of deploy) await this.act(action, signal);
  }

  private async act(action: Action, signal: AbortSignal): Promise<void> {
    await this.checkCanceled();
    if (signal.aborted) throw signal.reason;
    // The host is changed only while the shard's lease is still this replica's.
    await this.deps.deployments.checkFencingToken();
    await this.enterStep(STEP_OF[action.type]);
    await this.log(STEP_OF[action.type], `${action.type} ${action.target}${action.type === 'stop' ? ` (${describeStop(action)})` : ''}: ${action.reason}`);
    const docker = this.deps.host.docker;
    const opts = { signal };
    switch (action.type) {
      case 'create-network':
        await docker.createNetwork({
          Name: action.network.name,
          Driver: action.network.driver ?? 'bridge',
          Labels: action.network.labels,
          Options: action.network.driverOpts,
          ...(action.network.internal ? { Internal: true } : {}),
          ...(action.network.attachable ? { Attachable: true } : {}),
          ...(action.network.enableIpv6 ? { EnableIPv6: true } : {}),
        }, opts);
        this.created.networks.add(action.network.name);
        return;
      case 'create-volume': {
        const v = action.volume as { name: string; driver?: string; driverOpts?: Record<string, string>; labels?: Record<string, string> };
        await docker.createVolume({ Name: v.name, Driver: v.driver, DriverOpts: v.driverOpts, Labels: v.labels }, opts);
        return;
      }
      case 'pull': {
        let last = '';
        await docker.pullImage(action.image, {
          onProgress: (p) => {
            const line = [p.id, p.status].filter(Boolean).join(': ');
            if (line && line !== last && !p.progressDetail?.current) {
              last = line;
              void this.log('pull', line);
            }
          },
        }, opts).catch((err: Error) => {
          throw new RolloutFailure('PullFailed', `cannot pull ${action.image}: ${err.message}`);
        });
        return;
      }
      case 'build':
        await buildImage(this, action, signal);
        return;
      case 'create': {
        const ctx: CreateRequestContext = {
          secretValue: await this.secretResolver(),
          fileHostPath: (file) => `${FILES_DIR}/${file.contentHash.replace(/^sha256:/, '')}`,
        };
        await this.placeFiles(action.container, signal);
        const request = containerCreateRequest(action.container, ctx);
        // The body holds secret values: it goes to the host and nowhere else.
        await docker.createContainer(request.name, request.body, { ...opts, platform: request.platform });
        this.created.containers.add(request.name);
        for (const c of request.connect) await docker.connectNetwork(c.network, request.name, c.endpoint, opts);
        return;
      }
      case 'start':
        await docker.startContainer(action.containerId ?? action.target, opts).catch(async (err: unknown) => {
          const inUse = await portInUseMessage(docker, err, action.target, this.record.server);
          throw inUse ? new RolloutFailure('PortInUse', inUse) : err;
        });
        this.started.set(action.target, this.now());
        return;
      case 'unpause':
        await docker.unpauseContainer(action.containerId, opts);
        return;
      case 'stop':
        await this.leaveNetworks(action.containerId ?? action.target, signal);
        await ignoreNotFound(docker.stopContainer(action.containerId ?? action.target, { timeoutSeconds: action.timeoutSeconds }, opts));
        return;
      case 'remove':
        await ignoreNotFound(docker.removeContainer(action.containerId ?? action.target, { force: true }, opts));
        return;
      case 'rename':
        await docker.renameContainer(action.containerId ?? action.target, action.to, opts);
        return;
      case 'adopt':
        // Labels cannot change on a container: adoption is recorded in the log only.
        return;
      case 'remove-network':
        if (this.swarm) await this.swarm.removeNetwork(action.networkId, signal);
        else await ignoreNotFound(docker.removeNetwork(action.networkId, opts));
        return;
      case 'remove-volume':
        await ignoreNotFound(docker.removeVolume(action.target, {}, opts));
        return;
      case 'wait-healthy':
        await waitHealthy(this, action, signal);
        return;
      case 'wait-completed':
        await waitCompleted(this, action, signal);
        return;
      case 'create-swarm-file': {
        // The content (a secret's value) goes to the manager and nowhere else.
        const created = await docker.createSwarmFile(action.file.kind, action.file.name, action.file.labels, await this.fileContent(action.file.file), opts);
        await this.log('volume', `created Swarm ${action.file.kind} ${action.file.name} (${created.ID.slice(0, 12)})`);
        return;
      }
      case 'remove-swarm-file':
        await ignoreNotFound(docker.removeSwarmFile(action.kind, action.objectId, opts));
        return;
      case 'create-service':
      case 'update-service':
        await this.swarmOf(action).createOrUpdate(action, signal);
        return;
      case 'wait-service':
        await this.swarmOf(action).waitService(action.service, action.deadlineSeconds, signal);
        return;
      case 'remove-service':
        await ignoreNotFound(docker.removeService(action.serviceId, opts));
        return;
      case 'fail':
        throw new RolloutFailure(action.failure ?? 'PlanFailed', `${action.target}: ${action.reason}`);
    }
  }

  /** The Swarm side, which only a manager's plan asks for. */
  private swarmOf(action: Action): SwarmRollout {
    if (!this.swarm) throw new RolloutFailure('PlanFailed', `${action.type} ${action.target}: server ${this.record.server} is not a Swarm manager`);
    return this.swarm;
  }

  async secretResolver(): Promise<(ref: SecretKeyRef) => string> {
    const secrets = new Map<string, string>();
    for (const ref of this.input.secretRefs) secrets.set(`${ref.name}/${ref.key}`, await this.deps.secretValue(ref));
    return (ref) => {
      const v = secrets.get(`${ref.name}/${ref.key}`);
      if (v === undefined) throw new RolloutFailure('SecretNotFound', `secret ${ref.name} has no key ${ref.key}`);
      return v;
    };
  }

  /**
   * Takes a container off its user-defined networks before it stops, so their DNS stops naming it at
   * once: during a start-first replacement new requests go only to the new container, instead of
   * to one that is shutting down.
   */
  private async leaveNetworks(container: string, signal: AbortSignal) {
    const docker = this.deps.host.docker;
    const inspect = await docker.inspectContainer(container, { signal }).catch(() => undefined);
    if (!inspect?.State?.Running) return;
    const networks = Object.keys(inspect.NetworkSettings?.Networks ?? {}).filter((n) => !['bridge', 'host', 'none'].includes(n));
    for (const network of networks) await ignoreNotFound(docker.disconnectNetwork(network, container, false, { signal }));
  }

  /** Files a container mounts (compose secrets and configs) go to a content-addressed path on the host. */
  private async placeFiles(container: { files?: FileSpec[] }, signal: AbortSignal) {
    for (const file of container.files ?? []) {
      await this.deps.host.writeFile(`${FILES_DIR}/${file.contentHash.replace(/^sha256:/, '')}`, await this.fileContent(file), signal);
    }
  }

  /** The content of a file a container mounts: carried in the frozen input, or a Secret's value read now. */
  private async fileContent(file: FileSpec): Promise<Buffer> {
    if ('contentBase64' in file.source) return Buffer.from(file.source.contentBase64, 'base64');
    if ('secretRef' in file.source) return Buffer.from(await this.deps.secretValue(file.source.secretRef));
    throw new RolloutFailure('FileNotAvailable', `the content of ${file.name} (${file.source.path} beside the compose file) never reached the control plane: declare it as a Holdfast Secret and deploy again`);
  }

  /** The host must now run exactly the frozen input: plan again, expect nothing to do. The write that completes the deployment ends the step. */
  private async finalize(signal: AbortSignal) {
    this.journal.phase('finalize');
    await this.enterStep('finalize');
    const remaining = (await this.plan(this.input, signal, false)).filter((a) => a.type !== 'adopt');
    if (remaining.length) {
      throw new RolloutFailure('NotConverged', `after the rollout the host still differs: ${remaining.map((a) => `${a.type} ${a.target}`).join(', ')}`);
    }
  }

  private async onFailure(err: unknown, signal: AbortSignal, deadlinePassed: boolean): Promise<RolloutOutcome> {
    if (err instanceof Canceled) {
      await this.closeStep('failed', 'canceled');
      return { phase: 'canceled', reason: 'Canceled', message: 'canceled on request' };
    }
    if (signal.aborted && signal.reason instanceof DeploymentSuperseded) {
      await this.closeStep('failed', signal.reason.message);
      await this.log('deploy', `canceled: ${signal.reason.message}, which rolls out a newer generation`);
      return { phase: 'canceled', reason: 'Superseded', message: `${signal.reason.message}, which rolls out a newer generation` };
    }
    const failure = failureOf(err, { deadlinePassed, deadline: this.record.deadline, server: this.record.server });
    const step = this.currentStep;
    await this.closeStep('failed', failure.message);
    await this.log(step ?? 'deploy', `failed: ${failure.reason}: ${failure.message}`);
    await this.created.removeUnstarted(this.deps.host.docker, (line) => this.log(step ?? 'deploy', line));
    let message = step ? `step ${step}: ${failure.message}` : failure.message;
    if (this.previous && rollsBack({ autoRollback: !!this.input.update.autoRollback, hasPrevious: true, deadlinePassed, aborted: signal.aborted })) {
      message += await this.rollBack(this.previous);
    }
    return { phase: 'failed', reason: failure.reason, message };
  }

  /** Puts the previous completed input back; returns a sentence for the failure message. */
  private async rollBack(previous: DeploymentRecord): Promise<string> {
    const frozen = previous.frozen;
    await this.log('deploy', `rolling back to revision ${previous.revision}`);
    try {
      const signal = AbortSignal.timeout(Math.max(30_000, frozen.update.healthDeadlineSeconds * 2000));
      const bySwarm = this.swarm ? await this.swarm.rollBack(signal) : false;
      let actions: Action[];
      if (this.swarm) actions = await this.swarm.plan(frozen, signal);
      else {
        const snapshot = await this.deps.host.snapshot(signal, { full: true, fresh: containerNamesOf(frozen) });
        actions = planRollout(frozen, buildLiveState(snapshot, frozen, { hashSecret: this.deps.hashSecret }));
      }
      const rollingOut = this.input;
      this.input = frozen;
      try {
        for (const action of actions) {
          await this.log('deploy', `rollback: ${action.type} ${action.target}: ${action.reason}`);
          await this.act(action, signal);
        }
      } finally {
        this.input = rollingOut;
      }
      const how = bySwarm ? " through Swarm's rollback" : '';
      await this.log('deploy', `rolled back to revision ${previous.revision}${how}`);
      return `; rolled back to revision ${previous.revision}${how}`;
    } catch (err) {
      await this.log('deploy', `rollback to revision ${previous.revision} failed: ${(err as Error).message}`);
      return `; rollback to revision ${previous.revision} failed too: ${(err as Error).message}`;
    }
  }

  async enterStep(step: StepName) {
    if (this.currentStep === step) return;
    if (this.currentStep) this.journal.step(this.currentStep, 'succeeded');
    this.currentStep = step;
    this.journal.step(step, 'running');
    await this.journal.flush();
  }

  private async closeStep(status: 'succeeded' | 'failed', message?: string) {
    if (!this.currentStep) return;
    this.journal.step(this.currentStep, status, message);
    this.currentStep = undefined;
    await this.journal.flush();
  }

  async checkCanceled() {
    if (await this.deps.deployments.cancelRequested(this.record.id)) throw new Canceled();
  }

  async log(step: string, line: string) {
    await this.journal.log(step, line);
  }
}
