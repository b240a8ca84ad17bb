// Runs one deployment: plans the frozen input against what the host runs, walks the actions through
// the deployment's phases and steps, logs every decision, and ends the record completed, failed or
// canceled. On a failed rollout with autoRollback, the previous completed input is put back. The
// executor decides nothing itself: the planner did.
import type { Readable } from 'node:stream';
import { NEXT_SUFFIX, type SecretKeyRef, type FrozenInput } from '../../core/deploy/container-spec.js';
import { containerCreateRequest, type CreateRequestContext } from '../../core/deploy/docker-request.js';
import { runsAsSwarmService, swarmServiceName, swarmServiceSpec, type PublishMode, type SwarmServicePlan } from '../../core/deploy/swarm-spec.js';
import type { DockerContainerInspect } from '../../core/deploy/docker-types.js';
import { planRollout } from '../../core/plan/planner.js';
import { buildLiveState } from '../../core/plan/live-state.js';
import { liveSwarmService, liveSwarmTask, planSwarmRollout, taskProgress, type LiveSwarmTask } from '../../core/plan/swarm.js';
import type { Action } from '../../core/plan/types.js';
import { diffSwarmAgainstFrozen, swarmServicePath, type RawSwarmServiceSpec } from '../../core/drift/swarm.js';
import { isDockerNotFound } from '../../hosts/errors.js';
import type { DeploymentPhase, DeploymentRecord, DeploymentStore, StepName } from '../../store/deployments.js';
import type { HostAccess } from './host-access.js';
import { contextTarAt } from './git-source.js';
import { probeOnce } from './readiness-probe.js';

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
  swarm?: { publishMode: PublishMode };
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

const STEP_OF: Record<Action['type'], StepName> = {
  build: 'build',
  pull: 'pull',
  'create-network': 'volume',
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
const PREPARE_STEPS: readonly StepName[] = ['clone', 'build', 'pull'];
const FILES_DIR = '/var/lib/holdfast/files';

const defaultSleep = (ms: number, signal?: AbortSignal) =>
  new Promise<void>((ok, fail) => {
    const t = setTimeout(ok, ms);
    signal?.addEventListener('abort', () => {
      clearTimeout(t);
      fail(signal.reason);
    }, { once: true });
  });

export class Rollout {
  private currentStep: StepName | undefined;
  private readonly sleep: NonNullable<RolloutDeps['sleep']>;
  /** Per Swarm service: the tasks that existed before this rollout changed it (their failures are history). */
  private readonly tasksBefore = new Map<string, Set<string>>();

  constructor(
    private readonly record: DeploymentRecord,
    private readonly deps: RolloutDeps,
    private readonly previous?: DeploymentRecord,
  ) {
    this.sleep = deps.sleep ?? defaultSleep;
  }

  private get frozen(): FrozenInput {
    return this.record.frozen as FrozenInput;
  }

  /** Runs to a terminal phase; never throws (a failure is recorded and returned). */
  async run(signal: AbortSignal): Promise<RolloutOutcome> {
    const { deployments } = this.deps;
    const id = this.record.id;
    const deadline = Date.parse(this.record.deadline);
    const deadlineSignal = AbortSignal.timeout(Math.max(1, deadline - Date.now()));
    const combined = AbortSignal.any([signal, deadlineSignal]);
    let outcome: RolloutOutcome;
    try {
      await this.log('deploy', `deployment ${id} (revision ${this.record.revision}, generation ${this.record.generation}, trigger ${this.record.trigger}) on server ${this.record.server}`);
      const actions = await this.plan(this.frozen, combined);
      await this.execute(actions, combined);
      await this.finalize(combined);
      outcome = { phase: 'completed' };
    } catch (err) {
      outcome = await this.onFailure(err, combined, deadlineSignal.aborted);
    }
    const ended = await deployments.setPhase(id, outcome.phase, { reason: outcome.reason, message: outcome.message }).catch(() => undefined);
    if (ended) await this.log('finalize', `deployment ${outcome.phase}${outcome.reason ? `: ${outcome.reason}: ${outcome.message}` : ''}`);
    return outcome;
  }

  /** Whether `frozen` runs as a Swarm service on this server. */
  private swarmMode(frozen: FrozenInput): PublishMode | undefined {
    return this.deps.swarm && runsAsSwarmService(frozen) ? this.deps.swarm.publishMode : undefined;
  }

  /** Plans `frozen` against what the host runs: Swarm services on a manager, containers elsewhere. */
  private async planFor(frozen: FrozenInput, signal: AbortSignal): Promise<Action[]> {
    const publishMode = this.swarmMode(frozen);
    if (publishMode) {
      const docker = this.deps.host.docker;
      const name = swarmServiceName(frozen);
      // The name filter matches prefixes; the planner compares whole names.
      const raw = (await docker.listServices({ name: [name] }, { signal })).filter((s) => s.Spec?.Name === name);
      const services = raw.map((s) => liveSwarmService(s));
      // Fields changed on the manager behind Holdfast's back (the spec-hash label cannot tell).
      const drift = diffSwarmAgainstFrozen(frozen, raw as Array<{ Spec?: RawSwarmServiceSpec }>, { publishMode, hashSecret: this.deps.hashSecret, ignorePaths: this.deps.ignorePaths ?? [] });
      const fieldDrift = { [name]: drift.filter((e) => e.path !== swarmServicePath(name)).map((e) => e.path.slice(swarmServicePath(name).length + 1)) };
      const tasks: LiveSwarmTask[] = [];
      for (const s of services) tasks.push(...(await docker.listTasks({ service: [s.id] }, { signal })).map((t) => liveSwarmTask(t as Parameters<typeof liveSwarmTask>[0])));
      const snapshot = await this.deps.host.snapshot(signal, { full: true });
      const live = buildLiveState(snapshot, undefined, { hashSecret: this.deps.hashSecret });
      return planSwarmRollout(frozen, { services, tasks, containers: live.containers, images: live.images }, { publishMode, fieldDrift });
    }
    // The containers this input names are read fresh: the cache may not have seen our last action yet.
    const fresh = frozen.containers.flatMap((c) => [c.name, `${c.name}${NEXT_SUFFIX}`]);
    const snapshot = await this.deps.host.snapshot(signal, { full: true, fresh });
    const live = buildLiveState(snapshot, frozen, { hashSecret: this.deps.hashSecret });
    return planRollout(frozen, live, { ignorePaths: this.deps.ignorePaths ?? [] });
  }

  private async plan(frozen: FrozenInput, signal: AbortSignal): Promise<Action[]> {
    const actions = await this.planFor(frozen, signal);
    await this.log('deploy', actions.length === 0 ? 'the host already runs this input: nothing to do' : `plan: ${actions.length} action(s)`);
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
      await this.phase('deploy');
      throw new RolloutFailure('PlanFailed', fails.map((f) => `${f.target}: ${f.reason}`).join('; '));
    }
    await this.phase('prepare');
    const prepare = actions.filter((a) => PREPARE_STEPS.includes(STEP_OF[a.type]));
    const deploy = actions.filter((a) => !PREPARE_STEPS.includes(STEP_OF[a.type]));
    for (const action of prepare) await this.act(action, signal);
    await this.phase('deploy');
    for (const action of deploy) await this.act(action, signal);
    await this.closeStep('succeeded');
  }

  private async act(action: Action, signal: AbortSignal): Promise<void> {
    await this.checkCanceled();
    if (signal.aborted) throw signal.reason;
    await this.enterStep(STEP_OF[action.type]);
    await this.log(STEP_OF[action.type], `${action.type} ${action.target}: ${action.reason}`);
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
        for (const c of request.connect) await docker.connectNetwork(c.network, request.name, c.endpoint, opts);
        return;
      }
      case 'start':
        await docker.startContainer(action.containerId ?? action.target, opts);
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
        await ignoreNotFound(docker.removeNetwork(action.networkId, opts));
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
      case 'create-service':
      case 'update-service': {
        const spec = swarmServiceSpec(action.service, await this.secretResolver());
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
        throw new RolloutFailure('PlanFailed', `${action.target}: ${action.reason}`);
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
   * healthcheck reaches running only once Docker finds it healthy) and none of the previous one.
   * A task of this spec that fails, or an update Swarm paused, fails the rollout with the tasks'
   * states and errors.
   */
  private async waitService(plan: SwarmServicePlan, deadlineSeconds: number, signal: AbortSignal) {
    const docker = this.deps.host.docker;
    const until = Date.now() + deadlineSeconds * 1000;
    let last = '';
    for (;;) {
      await this.checkCanceled();
      const raw = (await docker.listServices({ name: [plan.name] }, { signal })).find((s) => s.Spec?.Name === plan.name);
      if (!raw) throw new RolloutFailure('ServiceGone', `Swarm service ${plan.name} disappeared during the rollout`);
      const service = liveSwarmService(raw);
      const tasks = (await docker.listTasks({ service: [service.id] }, { signal })).map((t) => liveSwarmTask(t as Parameters<typeof liveSwarmTask>[0]));
      const before = this.tasksBefore.get(plan.name) ?? new Set(tasks.filter((t) => t.state !== 'running').map((t) => t.id));
      this.tasksBefore.set(plan.name, before);
      const progress = taskProgress(tasks.filter((t) => !before.has(t.id) || t.state === 'running'), service.id, plan.taskHash, plan.replicas);
      if (progress.summary !== last) await this.log('health', `${plan.name}: ${progress.summary}`);
      last = progress.summary;
      const updating = service.updateState === 'updating' || service.updateState === 'rollback_started';
      if (progress.running >= plan.replicas && progress.old === 0 && !updating) {
        await this.log('health', `${plan.name}: ${plan.replicas} task(s) of the new spec running${plan.healthcheck ? ' and healthy' : ''}`);
        return;
      }
      if (progress.failed.length > 0) {
        const what = progress.failed.map((t) => `slot ${t.slot ?? '?'} ${t.state}: ${t.err ?? t.message ?? 'no error reported'}`).join('; ');
        throw new RolloutFailure('TaskFailed', `Swarm service ${plan.name}: task(s) of the new spec failed (${what})`);
      }
      if (service.updateState === 'paused' || service.updateState === 'rollback_paused') {
        throw new RolloutFailure('UpdatePaused', `Swarm paused the update of ${plan.name}: ${service.updateMessage ?? 'no message'} (${progress.summary})`);
      }
      if (Date.now() >= until) {
        throw new RolloutFailure('HealthCheckFailed', `Swarm service ${plan.name} did not run ${plan.replicas} task(s) of the new spec within ${deadlineSeconds}s: ${progress.summary}`);
      }
      await this.sleep(Math.min(TASK_POLL_MS, Math.max(50, until - Date.now())), signal);
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
  private async placeFiles(container: { files?: Array<{ contentHash: string; source: unknown; name: string }> }, signal: AbortSignal) {
    for (const file of container.files ?? []) {
      const source = file.source as { content?: string; secretRef?: SecretKeyRef };
      let content: Buffer | undefined;
      if (typeof source.content === 'string') content = Buffer.from(source.content, 'base64');
      else if (source.secretRef) content = Buffer.from(await this.deps.secretValue(source.secretRef));
      if (!content) throw new RolloutFailure('FileNotAvailable', `the content of ${file.name} is not available to the control plane`);
      await this.deps.host.writeFile(`${FILES_DIR}/${file.contentHash.replace(/^sha256:/, '')}`, content, signal);
    }
  }

  private async waitHealthy(action: Extract<Action, { type: 'wait-healthy' }>, signal: AbortSignal) {
    const docker = this.deps.host.docker;
    const until = Date.now() + action.deadlineSeconds * 1000;
    let failures = 0;
    let lastDetail = '';
    const probe = action.readiness;
    if (probe?.startPeriodSeconds) await this.sleep(Math.min(probe.startPeriodSeconds * 1000, Math.max(0, until - Date.now())), signal);
    for (;;) {
      await this.checkCanceled();
      const inspect = await docker.inspectContainer(action.target, { signal });
      const state = inspect.State ?? {};
      if (!state.Running) {
        const logs = await docker.containerLogs(action.target, { tail: 20 }, { signal }).catch(() => undefined);
        if (logs) await this.log('health', `${action.target} logs:\n${logs.stdout}${logs.stderr}`);
        throw new RolloutFailure('ContainerExited', `${action.target} is not running (${state.Status ?? 'unknown'}, exit code ${state.ExitCode ?? '?'})`);
      }
      if (action.check === 'readiness' && probe) {
        const address = containerAddress(inspect);
        const result = address ? await probeOnce(probe, address, (a, p, s) => this.deps.host.connectFromHost(a, p, s), signal) : { ok: false, detail: 'the container has no address on a Docker network' };
        if (result.ok) {
          await this.log('health', `${action.target} is ready: ${result.detail}`);
          return;
        }
        failures++;
        if (result.detail !== lastDetail) await this.log('health', `${action.target} not ready yet: ${result.detail}`);
        lastDetail = result.detail;
      } else {
        const health = state.Health?.Status;
        if (action.check === 'running' || !health || health === 'none') {
          await this.log('health', `${action.target} is running`);
          return;
        }
        if (health === 'healthy') {
          await this.log('health', `${action.target} is healthy`);
          return;
        }
        if (health === 'unhealthy') {
          const last = (state.Health as { Log?: Array<{ Output?: string }> } | undefined)?.Log?.at(-1)?.Output?.trim();
          throw new RolloutFailure('HealthCheckFailed', `${action.target} is unhealthy${last ? `: ${last.slice(0, 300)}` : ''}`);
        }
      }
      if (Date.now() >= until) {
        throw new RolloutFailure('HealthCheckFailed', `${action.target} did not become ready within ${action.deadlineSeconds}s${lastDetail ? ` (last probe: ${lastDetail})` : ''}`);
      }
      if (probe && failures >= probe.failureThreshold && Date.now() + probe.intervalSeconds * 1000 > until) {
        throw new RolloutFailure('HealthCheckFailed', `${action.target} failed ${failures} readiness probes: ${lastDetail}`);
      }
      await this.sleep(Math.min((probe?.intervalSeconds ?? 1) * 1000, Math.max(50, until - Date.now())), signal);
    }
  }

  private async waitCompleted(action: Extract<Action, { type: 'wait-completed' }>, signal: AbortSignal) {
    const result = await this.deps.host.docker.waitContainer(action.target, 'not-running', { signal, timeoutMs: action.deadlineSeconds * 1000 });
    if (result.StatusCode !== 0) throw new RolloutFailure('ContainerFailed', `${action.target} exited with code ${result.StatusCode}`);
    await this.log('health', `${action.target} completed`);
  }

  /** The host must now run exactly the frozen input: plan again, expect nothing to do. */
  private async finalize(signal: AbortSignal) {
    await this.phase('finalize');
    await this.enterStep('finalize');
    const remaining = (await this.plan(this.frozen, signal)).filter((a) => a.type !== 'adopt');
    if (remaining.length) {
      throw new RolloutFailure('NotConverged', `after the rollout the host still differs: ${remaining.map((a) => `${a.type} ${a.target}`).join(', ')}`);
    }
    await this.closeStep('succeeded');
  }

  private async onFailure(err: unknown, signal: AbortSignal, deadlinePassed: boolean): Promise<RolloutOutcome> {
    if (err instanceof Canceled) {
      await this.closeStep('failed', 'canceled');
      return { phase: 'canceled', reason: 'Canceled', message: 'canceled on request' };
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
      let actions: Action[];
      if (this.swarmMode(frozen)) actions = await this.planFor(frozen, signal);
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
      await this.log('deploy', `rolled back to revision ${previous.revision}`);
      return `; rolled back to revision ${previous.revision}`;
    } catch (err) {
      await this.log('deploy', `rollback to revision ${previous.revision} failed: ${(err as Error).message}`);
      return `; rollback to revision ${previous.revision} failed too: ${(err as Error).message}`;
    }
  }

  private async phase(phase: DeploymentPhase) {
    await this.deps.deployments.setPhase(this.record.id, phase);
  }

  private async enterStep(step: StepName) {
    if (this.currentStep === step) return;
    await this.closeStep('succeeded');
    this.currentStep = step;
    await this.deps.deployments.startStep(this.record.id, step);
  }

  private async closeStep(status: 'succeeded' | 'failed', message?: string) {
    if (!this.currentStep) return;
    const step = this.currentStep;
    this.currentStep = undefined;
    await this.deps.deployments.finishStep(this.record.id, step, status, message);
  }

  private async checkCanceled() {
    const rec = await this.deps.deployments.get(this.record.id);
    if (rec?.cancelRequested) throw new Canceled();
  }

  private async log(step: string, line: string) {
    await this.deps.deployments.appendLog(this.record.id, step, [line]).catch(() => undefined);
  }
}

function containerAddress(inspect: DockerContainerInspect): string | undefined {
  const nets = Object.values(inspect.NetworkSettings?.Networks ?? {}) as Array<{ IPAddress?: string } | null>;
  return nets.map((n) => n?.IPAddress).find((ip): ip is string => !!ip);
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
