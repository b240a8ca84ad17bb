// A Swarm service's tasks as the live view, `describe` and drift show them: each task with its node
// (by hostname), state, desired state, error, exit code and image digest, and whether it runs the
// deployed spec; and the drift they make: a slot whose task should run and does not. Pure.
import type { DriftEntry } from '../drift/types.js';
import type { LiveSwarmTask } from '../plan/swarm.js';
import { nodeSatisfies, parseConstraint, type Constraint, type PlacementNode } from './placement.js';

export interface SwarmTaskView {
  id: string;
  /** The replica slot (replicated services). */
  slot?: number;
  /** The node's hostname, or its ID when the manager does not list it. */
  node?: string;
  state: string;
  desiredState: string;
  /** Why the task failed, as Swarm says. */
  error?: string;
  message?: string;
  exitCode?: number;
  image?: string;
  /** The digest the image reference pins, when it pins one. */
  imageDigest?: string;
  /** It runs the deployed spec (its task hash is the frozen input's). */
  current: boolean;
  since?: string;
}

const digestOf = (image: string | undefined) => (image?.includes('@') ? image.slice(image.indexOf('@') + 1) : undefined);

/** The service's tasks, by slot and then newest first (as `docker service ps` lists them). */
export function swarmTaskViews(tasks: readonly LiveSwarmTask[], nodeNames: ReadonlyMap<string, string>, taskHash: string | undefined): SwarmTaskView[] {
  return [...tasks]
    .sort((a, b) => (a.slot ?? 0) - (b.slot ?? 0) || (b.timestamp ?? '').localeCompare(a.timestamp ?? '') || a.id.localeCompare(b.id))
    .map((t) => {
      const view: SwarmTaskView = { id: t.id, state: t.state, desiredState: t.desiredState, current: taskHash !== undefined && t.taskHash === taskHash };
      if (t.slot !== undefined) view.slot = t.slot;
      if (t.nodeId) view.node = nodeNames.get(t.nodeId) ?? t.nodeId;
      if (t.err) view.error = t.err;
      if (t.message) view.message = t.message;
      if (t.exitCode !== undefined) view.exitCode = t.exitCode;
      if (t.image) view.image = t.image;
      const digest = digestOf(t.image);
      if (digest) view.imageDigest = digest;
      if (t.timestamp) view.since = t.timestamp;
      return view;
    });
}

/** `failed on hf-h2: task: non-zero exit (3) (exit code 3)`: what a task that is not running does. */
export function describeTask(t: SwarmTaskView): string {
  const why = t.error ?? (t.state !== 'running' ? t.message : undefined);
  return `${t.state}${t.node ? ` on ${t.node}` : ''}${why ? `: ${why}` : ''}${t.exitCode !== undefined && t.exitCode !== 0 ? ` (exit code ${t.exitCode})` : ''}`;
}

/**
 * Live-vs-frozen drift of the tasks: every task Swarm means to run that does not run, and the
 * slots that have no task meant to run (fewer than `replicas`; a global service has no slots),
 * under `<base>.tasks[slot]`.
 */
export function diffSwarmTasks(base: string, views: readonly SwarmTaskView[], replicas: number | undefined): DriftEntry[] {
  const entries: DriftEntry[] = [];
  const meant = views.filter((t) => t.desiredState === 'running');
  for (const t of meant) {
    if (t.state === 'running') continue;
    entries.push({ path: `${base}.tasks[${t.slot ?? t.node ?? t.id.slice(0, 12)}]`, source: 'live-vs-frozen', kind: 'changed', expected: 'running', actual: describeTask(t) });
  }
  const slots = new Set(meant.map((t) => t.slot));
  for (let slot = 1; slot <= (replicas ?? 0); slot++) {
    if (!slots.has(slot)) entries.push({ path: `${base}.tasks[${slot}]`, source: 'live-vs-frozen', kind: 'missing', expected: 'running' });
  }
  return entries;
}

/**
 * Live-vs-frozen drift of running tasks on nodes the placement constraints exclude now (a node
 * relabelled or its role changed after Swarm placed them: Swarm does not move a running task),
 * under `<base>.tasks[slot].node`.
 */
export function diffTaskPlacement(base: string, views: readonly SwarmTaskView[], nodes: readonly PlacementNode[], constraints: readonly string[]): DriftEntry[] {
  const parsed = constraints.map(parseConstraint).filter((c): c is Constraint => typeof c !== 'string');
  if (parsed.length === 0) return [];
  const entries: DriftEntry[] = [];
  for (const t of views) {
    if (t.desiredState !== 'running' || t.state !== 'running' || !t.node) continue;
    const node = nodes.find((n) => n.ID === t.node || n.Description?.Hostname === t.node);
    if (!node || nodeSatisfies(node, parsed)) continue;
    entries.push({ path: `${base}.tasks[${t.slot ?? t.node}].node`, source: 'live-vs-frozen', kind: 'changed', expected: `a node where ${constraints.join(' and ')}`, actual: t.node });
  }
  return entries;
}
