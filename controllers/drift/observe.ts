// Reads one Service's three views — declared (its spec rendered now), frozen (the input of its last
// completed deployment) and live (its server's live-state cache, normalised) — and runs the drift
// engine over them. Shared by the drift controller (which records what it finds) and the views API
// (which shows it).
import type { FrozenInput } from '../../core/deploy/container-spec.js';
import { isIgnored } from '../../core/deploy/compare.js';
import { publishModeOf, swarmServicePlans } from '../../core/deploy/swarm-spec.js';
import { diffSwarmAgainstFrozen, swarmServicePath } from '../../core/drift/swarm.js';
import { diffSwarmTasks, diffTaskPlacement } from '../../core/swarm/tasks.js';
import type { PlacementNode } from '../../core/swarm/placement.js';
import type { LiveContainer } from '../../core/deploy/normalise-live.js';
import { computeServiceDrift, serviceLiveContainers, sortEntries, type DriftEntry, type LiveView, type ServiceDrift } from '../../core/drift/index.js';
import { HoldfastError } from '../../core/errors.js';
import type { ProbeRecord } from '../../core/health/index.js';
import type { Service } from '../../core/schema/types.generated.js';
import type { HostConnection } from '../../hosts/index.js';
import { isTerminal, type DeploymentRecord, type DeploymentStore } from '../../store/deployments.js';
import type { ServerConnector } from '../servers/server-connector.js';
import { connectedHost } from '../../hosts/host-access.js';
import { observeSwarmServices, type ObservedSwarmService } from '../services/swarm-live.js';

export interface ObserveDeps {
  deployments: DeploymentStore;
  connector: ServerConnector;
  /** The declared spec rendered as a deployment would freeze it (secrets as hashes). */
  render(service: Service): Promise<FrozenInput>;
  /** The keyed hash frozen inputs carry for secret values. */
  hashSecret(value: string): string;
  /** The readiness probe results of these containers (the service controller's prober). */
  probeRecords?(containers: readonly string[]): ReadonlyMap<string, ProbeRecord>;
  clock?: () => Date;
}

export interface ObserveOptions {
  /** How long to wait for a server's live state to be listed for the first time. */
  hostWaitMs?: number;
  /** After a deployment ends, how long the host is left to settle before live drift is judged. */
  settleMs?: number;
}

export interface ServiceObservation {
  service: Service;
  latest?: DeploymentRecord;
  /** The last completed deployment: its input is the frozen view. */
  completed?: DeploymentRecord;
  frozen?: FrozenInput;
  declared?: FrozenInput;
  /** Why the declared spec could not be rendered. */
  declaredError?: string;
  server: string;
  /** Why the server's live state could not be read (or is not current). */
  hostError?: string;
  /** No Server of that name is declared: there is nothing to look at until one is (its creation enqueues the Service). */
  serverMissing?: boolean;
  connection?: HostConnection;
  /** A deployment runs, or ended moments ago: live drift is not judged now. */
  rolloutInProgress: boolean;
  /** When live drift can be judged again after the last deployment ended. */
  settledAt?: Date;
  /** The Service runs as a Swarm service on a manager: live drift compares the service's spec, not containers. */
  swarm?: boolean;
  drift: ServiceDrift;
}

const DEFAULT_HOST_WAIT_MS = 10_000;
const DEFAULT_SETTLE_MS = 250;

export async function observeService(deps: ObserveDeps, service: Service, signal?: AbortSignal, options: ObserveOptions = {}): Promise<ServiceObservation> {
  const now = deps.clock?.() ?? new Date();
  const uid = service.metadata.uid!;
  const latest = await deps.deployments.latest(uid);
  const completed = latest?.phase === 'completed' ? latest : await deps.deployments.lastCompleted(uid);
  const frozen = completed?.frozen;
  const server = frozen?.target.server ?? service.spec!.server;

  let declared: FrozenInput | undefined;
  let declaredError: string | undefined;
  try {
    declared = await deps.render(service);
  } catch (err) {
    if (!(err instanceof HoldfastError)) throw err;
    declaredError = err.message;
  }

  const running = !!latest && !isTerminal(latest.phase);
  const endedAt = latest?.finishedAt ? Date.parse(latest.finishedAt) : undefined;
  const settleMs = options.settleMs ?? DEFAULT_SETTLE_MS;
  const settling = !running && endedAt !== undefined && now.getTime() - endedAt < settleMs;
  const rolloutInProgress = running || settling;

  let connection: HostConnection | undefined;
  let hostError: string | undefined;
  let serverMissing = false;
  let live: LiveContainer[] | undefined;
  const lastExitCodes = new Map<string, number>();
  let swarm = false;
  let swarmEntries: DriftEntry[] | undefined;
  let swarmLive: LiveView | undefined;
  try {
    const serverResource = await deps.connector.server(server);
    // A Swarm service's tasks are not the containers of the frozen input: its spec is compared instead.
    swarm = (serverResource.spec as { kind?: string } | undefined)?.kind === 'docker-swarm-manager';
    connection = await deps.connector.connectionFor(serverResource);
    const cache = connection.liveState;
    const wait = AbortSignal.any([AbortSignal.timeout(options.hostWaitMs ?? DEFAULT_HOST_WAIT_MS), ...(signal ? [signal] : [])]);
    const snapshot = await connectedHost(connection).snapshot(wait, { full: false });
    const status = cache.status;
    if (!status.watching) {
      hostError = `the live state of server ${server} is not current: its event stream is reconnecting${status.lastError ? ` (${status.lastError.message})` : ''}`;
    } else if (swarm) {
      const liveState = cache.snapshot();
      const publishMode = publishModeOf((serverResource.status as { checks?: Array<{ name: string; result: string }> } | undefined)?.checks);
      const input = frozen ?? declared;
      let observed: ObservedSwarmService[] = [];
      try {
        if (input) observed = observeSwarmServices(liveState, swarmServicePlans(input, { publishMode }));
      } catch (err) {
        // An input Swarm cannot run as declared: its rollout failed saying why; nothing runs to show.
        if (!(err instanceof RangeError)) throw err;
      }
      swarmLive = {
        target: { server },
        containers: [],
        services: observed.flatMap(({ plan, service: s, tasks }) => (s ? [{ name: plan.name, id: s.ID, replicas: s.Spec?.Mode?.Replicated?.Replicas, updateState: s.UpdateStatus?.State, tasks }] : [])),
      };
      if (frozen) {
        const ignorePaths = (service.spec!.driftPolicy?.ignoreDifferences ?? []).map((d) => d.path);
        swarmEntries = diffSwarmAgainstFrozen(frozen, [...liveState.services.values()], { publishMode, hashSecret: deps.hashSecret, ignorePaths });
        const nodes = [...liveState.nodes.values()] as PlacementNode[];
        for (const { plan, service: s, tasks } of observed) {
          if (!s) continue;
          const base = swarmServicePath(plan.name);
          const entries = [...diffSwarmTasks(base, tasks, plan.global ? undefined : plan.replicas), ...diffTaskPlacement(base, tasks, nodes, plan.constraints)];
          swarmEntries.push(...entries.filter((e) => !isIgnored(e.path, ignorePaths)));
        }
      }
    } else {
      live = serviceLiveContainers(snapshot, frozen, { hashSecret: deps.hashSecret });
      for (const c of live) {
        const code = cache.lastExitCode(c.id);
        if (code !== undefined) lastExitCodes.set(c.name, code);
      }
    }
  } catch (err) {
    if (signal?.aborted) throw err;
    hostError = `cannot read the live state of server ${server}: ${(err as Error)?.message ?? String(err)}`;
    serverMissing = err instanceof HoldfastError && err.reason === 'NotFound' && err.details?.kind === 'Server';
  }

  const owner = declared ?? {
    project: service.metadata.namespace!,
    environment: service.spec!.environment,
    service: { namespace: service.metadata.namespace!, name: service.metadata.name, uid },
  };
  const drift = computeServiceDrift({
    server,
    owner,
    declared,
    frozen,
    live,
    ignorePaths: (service.spec!.driftPolicy?.ignoreDifferences ?? []).map((d) => d.path),
    rolloutInProgress,
    health: { probes: frozen && deps.probeRecords?.(frozen.containers.map((c) => c.name)), lastExitCodes, now },
  });
  if (swarmEntries && frozen && !rolloutInProgress) {
    drift.entries = sortEntries([...drift.entries, ...swarmEntries]);
    drift.checked = [...drift.checked, 'live-vs-frozen'];
  }
  if (swarmLive) drift.live = swarmLive;
  return {
    service,
    latest,
    completed,
    frozen,
    declared,
    declaredError,
    server,
    hostError,
    ...(serverMissing ? { serverMissing } : {}),
    connection,
    rolloutInProgress,
    ...(settling ? { settledAt: new Date(endedAt! + settleMs) } : {}),
    ...(swarm ? { swarm } : {}),
    drift,
  };
}
