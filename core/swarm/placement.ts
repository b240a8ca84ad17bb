// Placement of a Swarm service's tasks, pure: the constraints as Swarm parses them (`KEY==VALUE`,
// `KEY!=VALUE`, values compared without case, a missing label as the empty value), which nodes of a
// swarm satisfy them, and whether enough nodes are left for the replicas. A rollout uses it to fail
// at once with NoSuitableNode instead of waiting out its deadline for tasks Swarm cannot place.
import type { RawSwarmNode } from './nodes.js';

export interface Placement {
  constraints: string[];
  /** Label keys (`node.labels.zone`) to spread the tasks over, in order. */
  spread: string[];
  maxReplicasPerNode?: number;
}

export interface Constraint {
  key: string;
  op: '==' | '!=';
  value: string;
}

const KEY = /^[a-z_][a-z0-9_.-]*$/i;
const VALUE = /^[a-z0-9:\-_\s.*()?+[\]\\^$|/]+$/i;
const FIXED_KEYS = ['node.id', 'node.hostname', 'node.role', 'node.platform.os', 'node.platform.arch'];
const LABEL_PREFIXES = ['node.labels.', 'engine.labels.'];

/** A constraint, or a sentence saying what is wrong with it. */
export function parseConstraint(text: string): Constraint | string {
  const at = text.search(/==|!=/);
  if (at < 0) return `"${text}" has no == or != (write e.g. node.role==worker)`;
  const key = text.slice(0, at).trim();
  const op = text.slice(at, at + 2) as '==' | '!=';
  const value = text.slice(at + 2).trim();
  if (!KEY.test(key)) return `"${key}" is not a constraint key`;
  const lower = key.toLowerCase();
  // The prefix is matched without case; a label's own key is kept as written.
  const prefix = LABEL_PREFIXES.find((p) => lower.startsWith(p) && key.length > p.length);
  if (!FIXED_KEYS.includes(lower) && !prefix) return `"${key}" is not one of ${FIXED_KEYS.join(', ')}, node.labels.KEY or engine.labels.KEY`;
  if (!value || !VALUE.test(value)) return `"${value}" is not a constraint value`;
  if (lower === 'node.role' && !['manager', 'worker'].includes(value.toLowerCase())) return `node.role is manager or worker, not "${value}"`;
  return { key: prefix ? `${prefix}${key.slice(prefix.length)}` : lower, op, value };
}

/** A spread preference's problem, or undefined when it names a label. */
export function spreadProblem(descriptor: string): string | undefined {
  const lower = descriptor.toLowerCase();
  return LABEL_PREFIXES.some((p) => lower.startsWith(p) && descriptor.length > p.length) && KEY.test(descriptor)
    ? undefined
    : `"${descriptor}" is not node.labels.KEY or engine.labels.KEY`;
}

/**
 * What is wrong with a declared placement, each problem at its path under `at` (`spec.placement`,
 * `services.web.deploy.placement`): constraints Swarm would not parse, spreads that name no label.
 */
export function placementProblems(placement: Pick<Placement, 'constraints' | 'spread'>, at: string): Array<{ path: string; message: string }> {
  const problems: Array<{ path: string; message: string }> = [];
  for (const [i, text] of placement.constraints.entries()) {
    const parsed = parseConstraint(text);
    if (typeof parsed === 'string') problems.push({ path: `${at}.constraints[${i}]`, message: parsed });
  }
  for (const [i, descriptor] of placement.spread.entries()) {
    const problem = spreadProblem(descriptor);
    if (problem) problems.push({ path: `${at}.preferences[${i}].spread`, message: problem });
  }
  return problems;
}

/** The part of a GET /nodes item placement reads. */
export interface PlacementNode extends RawSwarmNode {
  Description?: RawSwarmNode['Description'] & {
    Platform?: { OS?: string; Architecture?: string };
    Engine?: { EngineVersion?: string; Labels?: Record<string, string> | null };
  };
}

function nodeValue(node: PlacementNode, key: string): string {
  switch (key) {
    case 'node.id':
      return node.ID;
    case 'node.hostname':
      return node.Description?.Hostname ?? '';
    case 'node.role':
      return node.Spec?.Role ?? 'worker';
    case 'node.platform.os':
      return node.Description?.Platform?.OS ?? '';
    case 'node.platform.arch':
      return node.Description?.Platform?.Architecture ?? '';
  }
  if (key.startsWith('node.labels.')) return node.Spec?.Labels?.[key.slice('node.labels.'.length)] ?? '';
  return node.Description?.Engine?.Labels?.[key.slice('engine.labels.'.length)] ?? '';
}

/** The nodes that take tasks (ready and active) and satisfy the constraints: where a global service runs one task each. */
export function suitableNodes<T extends PlacementNode>(nodes: readonly T[], constraints: readonly string[]): T[] {
  const parsed = constraints.map(parseConstraint).filter((c): c is Constraint => typeof c !== 'string');
  return nodes.filter((n) => (n.Status?.State ?? 'ready') === 'ready' && (n.Spec?.Availability ?? 'active') === 'active' && nodeSatisfies(n, parsed));
}

export function nodeSatisfies(node: PlacementNode, constraints: readonly Constraint[]): boolean {
  return constraints.every((c) => (nodeValue(node, c.key).toLowerCase() === c.value.toLowerCase()) === (c.op === '=='));
}

/**
 * Why Swarm cannot place `replicas` tasks on `nodes` (ready and active ones only), or undefined when
 * it can: no node satisfies the constraints (naming the one that excludes every node, if one does),
 * or too few do for the tasks allowed per node.
 */
export function unplaceable(nodes: readonly PlacementNode[], placement: Placement, replicas: number): string | undefined {
  if (replicas === 0) return undefined;
  const constraints = placement.constraints.map(parseConstraint).filter((c): c is Constraint => typeof c !== 'string');
  const usable = nodes.filter((n) => (n.Status?.State ?? 'ready') === 'ready' && (n.Spec?.Availability ?? 'active') === 'active');
  const suitable = usable.filter((n) => nodeSatisfies(n, constraints));
  const hostnames = (list: readonly PlacementNode[]) => list.map((n) => n.Description?.Hostname ?? n.ID.slice(0, 12)).join(', ');
  if (suitable.length === 0) {
    if (usable.length === 0) return `no node of the swarm is ready and active`;
    const excluding = placement.constraints.filter((text) => {
      const c = parseConstraint(text);
      return typeof c !== 'string' && usable.every((n) => !nodeSatisfies(n, [c]));
    });
    const what = excluding.length > 0 ? `constraint ${excluding.map((c) => `"${c}"`).join(', ')} matches none` : `constraints ${placement.constraints.map((c) => `"${c}"`).join(', ')} together match none`;
    return `${what} of the ${usable.length} ready and active node(s) (${hostnames(usable)})`;
  }
  const max = placement.maxReplicasPerNode;
  if (max !== undefined && suitable.length * max < replicas) {
    return `${replicas} replicas at most ${max} per node need ${Math.ceil(replicas / max)} node(s)${placement.constraints.length ? ` matching ${placement.constraints.map((c) => `"${c}"`).join(', ')}` : ''}, and ${suitable.length} ready and active node(s) do (${hostnames(suitable)})`;
  }
  return undefined;
}
