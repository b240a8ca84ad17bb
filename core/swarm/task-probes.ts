// Where the http/tcp readiness probe of a Swarm task runs from. A task's container sits on its node's
// own networks, which only that node's host reaches: the probe goes over the session of the Server
// declared for the node (servers list the swarm's nodes in status.docker.swarm.nodeID), to the
// container's address there. A node without a Server is probed from the manager where the task
// publishes the probe's port in mode host (the node's address at the published port); otherwise the
// task is not probed, and the Service's status says so and why. Pure.
import type { ReadinessProbe } from '../deploy/container-spec.js';
import type { SwarmServicePlan } from '../deploy/swarm-spec.js';
import type { RawSwarmNode } from './nodes.js';

/** Where one task's probe runs from. */
export type TaskProbeRoute =
  /** Over the session of the Server declared for the task's node, to the task container's address there. */
  | { via: 'node'; server: string }
  /** Over the manager's session, to the node's address at the port the task publishes in mode host. */
  | { via: 'published'; server: string; address: string; port: number }
  /** Not probed: why, in words for the status. */
  | { via: 'none'; why: string };

export interface TaskProbeContext {
  /** Node ID → the Server declared for that node (the manager's own among them). */
  serversByNode: ReadonlyMap<string, string>;
  /** The manager's Server: the probes of nodes without a Server go over its session. */
  manager: string;
  /** The swarm's nodes, for their addresses and hostnames. */
  nodes: readonly RawSwarmNode[];
}

/** The port a probe connects to. */
export function probePort(probe: ReadinessProbe): number | undefined {
  return probe.http?.port ?? probe.tcp?.port;
}

/** The address a node is reached at from the other nodes (Status.Addr, else its manager address without the port). */
export function nodeAddress(node: RawSwarmNode | undefined): string | undefined {
  const addr = node?.Status?.Addr;
  if (addr && addr !== '0.0.0.0') return addr;
  const manager = node?.ManagerStatus?.Addr;
  return manager ? manager.replace(/:\d+$/, '') : undefined;
}

/** `hf-h3`, or the node ID's first 12 characters when the manager does not list it. */
export function nodeLabel(nodeId: string, nodes: readonly RawSwarmNode[]): string {
  return nodes.find((n) => n.ID === nodeId)?.Description?.Hostname || nodeId.slice(0, 12);
}

/**
 * Where the probe of a task on `nodeId` runs from: the node's own Server when one is declared,
 * else the manager through a port the task publishes in mode host, else nowhere (and why).
 */
export function taskProbeRoute(nodeId: string | undefined, probe: ReadinessProbe, plan: Pick<SwarmServicePlan, 'publishMode' | 'container'>, ctx: TaskProbeContext): TaskProbeRoute {
  if (!nodeId) return { via: 'none', why: 'the task has no node yet' };
  const server = ctx.serversByNode.get(nodeId);
  if (server) return { via: 'node', server };
  const node = ctx.nodes.find((n) => n.ID === nodeId);
  const label = nodeLabel(nodeId, ctx.nodes);
  const port = probePort(probe);
  const published = plan.publishMode === 'host' ? plan.container.ports.find((p) => p.containerPort === port && p.protocol === 'tcp' && p.hostPort !== undefined) : undefined;
  const address = nodeAddress(node);
  if (published?.hostPort !== undefined && address) return { via: 'published', server: ctx.manager, address, port: published.hostPort };
  const noServer = `node ${label} has no Server (declare one for it, and its tasks are probed over its own session)`;
  if (published && !address) return { via: 'none', why: `${noServer}, and the manager lists no address for it` };
  const mode = plan.publishMode === 'host' ? 'does not publish' : 'publishes no port in mode host for';
  return { via: 'none', why: `${noServer}, and the task ${mode} port ${port ?? '?'}, through which the manager could reach it` };
}

/**
 * The address of a task's container that its node's host reaches: its address on a network the task
 * template does not declare (Docker's bridge, where Swarm puts a task without networks). A stack's
 * overlay networks live in their own namespaces, out of the host's reach: an address there is none.
 */
export function hostReachableAddress(networks: Record<string, { IPAddress?: string } | null> | undefined, overlays: readonly string[]): string | undefined {
  const declared = new Set(overlays);
  for (const [name, n] of Object.entries(networks ?? {})) {
    if (!declared.has(name) && n?.IPAddress) return n.IPAddress;
  }
  return undefined;
}

/** `slot 2 on hf-h3`, or `task 1a2b3c4d5e6f on hf-h3` for a global service's task. */
export function taskLabel(task: { id: string; slot?: number; nodeId?: string }, nodes: readonly RawSwarmNode[]): string {
  const where = task.nodeId ? ` on ${nodeLabel(task.nodeId, nodes)}` : '';
  return `${task.slot !== undefined ? `slot ${task.slot}` : `task ${task.id.slice(0, 12)}`}${where}`;
}
