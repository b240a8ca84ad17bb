// Runs one deployment: plans the frozen input against what the host runs, walks the actions through
// the deployment's phases and steps, logs every decision, and ends the record completed, failed or
// canceled. On a failed rollout with autoRollback, the previous completed input is put back. The
// executor decides nothing itself: the planner did.
import type { Readable } from 'node:stream';
import { NEXT_SUFFIX, type FileSpec, type ReadinessProbe, type SecretKeyRef, type FrozenInput } from '../../core/deploy/container-spec.js';
import { containerCreateRequest, type CreateRequestContext } from '../../core/deploy/docker-request.js';
import { desiredTasks, swarmServiceName, swarmServiceSpec, type PublishMode, type SwarmServicePlan } from '../../core/deploy/swarm-spec.js';
import { planRollout } from '../../core/plan/planner.js';
import { buildLiveState } from '../../core/plan/live-state.js';
import { describeStop } from '../../core/plan/describe-stop.js';
import { describeTaskFailure, liveSwarmFile, liveSwarmService, liveSwarmTask, planSwarmRollout, taskProgress, type LiveSwarmFile, type LiveSwarmTask } from '../../core/plan/swarm.js';
import type { Action } from '../../core/plan/types.js';
import { containerState } from '../../core/deploy/normalise-live.js';
import { replicaHealth } from '../../core/health/index.js';
import { diffSwarmAgainstFrozen, swarmServicePath, type RawSwarmServiceSpec } from '../../core/drift/swarm.js';
import { isDockerNotFound } from '../../hosts/errors.js';
import type { DeploymentPhase, DeploymentRecord, DeploymentStore, StepName } from '../../store/deployments.js';
import { FencedWrite } from '../../store/fencing.js';
import type { HostAccess } from './host-access.js';
import { contextTarAt } from './git-source.js';
import { CreatedOnHost, portInUseMessage } from './half-done.js';
import { DeploymentJournal } from './deployment-journal.js';
import { containerAddress, probeOnce, type ProbeResult } from './readiness-probe.js';
import { TaskReadiness, type SwarmTaskProbeDeps } from './swarm-task-probes.js';

export interface RolloutDeps {
  deployments: DeploymentStore;
  host: HostAccess;
  /** The real value of a Secret key, for the create request only; never logged. */
  secretValue(ref: SecretKeyRef): Promise<string>;
  /** The keyed hash secret values are frozen with, so live secret env compares by hash. */
  hashSecret(value: string): string;
  /** The Service's driftPolicy.ignoreDifferences paths: differences there never force a replacement. */
  ignorePaths?: readonly string[];
  /** A build context tar `holdfast apply` uploaded, as a stream; undefined when the store does not hold it. */
  buildContext?(namespace: string, digest: string): Promise<{ size: number; stream: Readable } | undefined>;
  /**
   * Set when the server is a Swarm manager: image and build Services run as Swarm services there,
   * their ports published in this mode (host when the manager has no IPVS). Compose Services stay
   * containers on the manager's own engine.
   */
  swarm?: {
    publishMode: PublishMode;
    /** Where the readiness probes of tasks run from; without it an http/tcp probe is not run against tasks. */
    taskProbes?: SwarmTaskProbeDeps;
  };
  /** Each readiness probe result, so the continuous prober starts from what the rollout saw. */
  onProbe?(container: string, startedAt: string | undefined, probe: ReadinessProbe, result: ProbeResult): void;
  /** What deadlines and stability waits measure time by (the service controller's clock). */
  clock?: () => Date;
  sleep?: (ms: number, signal?: AbortSignal) => Promise<void>;
}

export interface RolloutOutcome {
  phase: Extract<DeploymentPhase, 'completed' | 'failed' | 'canceled'>;
  reason?: string;
  message?: string;
}

/** A failure with a CamelCase reason, as conditions and deployment records carry. */
export class RolloutFailure extends Error {
  constructor(
    readonly reason: string,
    message: string,
  ) {
    super(message);
  }
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
/** How often the tasks of a Swarm service are looked at while waiting for them. */
const TASK_POLL_MS = 1000;
/** How long an overlay network may stay in use by the tasks of services that left it. */
const NETWORK_RELEASE_MS = 60_000;
/** A wait that goes on says where it stands at least this often. */
const PROGRESS_EVERY_MS = 5000;
/** How long a container without a probe or healthcheck must stay up, unrestarted, to count as started. */
const RUNNING_STABLE_MS = 2000;
const PREPARE_STEPS: readonly StepName[] = ['clone', 'build', 'pull'];
const FILES_DIR = '/var/lib/holdfast/files';

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((ok, fail) => {
    const onAbort = () => {
      clearTimeout(t);
      fail(signal!.reason);
    };
    const t = setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      ok();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });

export class Rollout {
  private currentStep: StepName | undefined;
  private readonly sleep: NonNullable<RolloutDeps['sleep']>;
  private readonly clock: NonNullable<RolloutDeps['clock']>;
  /** Per Swarm service: the tasks that existed before this rollout changed it (their failures are history). */
  private readonly tasksBefore = new Map<string, Set<string>>();
  /** Swarm services this rollout updated (name → ID): a rollback asks Swarm for their previous spec. */
  private readonly swarmUpdated = new Map<string, string>();
  private readonly created = new CreatedOnHost();
  /** The record's phase, steps and log lines, written a step at a time. */
  private readonly journal: DeploymentJournal;

  constructor(
    private readonly record: DeploymentRecord,
    private readonly deps: RolloutDeps,
    private readonly previous?: DeploymentRecord,
  ) {
    this.sleep = deps.sleep ?? defaultSleep;
    this.clock = deps.clock ?? (() => new Date());
    this.journal = new DeploymentJournal(deps.deployments, record.id, this.clock);
  }

  /** Milliseconds since the epoch by the injected clock. */
  private now(): number {
    return this.clock().getTime();
  }

  private get frozen(): FrozenInput {
    return this.record.frozen as FrozenInput;
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
      const actions = await this.plan(this.frozen, combined);
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

  /** How this server publishes Swarm services' ports; undefined when it is not a Swarm manager. */
  private swarmMode(): PublishMode | undefined {
    return this.deps.swarm?.publishMode;
  }

  /** Plans `frozen` against what the host runs: Swarm services on a manager, containers elsewhere. */
  private async planFor(frozen: FrozenInput, signal: AbortSignal, verifyRunning = false): Promise<Action[]> {
    const publishMode = this.swarmMode();
    if (publishMode) {
      const docker = this.deps.host.docker;
      // The name filter matches prefixes: the Service's own service, or every service of its stack
      // (those no longer declared too); the planner compares whole names and owners.
      const raw = await docker.listServices({ name: [swarmServiceName(frozen)] }, { signal });
      const services = raw.map((s) => liveSwarmService(s));
      // Fields changed on the manager behind Holdfast's back (the spec-hash label cannot tell).
      const drift = diffSwarmAgainstFrozen(frozen, raw as Array<{ Spec?: RawSwarmServiceSpec }>, { publishMode, hashSecret: this.deps.hashSecret, ignorePaths: this.deps.ignorePaths ?? [] });
      const fieldDrift: Record<string, string[]> = {};
      for (const s of services) {
        const base = `${swarmServicePath(s.name)}.`;
        fieldDrift[s.name] = drift.filter((e) => e.path.startsWith(base)).map((e) => e.path.slice(base.length));
      }
      const tasks: LiveSwarmTask[] = [];
      for (const s of services) tasks.push(...(await docker.listTasks({ service: [s.id] }, { signal })).map((t) => liveSwarmTask(t as Parameters<typeof liveSwarmTask>[0])));
      const snapshot = await this.deps.host.snapshot(signal, { full: true });
      const live = buildLiveState(snapshot, undefined, { hashSecret: this.deps.hashSecret });
      const nodes = await docker.listNodes(undefined, { signal });
      const files = await this.swarmFilesOf(swarmServiceName(frozen), signal);
      return planSwarmRollout(frozen, { services, tasks, nodes, containers: live.containers, networks: live.networks, files, images: live.images }, { publishMode, fieldDrift });
    }
    // The containers this input names are read fresh: the cache may not have seen our last action yet.
    const fresh = frozen.containers.flatMap((c) => [c.name, `${c.name}${NEXT_SUFFIX}`]);
    const snapshot = await this.deps.host.snapshot(signal, { full: true, fresh });
    const live = buildLiveState(snapshot, frozen, { hashSecret: this.deps.hashSecret });
    return planRollout(frozen, live, { ignorePaths: this.deps.ignorePaths ?? [], verifyRunning });
  }

  /** The swarm's configs and secrets whose names start with `prefix` (the Service's own all do). */
  private async swarmFilesOf(prefix: string, signal: AbortSignal): Promise<LiveSwarmFile[]> {
    const out: LiveSwarmFile[] = [];
    for (const kind of ['config', 'secret'] as const) {
      out.push(...(await this.deps.host.docker.listSwarmFiles(kind, { name: [prefix] }, { signal })).map((f) => liveSwarmFile(kind, f)));
    }
    return out;
  }

  private async plan(frozen: FrozenInput, signal: AbortSignal, verifyRunning = true): Promise<Action[]> {
    const actions = await this.planFor(frozen, signal, verifyRunning);
    const checks = actions.filter((a) => a.type === 'wait-healthy' || a.type === 'wait-completed').length;
    const summary =
      actions.length === 0 ? 'the host already runs this input: nothing to do'
      : checks === actions.length ? `the host already runs this input: ${checks} replica(s) to check before the rollout completes`
      : `plan: ${actions.length} action(s)`;
    await this.log('deploy', summary);
    if (actions.some((a) => a.type === 'create')) {
      const building = new Set(actions.flatMap((a) => (a.type === 'build' ? [a.image] : [])));
      for (const c of frozen.components) {
        if (c.build && c.replicas > 0 && !building.has(c.image)) await this.log('build', `${c.name}: image ${c.image} is already on the server; not rebuilt`);
      }
    }
    return actions;
  }

  private async execute(actions: Action[], signal: AbortSignal): Promise<void> {
    const fails = actions.filter((a) => a.type === 'fail');
    if (fails.length) {
      this.phase('deploy');
      const failures = new Set(fails.map((f) => f.failure ?? 'PlanFailed'));
      throw new RolloutFailure(failures.size === 1 ? [...failures][0] : 'PlanFailed', fails.map((f) => `${f.target}: ${f.reason}`).join('; '));
    }
    this.phase('prepare');
    const prepare = actions.filter((a) => PREPARE_STEPS.includes(STEP_OF[a.type]));
    const deploy = actions.filter((a) => !PREPARE_STEPS.includes(STEP_OF[a.type]));
    for (const action of prepare) await this.act(action, signal);
    this.phase('deploy');
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
        await this.build(action, signal);
        return;
      case 'create': {
        const secrets = new Map<string, string>();
        for (const ref of this.frozen.secretRefs) secrets.set(`${ref.name}/${ref.key}`, await this.deps.secretValue(ref));
        const ctx: CreateRequestContext = {
          secretValue: (ref) => {
            const v = secrets.get(`${ref.name}/${ref.key}`);
            if (v === undefined) throw new RolloutFailure('SecretNotFound', `secret ${ref.name} has no key ${ref.key}`);
            return v;
          },
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
        if (this.swarmMode()) await this.removeSwarmNetwork(action, signal);
        else await ignoreNotFound(docker.removeNetwork(action.networkId, opts));
        return;
      case 'remove-volume':
        await ignoreNotFound(docker.removeVolume(action.target, {}, opts));
        return;
      case 'wait-healthy':
        await this.waitHealthy(action, signal);
        return;
      case 'wait-completed':
        await this.waitCompleted(action, signal);
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
      case 'update-service': {
        const files = action.service.files.length > 0 ? await this.swarmFilesOf(swarmServiceName(this.frozen), signal) : [];
        const fileIds = new Map(files.map((f) => [f.name, f.id]));
        const spec = swarmServiceSpec(action.service, await this.secretResolver(), fileIds);
        // The spec holds secret values: it goes to the manager and nowhere else.
        if (action.type === 'create-service') {
          this.tasksBefore.set(action.service.name, new Set());
          const created = await docker.createService(spec, opts).catch((err: Error) => {
            throw new RolloutFailure('ServiceCreateFailed', `cannot create Swarm service ${action.target}: ${err.message}`);
          });
          await this.log('start', `created Swarm service ${action.target} (${created.ID.slice(0, 12)})`);
          for (const w of created.Warnings ?? []) await this.log('start', `warning: ${w}`);
        } else {
          const before = await docker.listTasks({ service: [action.serviceId] }, opts);
          this.tasksBefore.set(action.service.name, new Set(before.map((t) => t.ID)));
          // Swarm bumps the version itself while it runs an update: the planned one may be stale by
          // now, so the update names the current one, and is tried again when it moved meanwhile.
          let version = action.version;
          for (let attempt = 1; ; attempt++) {
            const current = await docker.inspectService(action.serviceId, opts).catch(() => undefined);
            version = current?.Version?.Index ?? version;
            try {
              const updated = await docker.updateService(action.serviceId, version, spec, opts);
              this.swarmUpdated.set(action.service.name, action.serviceId);
              for (const w of updated?.Warnings ?? []) await this.log('start', `warning: ${w}`);
              break;
            } catch (err) {
              if (attempt < 5 && /out of sequence/i.test((err as Error).message)) continue;
              throw new RolloutFailure('ServiceUpdateFailed', `cannot update Swarm service ${action.target}: ${(err as Error).message}`);
            }
          }
        }
        return;
      }
      case 'wait-service':
        await this.waitService(action.service, action.deadlineSeconds, signal);
        return;
      case 'remove-service':
        await ignoreNotFound(docker.removeService(action.serviceId, opts));
        return;
      case 'fail':
        throw new RolloutFailure(action.failure ?? 'PlanFailed', `${action.target}: ${action.reason}`);
    }
  }

  /**
   * Removes an overlay network once the tasks of the services that left it are gone: Swarm takes
   * them away in its own time, and refuses the removal while one is still attached.
   */
  private async removeSwarmNetwork(action: Extract<Action, { type: 'remove-network' }>, signal: AbortSignal) {
    const until = this.now() + NETWORK_RELEASE_MS;
    for (;;) {
      try {
        await ignoreNotFound(this.deps.host.docker.removeNetwork(action.networkId, { signal }));
        return;
      } catch (err) {
        if (!/in use|active endpoints/i.test((err as Error).message) || this.now() >= until) throw err;
      }
      await this.sleep(TASK_POLL_MS, signal);
    }
  }

  /** Resolves every Secret key the frozen input names, once; a key that is not there fails the rollout. */
  private async secretResolver(): Promise<(ref: SecretKeyRef) => string> {
    const secrets = new Map<string, string>();
    for (const ref of this.frozen.secretRefs) secrets.set(`${ref.name}/${ref.key}`, await this.deps.secretValue(ref));
    return (ref) => {
      const v = secrets.get(`${ref.name}/${ref.key}`);
      if (v === undefined) throw new RolloutFailure('SecretNotFound', `secret ${ref.name} has no key ${ref.key}`);
      return v;
    };
  }

  /**
   * Waits until the Swarm service runs its declared number of tasks of this spec (a task with a
   * healthcheck reaches running only once Docker finds it healthy) and none of the previous one,
   * and, with an http/tcp readiness probe, until each running task of this spec passed it, probed
   * from the node that runs it (see swarm-task-probes.ts; a task that cannot be probed there counts
   * as ready once running, and the log says why). A task of this spec that fails, or an update Swarm
   * paused, fails the rollout with the tasks' states and errors; tasks still unready at the deadline
   * fail it naming each task, its node and its last probe.
   */
  private async waitService(plan: SwarmServicePlan, deadlineSeconds: number, signal: AbortSignal) {
    const docker = this.deps.host.docker;
    const until = this.now() + deadlineSeconds * 1000;
    const nodes = await docker.listNodes(undefined, { signal }).catch(() => []);
    const nodeNames = new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID.slice(0, 12)]));
    const desired = desiredTasks(plan, nodes);
    const readiness = this.frozen.components.find((c) => c.name === plan.component)?.readiness;
    const taskProbes = readiness && this.deps.swarm?.taskProbes ? new TaskReadiness(this.deps.swarm.taskProbes, plan, readiness, nodes, this.clock, (line) => this.log('health', `${plan.name}: ${line}`), this.deps.onProbe) : undefined;
    let last = '';
    for (;;) {
      await this.checkCanceled();
      const raw = (await docker.listServices({ name: [plan.name] }, { signal })).find((s) => s.Spec?.Name === plan.name);
      if (!raw) throw new RolloutFailure('ServiceGone', `Swarm service ${plan.name} disappeared during the rollout`);
      const service = liveSwarmService(raw);
      const tasks = (await docker.listTasks({ service: [service.id] }, { signal })).map((t) => liveSwarmTask(t as Parameters<typeof liveSwarmTask>[0]));
      const before = this.tasksBefore.get(plan.name) ?? new Set(tasks.filter((t) => t.state !== 'running').map((t) => t.id));
      this.tasksBefore.set(plan.name, before);
      const progress = taskProgress(tasks.filter((t) => !before.has(t.id) || t.state === 'running'), service.id, plan.taskHash, desired, nodeNames);
      const running = tasks.filter((t) => t.serviceId === service.id && t.taskHash === plan.taskHash && t.desiredState === 'running' && t.state === 'running');
      const unready = taskProbes ? await taskProbes.round(running, signal) : [];
      const summary = taskProbes && running.length > 0 ? `${progress.summary}; ${running.length - unready.length}/${running.length} running task(s) ready` : progress.summary;
      if (summary !== last) await this.log('health', `${plan.name}: ${summary}`);
      last = summary;
      const updating = service.updateState === 'updating' || service.updateState === 'rollback_started';
      if (progress.running >= desired && progress.old === 0 && !updating && unready.length === 0) {
        await this.log('health', `${plan.name}: ${desired} task(s) of the new spec running${plan.healthcheck ? ' and healthy' : ''}${taskProbes ? ' and ready' : ''}`);
        return;
      }
      if (progress.failed.length > 0) {
        const what = progress.failed.map((t) => describeTaskFailure(t, nodeNames)).join('; ');
        throw new RolloutFailure('TaskFailed', `Swarm service ${plan.name}: task(s) of the new spec failed (${what})`);
      }
      if (service.updateState === 'paused' || service.updateState === 'rollback_paused') {
        throw new RolloutFailure('UpdatePaused', `Swarm paused the update of ${plan.name}: ${service.updateMessage ?? 'no message'} (${progress.summary})`);
      }
      if (this.now() >= until) {
        if (progress.running >= desired && unready.length > 0 && taskProbes) {
          throw new RolloutFailure('HealthCheckFailed', `Swarm service ${plan.name}: ${unready.length} task(s) of the new spec not ready within ${deadlineSeconds}s: ${unready.map((t) => taskProbes.describe(t)).join('; ')}`);
        }
        throw new RolloutFailure('HealthCheckFailed', `Swarm service ${plan.name} did not run ${desired} task(s) of the new spec within ${deadlineSeconds}s: ${progress.summary}`);
      }
      await this.sleep(Math.min(TASK_POLL_MS, Math.max(50, until - this.now())), signal);
    }
  }

  /**
   * Gets the build context (the pinned commit cloned here, or the tar `holdfast apply` uploaded),
   * streams it to the server's engine and logs the build output.
   */
  private async build(action: Extract<Action, { type: 'build' }>, signal: AbortSignal) {
    const git = action.build.git;
    const commit = this.frozen.sourceCommit;
    const digest = action.build.contextDigest;
    let context: Buffer | Readable;
    // OCI annotations only: a container inherits its image's labels, and ownership labels there would
    // make every container of the image look like Holdfast's own.
    let labels: Record<string, string>;
    await this.enterStep('clone');
    if (digest) {
      await this.log('clone', `reading the build context ${action.build.context} (${digest}) uploaded by holdfast apply`);
      const stored = await this.deps.buildContext?.(this.frozen.service.namespace, digest);
      if (!stored) {
        throw new RolloutFailure('BuildContextUnavailable', `${action.component}: the control plane holds no build context ${digest} for "${action.build.context}"; apply the manifest again with holdfast apply to upload it`);
      }
      await this.log('clone', `build context: ${Math.round(stored.size / 1024)} KiB`);
      context = stored.stream;
      labels = {};
    } else if (git && commit) {
      await this.log('clone', `fetching ${git.url} at ${commit.slice(0, 12)}`);
      try {
        context = await contextTarAt(git.url, commit, action.build.context, signal);
      } catch (err) {
        throw new RolloutFailure('CloneFailed', (err as Error).message);
      }
      await this.log('clone', `build context: ${Math.round(context.length / 1024)} KiB`);
      labels = { 'org.opencontainers.image.source': git.url, 'org.opencontainers.image.revision': commit };
    } else {
      throw new RolloutFailure('BuildContextUnavailable', `${action.component}: the build context "${action.build.context}" was not sent with the Service; apply the manifest with holdfast apply, which packs the directory beside the compose file and uploads it`);
    }
    await this.enterStep('build');
    try {
      await this.deps.host.docker.buildImage(
        context,
        { tags: [action.image], dockerfile: action.build.dockerfile, buildArgs: action.build.args, target: action.build.target, labels },
        {
          onProgress: (p) => {
            const text = (p.stream ?? p.status ?? '').trimEnd();
            if (text) void this.log('build', text);
          },
        },
        { signal },
      );
    } catch (err) {
      throw new RolloutFailure('BuildFailed', (err as Error).message);
    }
    await this.log('build', `built ${action.image}`);
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

  private async waitHealthy(action: Extract<Action, { type: 'wait-healthy' }>, signal: AbortSignal) {
    const docker = this.deps.host.docker;
    const until = this.now() + action.deadlineSeconds * 1000;
    const probe = action.readiness;
    let attempts = 0;
    let consecutive = 0;
    let lastDetail = '';
    let lastLogged = 0;
    let runningSince: { startedAt?: string; at: number } | undefined;
    const deadlineIn = () => `deadline in ${Math.max(0, Math.ceil((until - this.now()) / 1000))} s`;
    if (probe?.startPeriodSeconds) {
      await this.log('health', `${action.target}: waiting the start period of ${probe.startPeriodSeconds} s before the first probe`);
      await this.sleep(Math.min(probe.startPeriodSeconds * 1000, Math.max(0, until - this.now())), signal);
    }
    for (;;) {
      await this.checkCanceled();
      const inspect = await docker.inspectContainer(action.target, { signal });
      const state = inspect.State ?? {};
      // The same judgement the Service's status makes: a crash loop fails the rollout at once.
      const replica = replicaHealth({ name: action.target, state: containerState(inspect) }, this.clock());
      if (replica.state === 'CrashLoopBackOff' || (!state.Running && !state.Restarting)) {
        await this.logTail(action.target, signal);
        if (replica.state === 'CrashLoopBackOff') throw new RolloutFailure('CrashLoopBackOff', replica.message);
        throw new RolloutFailure('ContainerExited', `${action.target} is not running (${state.Status ?? 'unknown'}, exit code ${state.ExitCode ?? '?'})`);
      }
      if (state.Restarting) {
        if (this.now() - lastLogged >= PROGRESS_EVERY_MS) {
          await this.log('health', `${action.target}: restarting after exit code ${state.ExitCode ?? '?'} (${inspect.RestartCount ?? 0} restarts); ${deadlineIn()}`);
          lastLogged = this.now();
        }
      } else if (action.check === 'readiness' && probe) {
        const address = containerAddress(inspect);
        const result = address ? await probeOnce(probe, address, (a, p, s) => this.deps.host.connectFromHost(a, p, s), signal) : { ok: false, detail: 'the container has no address on a Docker network' };
        // A start-first replacement is probed under its temporary name; the record follows the final one.
        this.deps.onProbe?.(action.target.replace(new RegExp(`${NEXT_SUFFIX}$`), ''), state.StartedAt, probe, result);
        attempts++;
        if (result.ok) {
          await this.log('health', `${action.target} is ready: probe ${attempts} passed: ${result.detail}`);
          return;
        }
        consecutive++;
        if (result.detail !== lastDetail || this.now() - lastLogged >= PROGRESS_EVERY_MS) {
          await this.log('health', `${action.target}: probe ${attempts} failed: ${result.detail}; ${deadlineIn()}`);
          lastLogged = this.now();
        }
        lastDetail = result.detail;
      } else {
        const health = state.Health?.Status;
        if (action.check === 'running' || !health || health === 'none') {
          // Nothing to probe: the container must at least stay up a moment, not exit right after its start.
          const since = runningSince && runningSince.startedAt === state.StartedAt ? runningSince : { startedAt: state.StartedAt, at: this.now() };
          runningSince = since;
          if (this.now() - since.at >= RUNNING_STABLE_MS) {
            await this.log('health', `${action.target} is running (up ${Math.round((this.now() - since.at) / 1000)} s without a restart)`);
            return;
          }
          await this.sleep(Math.min(RUNNING_STABLE_MS / 4, Math.max(50, until - this.now())), signal);
          if (this.now() >= until) throw new RolloutFailure('HealthCheckFailed', `${action.target} did not stay running within ${action.deadlineSeconds} s`);
          continue;
        }
        if (health === 'healthy') {
          await this.log('health', `${action.target} is healthy`);
          return;
        }
        if (health === 'unhealthy') {
          const last = (state.Health as { Log?: Array<{ Output?: string }> } | undefined)?.Log?.at(-1)?.Output?.trim();
          throw new RolloutFailure('HealthCheckFailed', `${action.target} is unhealthy: Docker's healthcheck failed ${state.Health?.FailingStreak ?? '?'} times in a row${last ? `: ${last.slice(0, 300)}` : ''}`);
        }
        if (this.now() - lastLogged >= PROGRESS_EVERY_MS) {
          await this.log('health', `${action.target}: Docker's healthcheck is ${health}; ${deadlineIn()}`);
          lastLogged = this.now();
        }
      }
      const failing = probe ? ` after ${consecutive} consecutive probe failures (failureThreshold ${probe.failureThreshold})` : '';
      if (this.now() >= until) {
        throw new RolloutFailure('HealthCheckFailed', `${action.target} did not become ready within ${action.deadlineSeconds} s${failing}${lastDetail ? `; last probe: ${lastDetail}` : ''}`);
      }
      if (probe && consecutive >= probe.failureThreshold && this.now() + probe.intervalSeconds * 1000 > until) {
        throw new RolloutFailure('HealthCheckFailed', `${action.target} is not ready${failing}: ${lastDetail}`);
      }
      await this.sleep(Math.min((probe?.intervalSeconds ?? 1) * 1000, Math.max(50, until - this.now())), signal);
    }
  }

  /** The last 20 lines a container wrote, into the deployment log (the store redacts secret values). */
  private async logTail(container: string, signal: AbortSignal) {
    const logs = await this.deps.host.docker.containerLogs(container, { tail: 20 }, { signal }).catch(() => undefined);
    if (logs) await this.log('health', `${container} logs:\n${logs.stdout}${logs.stderr}`);
  }

  private async waitCompleted(action: Extract<Action, { type: 'wait-completed' }>, signal: AbortSignal) {
    const result = await this.deps.host.docker.waitContainer(action.target, 'not-running', { signal, timeoutMs: action.deadlineSeconds * 1000 });
    if (result.StatusCode !== 0) throw new RolloutFailure('ContainerFailed', `${action.target} exited with code ${result.StatusCode}`);
    await this.log('health', `${action.target} completed`);
  }

  /** The host must now run exactly the frozen input: plan again, expect nothing to do. The write that completes the deployment ends the step. */
  private async finalize(signal: AbortSignal) {
    this.phase('finalize');
    await this.enterStep('finalize');
    const remaining = (await this.plan(this.frozen, signal, false)).filter((a) => a.type !== 'adopt');
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
    const failure = diskFull(
      err instanceof RolloutFailure
        ? err
        : deadlinePassed
          ? new RolloutFailure('DeadlineExceeded', `the deployment did not finish by its deadline (${this.record.deadline})`)
          : new RolloutFailure('DeploymentError', (err as Error)?.message ?? String(err)),
      this.record.server,
    );
    const step = this.currentStep;
    await this.closeStep('failed', failure.message);
    await this.log(step ?? 'deploy', `failed: ${failure.reason}: ${failure.message}`);
    await this.created.removeUnstarted(this.deps.host.docker, (line) => this.log(step ?? 'deploy', line));
    let message = step ? `step ${step}: ${failure.message}` : failure.message;
    if (this.frozen.update.autoRollback && this.previous && !deadlinePassed && !signal.aborted) {
      message += await this.rollBack(this.previous);
    }
    return { phase: 'failed', reason: failure.reason, message };
  }

  /** Puts the previous completed input back; returns a sentence for the failure message. */
  private async rollBack(previous: DeploymentRecord): Promise<string> {
    const frozen = previous.frozen as FrozenInput;
    await this.log('deploy', `rolling back to revision ${previous.revision}`);
    try {
      const signal = AbortSignal.timeout(Math.max(30_000, frozen.update.healthDeadlineSeconds * 2000));
      const swarm = this.swarmMode();
      const bySwarm = swarm && this.swarmUpdated.size > 0 && (await this.swarmRollback(signal));
      let actions: Action[];
      if (swarm) actions = await this.planFor(frozen, signal);
      else {
        const fresh = frozen.containers.flatMap((c) => [c.name, `${c.name}${NEXT_SUFFIX}`]);
        const snapshot = await this.deps.host.snapshot(signal, { full: true, fresh });
        actions = planRollout(frozen, buildLiveState(snapshot, frozen, { hashSecret: this.deps.hashSecret }));
      }
      const saved = this.record.frozen;
      (this.record as { frozen: unknown }).frozen = frozen;
      try {
        for (const action of actions) {
          await this.log('deploy', `rollback: ${action.type} ${action.target}: ${action.reason}`);
          await this.act(action, signal);
        }
      } finally {
        (this.record as { frozen: unknown }).frozen = saved;
      }
      const how = bySwarm ? " through Swarm's rollback" : '';
      await this.log('deploy', `rolled back to revision ${previous.revision}${how}`);
      return `; rolled back to revision ${previous.revision}${how}`;
    } catch (err) {
      await this.log('deploy', `rollback to revision ${previous.revision} failed: ${(err as Error).message}`);
      return `; rollback to revision ${previous.revision} failed too: ${(err as Error).message}`;
    }
  }

  /**
   * Swarm's own rollback (`docker service rollback`) of every service this rollout updated: Swarm
   * puts the spec back that ran before the update and replaces the tasks by it; waits until Swarm
   * says it completed. What still differs from the previous input afterwards is planned as usual,
   * and so is a service whose rollback Swarm paused. True when Swarm rolled every service back.
   */
  private async swarmRollback(signal: AbortSignal): Promise<boolean> {
    const docker = this.deps.host.docker;
    for (const [name, id] of this.swarmUpdated) {
      const current = await docker.inspectService(id, { signal });
      await docker.rollbackService(id, current.Version?.Index ?? 0, current.Spec ?? {}, { signal });
      await this.log('deploy', `rollback: asked Swarm to roll ${name} back to its previous spec`);
      for (;;) {
        const status = (await docker.inspectService(id, { signal })).UpdateStatus;
        if (status?.State === 'rollback_completed') break;
        if (status?.State === 'rollback_paused') {
          await this.log('deploy', `rollback: Swarm paused the rollback of ${name} (${status.Message ?? 'no message'}); updating it to the previous revision's spec instead`);
          return false;
        }
        await this.sleep(TASK_POLL_MS, signal);
      }
      await this.log('deploy', `rollback: Swarm rolled ${name} back`);
    }
    return true;
  }

  /** Written with the next step's start. */
  private phase(phase: DeploymentPhase) {
    this.journal.phase(phase);
  }

  /** Ends the current step and starts `step`, in one write. */
  private async enterStep(step: StepName) {
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

  private async checkCanceled() {
    const rec = await this.deps.deployments.get(this.record.id);
    if (rec?.cancelRequested) throw new Canceled();
  }

  private async log(step: string, line: string) {
    await this.journal.log(step, line);
  }
}

async function ignoreNotFound(p: Promise<unknown>) {
  try {
    await p;
  } catch (err) {
    if (!isDockerNotFound(err)) throw err;
  }
}

/**
 * Whatever step ran out of disk (a pull, a build, a container's create), the reason says so and what
 * to do: the step's own error only quotes the daemon's "no space left on device".
 */
export function diskFull(failure: RolloutFailure, server: string): RolloutFailure {
  if (!/no space left on device/i.test(failure.message)) return failure;
  return new RolloutFailure('DiskFull', `server ${server} is out of disk space (free some: docker system prune, or grow the volume): ${failure.message}`);
}

