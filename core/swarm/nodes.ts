// A swarm's nodes as a Server's status shows them: from the manager's GET /nodes items, managers
// first (the leader before the others), then workers, each by hostname. Pure.
import type { ServerStatusDockerSwarmNodeList } from '../schema/types.generated.js';

/** The part of a GET /nodes item this reads. */
export interface RawSwarmNode {
  ID: string;
  Description?: { Hostname?: string; Engine?: { EngineVersion?: string } };
  Spec?: { Role?: string; Availability?: string; Labels?: Record<string, string> | null };
  Status?: { State?: string; Addr?: string; Message?: string };
  ManagerStatus?: { Leader?: boolean; Reachability?: string; Addr?: string } | null;
}

export type SwarmMember = ServerStatusDockerSwarmNodeList;

export function swarmMember(raw: RawSwarmNode): SwarmMember {
  const member: SwarmMember = {
    id: raw.ID,
    hostname: raw.Description?.Hostname ?? '',
    role: raw.Spec?.Role === 'manager' ? 'manager' : 'worker',
    availability: raw.Spec?.Availability ?? 'unknown',
    state: raw.Status?.State ?? 'unknown',
  };
  if (raw.ManagerStatus?.Leader) member.leader = true;
  if (raw.ManagerStatus?.Reachability) member.reachability = raw.ManagerStatus.Reachability;
  if (raw.Status?.Addr) member.address = raw.Status.Addr;
  if (raw.Description?.Engine?.EngineVersion) member.engineVersion = raw.Description.Engine.EngineVersion;
  if (raw.Spec?.Labels && Object.keys(raw.Spec.Labels).length > 0) member.labels = { ...raw.Spec.Labels };
  if (raw.Status?.Message && raw.Status.State !== 'ready') member.message = raw.Status.Message;
  return member;
}

const rank = (m: SwarmMember) => (m.leader ? 0 : m.role === 'manager' ? 1 : 2);

export function swarmMembers(nodes: readonly RawSwarmNode[]): SwarmMember[] {
  return nodes.map(swarmMember).sort((a, b) => rank(a) - rank(b) || a.hostname.localeCompare(b.hostname) || a.id.localeCompare(b.id));
}

/** `2 managers, 3 workers; 1 not ready (hf-h3 down), 1 drained (hf-h2)`: the members in a sentence. */
export function describeSwarmMembers(members: readonly SwarmMember[]): string {
  const managers = members.filter((m) => m.role === 'manager').length;
  const parts = [`${managers} manager(s), ${members.length - managers} worker(s)`];
  const notReady = members.filter((m) => m.state !== 'ready');
  if (notReady.length) parts.push(`not ready: ${notReady.map((m) => `${m.hostname} ${m.state}`).join(', ')}`);
  const unavailable = members.filter((m) => m.availability !== 'active');
  if (unavailable.length) parts.push(`not taking tasks: ${unavailable.map((m) => `${m.hostname} ${m.availability}`).join(', ')}`);
  return parts.join('; ');
}
