// Node operations on a swarm (drain, pause, activate), pure: which node a name means, and how far a
// drain is: each task that ran on the node before, and whether its replacement (the task of the same
// service and slot that Swarm schedules elsewhere) runs yet.
import { HoldfastError } from '../errors.js';
import { ENDED_TASK_STATES, type LiveSwarmTask } from '../plan/swarm.js';
import type { RawSwarmNode } from './nodes.js';

export type NodeAvailability = 'active' | 'pause' | 'drain';
export const NODE_AVAILABILITIES: readonly NodeAvailability[] = ['active', 'pause', 'drain'];

/**
 * The part of a task (as planning reads it) this reads. `slot` is absent for the tasks of global
 * services: one per node, nothing replaces them elsewhere.
 */
export type NodeTask = Pick<LiveSwarmTask, 'id' | 'serviceId' | 'slot' | 'nodeId' | 'desiredState' | 'state' | 'err' | 'message'>;

/**
 * The node `ref` names: its ID, a unique prefix of the ID, or its hostname (as `docker node`
 * accepts). NotFound naming the swarm's nodes when none matches, BadRequest when several do.
 */
export function resolveNode<T extends RawSwarmNode>(nodes: readonly T[], ref: string): T {
  const byId = nodes.find((n) => n.ID === ref);
  if (byId) return byId;
  const byName = nodes.filter((n) => n.Description?.Hostname === ref);
  if (byName.length === 1) return byName[0]!;
  const byPrefix = nodes.filter((n) => n.ID.startsWith(ref));
  const matches = byName.length > 1 ? byName : byPrefix;
  const known = nodes.map((n) => `${n.Description?.Hostname ?? '?'} (${n.ID.slice(0, 12)})`).join(', ');
  if (matches.length === 1) return matches[0]!;
  if (matches.length > 1) throw new HoldfastError('BadRequest', `node "${ref}" is ambiguous: it matches ${matches.map((n) => n.ID.slice(0, 12)).join(', ')}; name it by ID`);
  throw new HoldfastError('NotFound', `the swarm has no node "${ref}"; its nodes are ${known || 'none'}`);
}

/** The tasks meant to run on `nodeId` now: what a drain has to move. */
export function tasksOnNode(tasks: readonly NodeTask[], nodeId: string): NodeTask[] {
  return tasks.filter((t) => t.nodeId === nodeId && t.desiredState === 'running' && !ENDED_TASK_STATES.has(t.state));
}

export interface MovedTask {
  serviceId: string;
  slot?: number;
  /** The task that ran on the drained node. */
  from: string;
  /** Its replacement, running on `node`; absent for a global service's task, which only stops. */
  to?: string;
  node?: string;
}

export interface WaitingTask {
  serviceId: string;
  slot?: number;
  task: string;
  /** `still running on the node`, or the replacement's state with Swarm's error (`pending: no suitable node …`). */
  why: string;
}

export interface DrainProgress {
  moved: MovedTask[];
  waiting: WaitingTask[];
  done: boolean;
}

/**
 * How far the drain of `nodeId` is, for the tasks that ran there when it began (`before`), judged on
 * the services' tasks now: a replicated task has moved once it no longer runs and a task of the same
 * service and slot runs on another node; a global service's task once it stopped.
 */
export function drainProgress(before: readonly NodeTask[], now: readonly NodeTask[], nodeId: string): DrainProgress {
  const moved: MovedTask[] = [];
  const waiting: WaitingTask[] = [];
  for (const b of before) {
    const current = now.find((t) => t.id === b.id);
    const stopped = !current || ENDED_TASK_STATES.has(current.state);
    const slot = b.slot === undefined ? {} : { slot: b.slot };
    if (b.slot === undefined) {
      if (stopped) moved.push({ serviceId: b.serviceId, from: b.id });
      else waiting.push({ serviceId: b.serviceId, task: b.id, why: `still ${current.state} on the node` });
      continue;
    }
    const replacements = now.filter((t) => t.serviceId === b.serviceId && t.slot === b.slot && t.id !== b.id && t.desiredState === 'running' && t.nodeId !== nodeId);
    const running = replacements.find((t) => t.state === 'running');
    if (stopped && running) {
      moved.push({ serviceId: b.serviceId, ...slot, from: b.id, to: running.id, ...(running.nodeId ? { node: running.nodeId } : {}) });
      continue;
    }
    const pending = replacements.find((t) => t.state !== 'running');
    // Swarm schedules the replacement as it stops the task: a slot without one was scaled away or
    // its service removed meanwhile, and nothing is left to move.
    if (stopped && !pending) {
      moved.push({ serviceId: b.serviceId, ...slot, from: b.id });
      continue;
    }
    const why = !stopped
      ? `still ${current.state} on the node`
      : `replacement ${pending!.state}${pending!.err ? `: ${pending!.err}` : pending!.message && pending!.message !== pending!.state ? `: ${pending!.message}` : ''}`;
    waiting.push({ serviceId: b.serviceId, ...slot, task: b.id, why });
  }
  return { moved, waiting, done: waiting.length === 0 };
}

/** `web.2`: a task as `docker service ps` names it (global tasks by service name only). */
export function taskName(serviceName: string, slot: number | undefined): string {
  return slot === undefined ? serviceName : `${serviceName}.${slot}`;
}
