// The Swarm side of a rollout on a manager: planning against the swarm's services, tasks, nodes,
// configs and secrets; creating and updating services; waiting for their tasks (and their readiness
// probes, from the nodes that run them); Swarm's own rollback; overlay networks released in Swarm's
// own time. One per rollout: it remembers which services the rollout touched.
import type { FrozenInput } from '../../core/deploy/container-spec.js';
import { judgeSwarmServiceLook, RolloutFailure } from '../../core/deploy/rollout-verdicts.js';
import { desiredTasks, swarmServiceName, swarmServiceSpec, type PublishMode, type SwarmServicePlan } from '../../core/deploy/swarm-spec.js';
import { diffSwarmAgainstFrozen, swarmServicePath, type RawSwarmServiceSpec } from '../../core/drift/swarm.js';
import { buildLiveState } from '../../core/plan/live-state.js';
import { describeTaskFailure, liveSwarmFile, liveSwarmService, liveSwarmTask, planSwarmRollout, taskProgress, type LiveSwarmFile, type LiveSwarmTask } from '../../core/plan/swarm.js';
import type { Action } from '../../core/plan/types.js';
import { ignoreNotFound, POLL_MS, type RolloutRun } from './rollout-run.js';
import { TaskReadiness } from './swarm-task-probes.js';

/** How long an overlay network may stay in use by the tasks of services that left it. */
const NETWORK_RELEASE_MS = 60_000;

export class SwarmRollout {
  /** Per Swarm service: the tasks that existed before this rollout changed it (their failures are history). */
  private readonly tasksBefore = new Map<string, Set<string>>();
  /** Swarm services this rollout updated (name → ID): a rollback asks Swarm for their previous spec. */
  private readonly updated = new Map<string, string>();

  constructor(
    private readonly run: RolloutRun,
    readonly publishMode: PublishMode,
  ) {}

  private get docker() {
    return this.run.deps.host.docker;
  }

  /** Plans `frozen` against the swarm: its services of this Service's stack, their tasks, the nodes, files and networks. */
  async plan(frozen: FrozenInput, signal: AbortSignal): Promise<Action[]> {
    const { docker, publishMode } = this;
    const { deps } = this.run;
    // The name filter matches prefixes: the Service's own service, or every service of its stack
    // (those no longer declared too); the planner compares whole names and owners.
    const raw = await docker.listServices({ name: [swarmServiceName(frozen)] }, { signal });
    const services = raw.map((s) => liveSwarmService(s));
    // Fields changed on the manager behind Holdfast's back (the spec-hash label cannot tell).
    const drift = diffSwarmAgainstFrozen(frozen, raw as Array<{ Spec?: RawSwarmServiceSpec }>, { publishMode, hashSecret: deps.hashSecret, ignorePaths: deps.ignorePaths ?? [] });
    const fieldDrift: Record<string, string[]> = {};
    for (const s of services) {
      const base = `${swarmServicePath(s.name)}.`;
      fieldDrift[s.name] = drift.filter((e) => e.path.startsWith(base)).map((e) => e.path.slice(base.length));
    }
    const tasks: LiveSwarmTask[] = [];
    for (const s of services) tasks.push(...(await docker.listTasks({ service: [s.id] }, { signal })).map((t) => liveSwarmTask(t as Parameters<typeof liveSwarmTask>[0])));
    const snapshot = await deps.host.snapshot(signal, { full: true });
    const live = buildLiveState(snapshot, undefined, { hashSecret: deps.hashSecret });
    const nodes = await docker.listNodes(undefined, { signal });
    const files = await this.filesOf(swarmServiceName(frozen), signal);
    return planSwarmRollout(frozen, { services, tasks, nodes, containers: live.containers, networks: live.networks, files, images: live.images }, { publishMode, fieldDrift });
  }

  /** The swarm's configs and secrets whose names start with `prefix` (the Service's own all do). */
  private async filesOf(prefix: string, signal: AbortSignal): Promise<LiveSwarmFile[]> {
    const out: LiveSwarmFile[] = [];
    for (const kind of ['config', 'secret'] as const) {
      out.push(...(await this.docker.listSwarmFiles(kind, { name: [prefix] }, { signal })).map((f) => liveSwarmFile(kind, f)));
    }
    return out;
  }

  async createOrUpdate(action: Extract<Action, { type: 'create-service' | 'update-service' }>, signal: AbortSignal): Promise<void> {
    const { docker } = this;
    const opts = { signal };
    const files = action.service.files.length > 0 ? await this.filesOf(swarmServiceName(this.run.frozen()), signal) : [];
    const fileIds = new Map(files.map((f) => [f.name, f.id]));
    const spec = swarmServiceSpec(action.service, await this.run.secretResolver(), fileIds);
    // The spec holds secret values: it goes to the manager and nowhere else.
    if (action.type === 'create-service') {
      this.tasksBefore.set(action.service.name, new Set());
      const created = await docker.createService(spec, opts).catch((err: Error) => {
        throw new RolloutFailure('ServiceCreateFailed', `cannot create Swarm service ${action.target}: ${err.message}`);
      });
      await this.run.log('start', `created Swarm service ${action.target} (${created.ID.slice(0, 12)})`);
      for (const w of created.Warnings ?? []) await this.run.log('start', `warning: ${w}`);
      return;
    }
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
        this.updated.set(action.service.name, action.serviceId);
        for (const w of updated?.Warnings ?? []) await this.run.log('start', `warning: ${w}`);
        return;
      } catch (err) {
        if (attempt < 5 && /out of sequence/i.test((err as Error).message)) continue;
        throw new RolloutFailure('ServiceUpdateFailed', `cannot update Swarm service ${action.target}: ${(err as Error).message}`);
      }
    }
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
  async waitService(plan: SwarmServicePlan, deadlineSeconds: number, signal: AbortSignal): Promise<void> {
    const { docker, run } = this;
    const until = run.now() + deadlineSeconds * 1000;
    const nodes = await docker.listNodes(undefined, { signal }).catch(() => []);
    const nodeNames = new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID.slice(0, 12)]));
    const desired = desiredTasks(plan, nodes);
    const readiness = run.frozen().components.find((c) => c.name === plan.component)?.readiness;
    const taskProbesDeps = run.deps.swarm?.taskProbes;
    const taskProbes = readiness && taskProbesDeps ? new TaskReadiness(taskProbesDeps, plan, readiness, nodes, run.clock, (line) => run.log('health', `${plan.name}: ${line}`), run.deps.onProbe) : undefined;
    let last = '';
    for (;;) {
      await run.checkCanceled();
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
      if (summary !== last) await run.log('health', `${plan.name}: ${summary}`);
      last = summary;
      const verdict = judgeSwarmServiceLook({
        name: plan.name,
        progress,
        desired,
        updateState: service.updateState,
        updateMessage: service.updateMessage,
        unready: unready.length,
        describeUnready: () => unready.map((t) => taskProbes!.describe(t)).join('; '),
        describeFailed: () => progress.failed.map((t) => describeTaskFailure(t, nodeNames)).join('; '),
        healthcheck: !!plan.healthcheck,
        probed: !!taskProbes,
        deadlineSeconds,
        now: run.now(),
        until,
      });
      if (verdict.kind === 'done') {
        await run.log('health', verdict.line);
        return;
      }
      if (verdict.kind === 'failed') throw verdict.failure;
      await run.sleep(Math.min(POLL_MS, Math.max(50, until - run.now())), signal);
    }
  }

  /**
   * Removes an overlay network once the tasks of the services that left it are gone: Swarm takes
   * them away in its own time, and refuses the removal while one is still attached.
   */
  async removeNetwork(networkId: string, signal: AbortSignal): Promise<void> {
    const until = this.run.now() + NETWORK_RELEASE_MS;
    for (;;) {
      try {
        await ignoreNotFound(this.docker.removeNetwork(networkId, { signal }));
        return;
      } catch (err) {
        if (!/in use|active endpoints/i.test((err as Error).message) || this.run.now() >= until) throw err;
      }
      await this.run.sleep(POLL_MS, signal);
    }
  }

  /**
   * Swarm's own rollback (`docker service rollback`) of every service this rollout updated: Swarm
   * puts the spec back that ran before the update and replaces the tasks by it; waits until Swarm
   * says it completed. What still differs from the previous input afterwards is planned as usual,
   * and so is a service whose rollback Swarm paused. True when Swarm rolled every service back;
   * false when it updated none or paused a rollback.
   */
  async rollBack(signal: AbortSignal): Promise<boolean> {
    const { docker, run } = this;
    if (this.updated.size === 0) return false;
    for (const [name, id] of this.updated) {
      const current = await docker.inspectService(id, { signal });
      await docker.rollbackService(id, current.Version?.Index ?? 0, current.Spec ?? {}, { signal });
      await run.log('deploy', `rollback: asked Swarm to roll ${name} back to its previous spec`);
      for (;;) {
        const status = (await docker.inspectService(id, { signal })).UpdateStatus;
        if (status?.State === 'rollback_completed') break;
        if (status?.State === 'rollback_paused') {
          await run.log('deploy', `rollback: Swarm paused the rollback of ${name} (${status.Message ?? 'no message'}); updating it to the previous revision's spec instead`);
          return false;
        }
        await run.sleep(POLL_MS, signal);
      }
      await run.log('deploy', `rollback: Swarm rolled ${name} back`);
    }
    return true;
  }
}

