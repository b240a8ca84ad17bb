// Server readiness as operators read it: ready, needs attention, or blocked, with what to do about
// each failing check. Pure: from Server objects (their status, as the server controller writes it).
import { findCondition, type Resource } from './resource.js';
import type { ServerSpec, ServerStatus, ServerStatusCheck } from './schema/types.generated.js';

export type ReadinessClass = 'ready' | 'attention' | 'blocked';

export interface ServerCheckRow {
  serverName: string;
  serverHost: string | null;
  targetKind: string;
  swarmTopology: string | null;
  sshReachable: boolean | null;
  dockerVersion: string | null;
  composeVersion: string | null;
  latencyMs: number | null;
  readiness: ReadinessClass;
  checkedAt: string | null;
}

export interface FailingCheck {
  serverName: string;
  check: string;
  result: ServerStatusCheck['result'];
  message: string;
  recommendedAction: string;
}

export interface ReadinessSummary {
  totalServers: number;
  readyServers: number;
  attentionServers: number;
  blockedServers: number;
  pollIntervalMs: number;
  averageLatencyMs: number | null;
}

/** Ready: the Ready condition is True and no check warns. Blocked: Ready is False. Else attention. */
export function classify(server: Resource): ReadinessClass {
  const status = server.status as ServerStatus | undefined;
  const ready = findCondition(status, 'Ready');
  if (ready?.status === 'False') return 'blocked';
  if (ready?.status === 'True' && !(status?.checks ?? []).some((c) => c.result === 'Warn' || c.result === 'Fail')) return 'ready';
  return 'attention';
}

export function checkRow(server: Resource): ServerCheckRow {
  const spec = (server.spec ?? {}) as Partial<ServerSpec>;
  const status = (server.status ?? {}) as ServerStatus;
  const ssh = status.checks?.find((c) => c.name === 'ssh');
  const swarm = status.docker?.swarm;
  return {
    serverName: server.metadata.name,
    serverHost: spec.kind === 'local' ? 'local' : spec.host ?? null,
    targetKind: spec.kind ?? 'docker-engine',
    swarmTopology: swarm?.role ? `${swarm.role} (${swarm.nodes ?? '?'} nodes, ${swarm.managers ?? '?'} managers)` : spec.kind === 'docker-swarm-manager' ? 'not in a swarm' : null,
    sshReachable: spec.kind === 'local' ? null : ssh ? ssh.result === 'Pass' : null,
    dockerVersion: status.docker?.version ?? null,
    composeVersion: status.compose?.version ?? null,
    latencyMs: typeof status.latencyMs === 'number' ? status.latencyMs : null,
    readiness: classify(server),
    checkedAt: status.lastContactTime ?? ssh?.lastCheckTime ?? null,
  };
}

export const DEFAULT_POLL_INTERVAL_MS = 60_000;

/** The summary; the poll interval is the one the controller reports (or the default before any check). */
export function summarise(servers: Resource[]): ReadinessSummary {
  const pollIntervalMs = servers.map((s) => (s.status as ServerStatus | undefined)?.pollIntervalMs).find((v): v is number => typeof v === 'number') ?? DEFAULT_POLL_INTERVAL_MS;
  const rows = servers.map(checkRow);
  const latencies = rows.map((r) => r.latencyMs).filter((l): l is number => l !== null);
  return {
    totalServers: rows.length,
    readyServers: rows.filter((r) => r.readiness === 'ready').length,
    attentionServers: rows.filter((r) => r.readiness === 'attention').length,
    blockedServers: rows.filter((r) => r.readiness === 'blocked').length,
    pollIntervalMs,
    averageLatencyMs: latencies.length ? Math.round((latencies.reduce((a, b) => a + b, 0) / latencies.length) * 10) / 10 : null,
  };
}

/** What an operator should do about a check, by check name and what it said. */
const ACTIONS: Array<{ check: string; when?: RegExp; action: string }> = [
  { check: 'hostKey', when: /mismatch/i, action: 'The server presented another host key than the pinned one. If the server was rebuilt, verify the new key out of band (ssh-keygen -lf /etc/ssh/ssh_host_ed25519_key.pub on the host) and set spec.hostKeyFingerprint to it; otherwise treat it as a possible man-in-the-middle.' },
  { check: 'ssh', when: /auth/i, action: 'The server refused the SSH key: check spec.user and that the SSHKey\'s public key is in that user\'s ~/.ssh/authorized_keys (holdfast access-assets ssh-key list shows the fingerprint).' },
  { check: 'ssh', when: /refused/i, action: 'Nothing accepts connections on the SSH port: check that sshd runs and spec.port is right.' },
  { check: 'ssh', when: /timed? ?out|timeout/i, action: 'The SSH port does not answer in time: check firewalls, the address, and that the port is sshd\'s.' },
  { check: 'ssh', when: /key/i, action: 'Attach an SSHKey to the server: holdfast access-assets ssh-key attach --key NAME --server SERVER.' },
  { check: 'ssh', action: 'Check that the host is up and reachable from the control plane (address, port, routing).' },
  { check: 'docker', when: /socket|no such file|ENOENT/i, action: 'The Docker socket is missing: start dockerd on the host, or set spec.dockerSocket to where it is.' },
  { check: 'docker', when: /permission|denied/i, action: 'The SSH user cannot use the Docker socket: add it to the docker group or log in as a user that can.' },
  { check: 'docker', action: 'Docker does not answer on the host: check that dockerd runs (systemctl status docker).' },
  { check: 'compose', action: 'Install Docker Compose v2 (the docker-compose-plugin package) if services on this host use compose files built on the host; Holdfast itself needs only the Docker Engine.' },
  { check: 'swarm', action: 'This server is declared a Swarm manager but its engine is not a manager: run docker swarm init (or join as a manager), or set spec.kind to docker-engine.' },
  { check: 'ipvs', action: 'The kernel lacks IPVS, so the Swarm ingress routing mesh will not route: publish ports in mode=host, or load the ip_vs kernel module.' },
  { check: 'disk', action: 'Free disk space on the Docker data root (docker system prune, remove old images) or grow the volume.' },
];

export function recommendedAction(check: Pick<ServerStatusCheck, 'name' | 'message'>): string {
  const hit = ACTIONS.find((a) => a.check === check.name && (!a.when || a.when.test(check.message ?? '')));
  return hit?.action ?? 'See the check message; holdfast describe server NAME shows the conditions and recent events.';
}

export function failingChecks(servers: Resource[]): FailingCheck[] {
  return servers.flatMap((s) =>
    ((s.status as ServerStatus | undefined)?.checks ?? [])
      .filter((c) => c.result === 'Fail' || c.result === 'Warn')
      .map((c) => ({ serverName: s.metadata.name, check: c.name, result: c.result, message: c.message ?? '', recommendedAction: recommendedAction(c) })),
  );
}
