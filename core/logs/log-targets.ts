// Which containers `holdfast logs service/NAME` reads, and how their lines are labelled. Pure: from
// the containers a host runs (as the live cache holds them) and what the caller asked for.
//
// A Service's replica is the container named for it; while a start-first rollout runs, its
// successor waits beside it under the same name with `.next`. The current container of a replica is
// the successor when there is one, and the previous container is the one it replaces — which exists
// only while the rollout runs (the rollout removes it once the successor is ready).
import { NEXT_SUFFIX, ownerOf } from '../deploy/container-spec.js';
import { HoldfastError } from '../errors.js';

/** What the selection needs of a container (a Docker inspect narrowed). */
export interface LogContainer {
  id: string;
  /** Docker's name, without the leading slash. */
  name: string;
  labels: Record<string, string>;
  running: boolean;
  tty: boolean;
}

export interface LogSelection {
  /** 1-based replica; all replicas when omitted. */
  replica?: number;
  /** A compose service of the Service; all of them when omitted. */
  component?: string;
  /** The container a rollout is replacing, instead of the current one. */
  previous?: boolean;
}

export interface LogTarget {
  container: LogContainer;
  /** `web-1`: the compose service (or the Service) and the replica, as `docker compose logs` shows. */
  label: string;
  component: string;
  replica: number;
}

export interface ServiceIdentity {
  project: string;
  environment: string;
  service: string;
}

/** The Service's own containers on the host, one current (or previous) per replica, in replica order. */
export function selectLogTargets(containers: readonly LogContainer[], who: ServiceIdentity, selection: LogSelection = {}): LogTarget[] {
  const replicas = new Map<string, { base?: LogContainer; next?: LogContainer; component: string; replica: number }>();
  for (const container of containers) {
    const owner = ownerOf(container.labels);
    if (!owner || owner.project !== who.project || owner.environment !== who.environment || owner.service !== who.service) continue;
    if (owner.replicaIndex === undefined) continue;
    const component = owner.component ?? who.service;
    const key = `${component}\u0000${owner.replicaIndex}`;
    const slot = replicas.get(key) ?? { component, replica: owner.replicaIndex };
    if (container.name.endsWith(NEXT_SUFFIX)) slot.next = container;
    else slot.base = container;
    replicas.set(key, slot);
  }

  const what = describeSelection(who, selection);
  const slots = [...replicas.values()]
    .filter((s) => selection.replica === undefined || s.replica === selection.replica)
    .filter((s) => selection.component === undefined || s.component === selection.component)
    .sort((a, b) => a.component.localeCompare(b.component) || a.replica - b.replica);
  if (slots.length === 0) {
    throw new HoldfastError('NotFound', `${what} has no container on its server${replicas.size ? `: it runs ${describeReplicas([...replicas.values()])}` : ' (it is not deployed, or its containers were removed)'}`);
  }

  const targets: LogTarget[] = [];
  for (const slot of slots) {
    const container = selection.previous ? (slot.next ? slot.base : undefined) : (slot.next ?? slot.base);
    if (container) targets.push({ container, component: slot.component, replica: slot.replica, label: `${slot.component}-${slot.replica}` });
  }
  if (targets.length === 0) {
    throw new HoldfastError(
      'NotFound',
      `${what} has no previous container: a rollout keeps the container it replaces only until its successor is ready (the deployment log keeps what the rollout saw)`,
    );
  }
  return targets;
}

function describeSelection(who: ServiceIdentity, selection: LogSelection): string {
  const parts = [`service ${who.project}/${who.service}`];
  if (selection.component !== undefined) parts.push(`container ${selection.component}`);
  if (selection.replica !== undefined) parts.push(`replica ${selection.replica}`);
  return parts.join(' ');
}

function describeReplicas(slots: Array<{ component: string; replica: number }>): string {
  return slots
    .map((s) => `${s.component}-${s.replica}`)
    .sort()
    .join(', ');
}
