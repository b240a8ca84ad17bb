// Node operations on the swarm a manager Server leads (`holdfast server node drain|pause|activate`):
// sets the node's availability over the manager's kept session, and for a drain waits until every
// task that ran on the node runs elsewhere (or, for a global service, stopped), then says where each
// went. Swarm does not move tasks back when a node is activated again; that is said, not done.
import { setTimeout as delay } from 'node:timers/promises';
import { HoldfastError } from '../../core/errors.js';
import type { Server } from '../../core/schema/types.generated.js';
import { drainProgress, resolveNode, taskName, tasksOnNode, type NodeAvailability, type NodeTask } from '../../core/swarm/node-availability.js';
import type { DockerClient, SwarmTask } from '../../hosts/index.js';
import type { ServerConnector } from './server-connector.js';

const CALL_TIMEOUT_MS = 30_000;
const POLL_MS = 1000;

export interface NodeOperationRequest {
  availability: NodeAvailability;
  /** How long a drain waits for the node's tasks to run elsewhere. */
  timeoutMs: number;
}

/** A task named as `docker service ps` does, and the node it is on. */
export interface NodeTaskPlace {
  task: string;
  /** `web.2`, or the service's name for a global service's task. */
  name: string;
  node?: string;
  why?: string;
}

export interface NodeOperationResult {
  node: { id: string; hostname: string; role: string };
  previousAvailability: string;
  availability: NodeAvailability;
  /** The tasks that ran on the node when it was drained, each with the node its replacement runs on. */
  moved: NodeTaskPlace[];
  /** The tasks that did not move within the timeout, and why. */
  notMoved: NodeTaskPlace[];
  /** Tasks that keep running on the node (pause and activate leave them where they are). */
  staying: NodeTaskPlace[];
  /** False when a drain's tasks did not all move within the timeout. */
  complete: boolean;
}

export class SwarmNodeOperations {
  constructor(private readonly deps: { connector: ServerConnector; onChanged?: (server: string) => void }) {}

  async setAvailability(server: Server, nodeRef: string, request: NodeOperationRequest, signal?: AbortSignal): Promise<NodeOperationResult> {
    const spec = server.spec!;
    if (spec.kind !== 'docker-swarm-manager') {
      throw new HoldfastError('BadRequest', `server ${server.metadata.name} is a ${spec.kind} server: node operations need a docker-swarm-manager`);
    }
    const docker = (await this.deps.connector.connectionFor(server)).docker;
    const call = { signal, timeoutMs: CALL_TIMEOUT_MS };
    const nodes = await docker.listNodes(undefined, call).catch((err: Error) => {
      throw new HoldfastError('BadRequest', `server ${server.metadata.name} cannot list its swarm's nodes (is it a Swarm manager?): ${err.message}`);
    });
    const node = resolveNode(nodes, nodeRef);
    const hostnames = new Map(nodes.map((n) => [n.ID, n.Description?.Hostname ?? n.ID.slice(0, 12)]));
    const previousAvailability = node.Spec?.Availability ?? 'unknown';
    const before = tasksOnNode((await docker.listTasks({ node: [node.ID] }, call)).map(nodeTask), node.ID);
    if (previousAvailability !== request.availability) {
      await docker.updateNode(node.ID, node.Version?.Index ?? 0, { ...node.Spec, Availability: request.availability }, call).catch((err: Error) => {
        throw new HoldfastError('BadRequest', `the manager refused to set node ${hostnames.get(node.ID)} to ${request.availability}: ${err.message}`);
      });
      this.deps.onChanged?.(server.metadata.name);
    }
    const names = await serviceNames(docker, call);
    const place = (t: { serviceId: string; slot?: number; task: string; node?: string; why?: string }): NodeTaskPlace => ({
      task: t.task,
      name: taskName(names.get(t.serviceId) ?? t.serviceId.slice(0, 12), t.slot),
      ...(t.node ? { node: hostnames.get(t.node) ?? t.node } : {}),
      ...(t.why ? { why: t.why } : {}),
    });
    const result: NodeOperationResult = {
      node: { id: node.ID, hostname: hostnames.get(node.ID)!, role: node.Spec?.Role ?? 'worker' },
      previousAvailability,
      availability: request.availability,
      moved: [],
      notMoved: [],
      staying: [],
      complete: true,
    };
    if (request.availability !== 'drain') {
      result.staying = before.map((t) => place({ serviceId: t.serviceId, slot: t.slot, task: t.id, node: node.ID }));
      return result;
    }
    const services = [...new Set(before.map((t) => t.serviceId))];
    const deadline = Date.now() + request.timeoutMs;
    for (;;) {
      const now = services.length ? (await docker.listTasks({ service: services }, call)).map(nodeTask) : [];
      const progress = drainProgress(before, now, node.ID);
      if (progress.done || Date.now() >= deadline) {
        result.moved = progress.moved.map((m) => place({ serviceId: m.serviceId, slot: m.slot, task: m.to ?? m.from, node: m.node }));
        result.notMoved = progress.waiting.map((w) => place(w));
        result.complete = progress.done;
        return result;
      }
      await delay(Math.min(POLL_MS, Math.max(0, deadline - Date.now())), undefined, { signal });
    }
  }
}

function nodeTask(raw: SwarmTask): NodeTask {
  const t: NodeTask = { id: raw.ID, serviceId: raw.ServiceID ?? '', desiredState: raw.DesiredState ?? '', state: raw.Status?.State ?? '' };
  if (raw.Slot !== undefined && raw.Slot !== 0) t.slot = raw.Slot;
  if (raw.NodeID) t.nodeId = raw.NodeID;
  if (raw.Status?.Err) t.err = raw.Status.Err;
  if (raw.Status?.Message) t.message = raw.Status.Message;
  return t;
}

async function serviceNames(docker: DockerClient, call: { signal?: AbortSignal; timeoutMs: number }): Promise<Map<string, string>> {
  return new Map((await docker.listServices(undefined, call)).map((s) => [s.ID, s.Spec?.Name ?? s.ID.slice(0, 12)]));
}

/** One line for the audit row, the Server's event and the CLI: what changed, and where the tasks went. */
export function describeNodeOperation(result: NodeOperationResult): string {
  const host = result.node.hostname;
  const parts = [
    result.previousAvailability === result.availability ? `node ${host} was already ${result.availability}` : `node ${host}: availability ${result.previousAvailability} → ${result.availability}`,
  ];
  const list = (items: NodeTaskPlace[], show: (t: NodeTaskPlace) => string) => items.map(show).join(', ');
  if (result.availability === 'drain') {
    if (result.moved.length === 0 && result.notMoved.length === 0) parts.push('no tasks ran there');
    if (result.moved.length) parts.push(`${result.moved.length} task(s) moved: ${list(result.moved, (t) => (t.node ? `${t.name} → ${t.node}` : `${t.name} stopped (global service)`))}`);
    if (result.notMoved.length) parts.push(`${result.notMoved.length} task(s) not moved in time: ${list(result.notMoved, (t) => `${t.name} (${t.why})`)}`);
  } else {
    if (result.availability === 'pause') parts.push('no new tasks are placed there');
    if (result.staying.length) parts.push(`${result.staying.length} task(s) keep running there: ${list(result.staying, (t) => t.name)}`);
    if (result.availability === 'active' && result.previousAvailability === 'drain') parts.push('Swarm places new tasks there again but does not move running ones back');
  }
  return parts.join('; ');
}
