// Readiness probes of Swarm tasks, run where core/swarm/task-probes.ts says: over the kept session of
// the Server declared for the task's node, to the task container's address as that node's live
// cache holds it (no exec, no extra API call), or over the manager's session to the node's address
// at the port the task publishes in mode host.
import type { Duplex } from 'node:stream';
import type { ReadinessProbe } from '../../core/deploy/container-spec.js';
import type { SwarmServicePlan } from '../../core/deploy/swarm-spec.js';
import { SWARM_TASK_LABEL, type LiveSwarmTask } from '../../core/plan/swarm.js';
import type { RawSwarmNode } from '../../core/swarm/nodes.js';
import { hostReachableAddress, nodeLabel, taskLabel, taskProbeRoute, type TaskProbeRoute } from '../../core/swarm/task-probes.js';
import type { DockerContainerInspect } from '../../core/deploy/docker-types.js';
import { probeOnce, type ProbeResult } from './readiness-probe.js';

/** What probing a task needs of one server: its live containers and a TCP stream from the host. */
export interface ProbeHost {
  readonly server: string;
  /** The server's containers as its live cache holds them (after the first sync). */
  containers(signal?: AbortSignal): Promise<Iterable<DockerContainerInspect>>;
  connectFromHost(address: string, port: number, signal?: AbortSignal): Promise<Duplex>;
}

export interface SwarmTaskProbeDeps {
  /** The manager's Server. */
  manager: string;
  /** Node ID → the Server declared for it (read when a probe round starts). */
  serversByNode(signal?: AbortSignal): Promise<ReadonlyMap<string, string>>;
  /** The kept connection of a Server. */
  host(server: string): Promise<ProbeHost>;
}

/** One task to probe and where from. */
export interface TaskProbePlan {
  task: LiveSwarmTask;
  route: TaskProbeRoute;
}

/** The routes of `tasks` (running tasks of the plan's spec): where each one's probe runs from. */
export async function routeTaskProbes(deps: SwarmTaskProbeDeps, plan: SwarmServicePlan, probe: ReadinessProbe, tasks: readonly LiveSwarmTask[], nodes: readonly RawSwarmNode[], signal?: AbortSignal): Promise<TaskProbePlan[]> {
  const serversByNode = await deps.serversByNode(signal);
  return tasks.map((task) => ({ task, route: taskProbeRoute(task.nodeId, probe, plan, { serversByNode, manager: deps.manager, nodes }) }));
}

/** One probe of a task along its route. Never throws: a failure is a result. */
export async function probeTask(deps: SwarmTaskProbeDeps, plan: SwarmServicePlan, probe: ReadinessProbe, target: TaskProbePlan, signal?: AbortSignal): Promise<ProbeResult> {
  const { route, task } = target;
  try {
    if (route.via === 'none') return { ok: false, detail: `not probed: ${route.why}` };
    const host = await deps.host(route.server);
    const connect = (a: string, p: number, s?: AbortSignal) => host.connectFromHost(a, p, s);
    if (route.via === 'published') return await probeOnce(withPort(probe, route.port), route.address, connect, signal);
    // A node whose cache has not synced (its session down) must not hold the round up.
    const timeout = AbortSignal.timeout(probe.timeoutSeconds * 1000);
    const listed = await host.containers(signal ? AbortSignal.any([signal, timeout]) : timeout).catch((err) => {
      if (timeout.aborted) throw new Error(`server ${route.server} has not listed its containers within ${probe.timeoutSeconds}s (is its session up?)`);
      throw err;
    });
    let container: DockerContainerInspect | undefined;
    for (const c of listed) {
      if (c.Config?.Labels?.[SWARM_TASK_LABEL] === task.id) container = c;
    }
    if (!container) return { ok: false, detail: `server ${route.server} shows no container of task ${task.id.slice(0, 12)} yet` };
    const overlays = plan.container.networks.map((n) => n.name);
    const networks = container.NetworkSettings?.Networks ?? undefined;
    const address = hostReachableAddress(networks, overlays);
    if (address) return await probeOnce(probe, address, connect, signal);
    // Only on overlay networks: a port the task publishes in mode host still answers on the node itself.
    const port = probe.http?.port ?? probe.tcp?.port;
    const published = plan.publishMode === 'host' ? plan.container.ports.find((p) => p.containerPort === port && p.protocol === 'tcp' && p.hostPort !== undefined) : undefined;
    if (published?.hostPort !== undefined) return await probeOnce(withPort(probe, published.hostPort), '127.0.0.1', connect, signal);
    return { ok: false, detail: `the container of task ${task.id.slice(0, 12)} is only on overlay networks (${Object.keys(networks ?? {}).join(', ') || 'none'}), which the host of server ${route.server} does not reach, and it publishes port ${port ?? '?'} in mode host nowhere` };
  } catch (err) {
    return { ok: false, detail: (err as Error).message };
  }
}

function withPort(probe: ReadinessProbe, port: number): ReadinessProbe {
  return probe.http ? { ...probe, http: { ...probe.http, port } } : { ...probe, tcp: { port } };
}

/** Where a route probes from, for the log: `over server hf-h2's session`. */
export function describeRoute(route: TaskProbeRoute, nodes: readonly RawSwarmNode[], nodeId?: string): string {
  if (route.via === 'node') return `over server ${route.server}'s session`;
  if (route.via === 'published') return `from the manager's server ${route.server}, at ${route.address}:${route.port} published on ${nodeId ? nodeLabel(nodeId, nodes) : 'its node'}`;
  return `not probed: ${route.why}`;
}

interface TaskProbeState {
  label: string;
  attempts: number;
  consecutive: number;
  lastAt: number;
  lastDetail?: string;
  passed: boolean;
  /** Why the task's probe is not run: it counts as ready once running. */
  unprobed?: string;
}

/**
 * The readiness of the running tasks of one spec during a rollout: each is probed at the probe's
 * interval (after its start period) until it passes once; a task that cannot be probed where it
 * runs counts as ready, the log saying why.
 */
export class TaskReadiness {
  private readonly tasks = new Map<string, TaskProbeState>();

  constructor(
    private readonly deps: SwarmTaskProbeDeps,
    private readonly plan: SwarmServicePlan,
    private readonly probe: ReadinessProbe,
    private readonly nodes: readonly RawSwarmNode[],
    private readonly clock: () => Date,
    private readonly log: (line: string) => Promise<void>,
    private readonly onProbe?: (key: string, startedAt: string | undefined, probe: ReadinessProbe, result: ProbeResult) => void,
  ) {}

  /** Probes those of `running` that are due; returns the ones not ready yet. */
  async round(running: readonly LiveSwarmTask[], signal?: AbortSignal): Promise<LiveSwarmTask[]> {
    const now = this.clock().getTime();
    const due = running.filter((t) => {
      const s = this.tasks.get(t.id);
      if (s?.passed || s?.unprobed !== undefined) return false;
      const since = Date.parse(t.timestamp ?? '');
      if (Number.isFinite(since) && now < since + this.probe.startPeriodSeconds * 1000) return false;
      return !s || now - s.lastAt >= this.probe.intervalSeconds * 1000;
    });
    if (due.length > 0) {
      const routes = await routeTaskProbes(this.deps, this.plan, this.probe, due, this.nodes, signal);
      await Promise.all(routes.map((r) => this.probeOne(r, now, signal)));
    }
    return running.filter((t) => {
      const s = this.tasks.get(t.id);
      return !(s?.passed || s?.unprobed !== undefined);
    });
  }

  /** `slot 2 on hf-h3 (task 1a2b3c4d5e6f): 4 consecutive probe failures (failureThreshold 3); last probe: …`. */
  describe(task: LiveSwarmTask): string {
    const s = this.tasks.get(task.id);
    const label = `${taskLabel(task, this.nodes)} (task ${task.id.slice(0, 12)})`;
    if (!s || s.attempts === 0) return `${label}: not probed yet (start period ${this.probe.startPeriodSeconds}s)`;
    return `${label}: ${s.consecutive} consecutive probe failure(s) (failureThreshold ${this.probe.failureThreshold}); last probe: ${s.lastDetail ?? 'none'}`;
  }

  private async probeOne(target: TaskProbePlan, now: number, signal?: AbortSignal): Promise<void> {
    const { task, route } = target;
    const s = this.tasks.get(task.id) ?? { label: taskLabel(task, this.nodes), attempts: 0, consecutive: 0, lastAt: 0, passed: false };
    this.tasks.set(task.id, s);
    if (route.via === 'none') {
      s.unprobed = route.why;
      await this.log(`${s.label}: readiness probe not run (${route.why}); the task counts as ready while it runs`);
      return;
    }
    const result = await probeTask(this.deps, this.plan, this.probe, target, signal);
    this.onProbe?.(task.id, task.timestamp, this.probe, result);
    s.attempts++;
    s.lastAt = now;
    if (result.ok) {
      s.passed = true;
      s.consecutive = 0;
      await this.log(`${s.label} is ready: probe ${s.attempts} passed ${describeRoute(route, this.nodes, task.nodeId)}: ${result.detail}`);
      return;
    }
    s.consecutive++;
    if (result.detail !== s.lastDetail) await this.log(`${s.label}: probe ${s.attempts} failed ${describeRoute(route, this.nodes, task.nodeId)}: ${result.detail}`);
    s.lastDetail = result.detail;
  }
}
