// Live vs frozen: what the host runs for a Service against the input its last completed deployment
// froze. Per container: every field of the container model (core/deploy/compare.ts, after the
// normalisation of core/deploy/normalise-live.ts), its state (stopped, exited, restarting, paused,
// dead) and its Docker health; per Service: containers missing (replicas short, removed by hand)
// and containers carrying the Service's labels that the input does not declare. Pure.
import { diffContainerSpecs, isIgnored } from '../deploy/compare.js';
import { LABELS, MANAGED_BY, type ComponentSpec, type ContainerSpec, type FrozenInput } from '../deploy/container-spec.js';
import type { ContainerState, LiveContainer } from '../deploy/normalise-live.js';
import type { DriftEntry } from './types.js';
import { DEFAULT_CRASH_LOOP, replicaHealth, type ProbeRecord } from '../health/index.js';

export interface LiveDriftOptions {
  /** Readiness probe results by container name (the prober's); without them declared probes are not judged. */
  probes?: ReadonlyMap<string, ProbeRecord>;
  /** The exit code of each container's last death, by name. */
  lastExitCodes?: ReadonlyMap<string, number>;
  /** When the health of the replicas is judged (crash loops are a matter of time). */
  now?: Date;
  /**
   * The Service's driftPolicy.ignoreDifferences: paths within a container (`env.BUILD_ID`,
   * `labels`, `state.health`) or whole paths (`containers[hf_shop_production_web_1].env.X`).
   */
  ignorePaths?: readonly string[];
}

/** Docker's default network, which a container without declared networks is on. */
const DEFAULT_NETWORK = 'bridge';

/** The path of a container in the frozen input's shape. */
export const containerPath = (name: string) => `containers[${name}]`;

/**
 * Whether a container claims to be one of the Service's: Holdfast's managed-by label and the
 * Service's name, and no other project or environment. A container that lacks the rest of a
 * replica's labels (made by hand to look like one) still claims it, and shows as unexpected.
 */
export function claimsService(frozen: Pick<FrozenInput, 'project' | 'environment' | 'service'>, labels: Record<string, string> | null | undefined): boolean {
  if (!labels || labels[LABELS.managedBy] !== MANAGED_BY || labels[LABELS.service] !== frozen.service.name) return false;
  const project = labels[LABELS.project];
  const environment = labels[LABELS.environment];
  return (project === undefined || project === frozen.project) && (environment === undefined || environment === frozen.environment);
}

/** The state a container of this component may be in without being drift. */
function stateIsExpected(component: ComponentSpec | undefined, state: ContainerState): boolean {
  if (state.status === 'running' && !state.paused) return true;
  // A one-shot component (a dependency that must exit 0) is done once it has.
  return !!component?.runsToCompletion && state.status === 'exited' && state.exitCode === 0;
}

/** A container's state in one phrase: `exited (exit code 137)`, `restarting (4 restarts)`, `paused`. */
export function describeState(state: ContainerState): string {
  switch (state.status) {
    case 'exited': {
      const details = [`exit code ${state.exitCode}`, ...(state.oomKilled ? ['killed: out of memory'] : [])];
      return `exited (${details.join(', ')})`;
    }
    case 'restarting':
      return `restarting (${state.restartCount} restart${state.restartCount === 1 ? '' : 's'})`;
    default:
      return state.status;
  }
}

/**
 * The state fields of a live container that are drift: `status` when it is not running (as its
 * component expects), `health` when Docker reports it unhealthy. Empty when the state is as expected.
 */
export function stateDeviations(component: ComponentSpec | undefined, state: ContainerState): { status?: string; health?: string } {
  const out: { status?: string; health?: string } = {};
  if (!stateIsExpected(component, state)) out.status = describeState(state);
  else if (state.running && state.health === 'unhealthy') out.health = 'unhealthy';
  return out;
}

/** What a missing or unexpected container is, in a line: enough to recognise it. */
function containerSummary(container: ContainerSpec | LiveContainer): Record<string, unknown> {
  const summary: Record<string, unknown> = { image: container.image };
  if ('id' in container) {
    summary.id = container.id.slice(0, 12);
    summary.state = describeState(container.state);
  }
  return summary;
}

/**
 * Field-level drift of the host against the frozen input. `live` holds the host's containers
 * normalised against the frozen ones (buildLiveState); containers of other Services are passed
 * over, so the whole host's list may be given.
 */
export function diffLiveAgainstFrozen(frozen: FrozenInput, live: readonly LiveContainer[], options: LiveDriftOptions = {}): DriftEntry[] {
  const ignore = options.ignorePaths ?? [];
  const ours = live.filter((c) => claimsService(frozen, c.labels));
  const byName = new Map(ours.map((c) => [c.name, c]));
  const components = new Map(frozen.components.map((c) => [c.name, c]));
  const out: DriftEntry[] = [];
  const add = (container: string, relative: string | undefined, entry: Pick<DriftEntry, 'kind' | 'expected' | 'actual'>) => {
    const path = relative === undefined ? containerPath(container) : `${containerPath(container)}.${relative}`;
    if (isIgnored(path, ignore) || (relative !== undefined && isIgnored(relative, ignore))) return;
    out.push({ ...entry, path, source: 'live-vs-frozen' });
  };

  const declared = new Set<string>();
  for (const expected of frozen.containers) {
    declared.add(expected.name);
    const actual = byName.get(expected.name);
    if (!actual) {
      add(expected.name, undefined, { kind: 'missing', expected: containerSummary(expected) });
      continue;
    }
    for (const { path, ...diff } of diffContainerSpecs(expected, actual)) add(expected.name, path, diff);
    if (actual.disconnectedFromDefault && expected.networks.length === 0 && !expected.networkMode) {
      add(expected.name, `networks[${DEFAULT_NETWORK}]`, { kind: 'missing', expected: { name: DEFAULT_NETWORK } });
    }
    const component = components.get(expected.component);
    const probe = component?.readiness && options.probes ? { spec: component.readiness, record: options.probes.get(expected.name) } : undefined;
    const health = replicaHealth(
      { name: expected.name, state: actual.state, runsToCompletion: component?.runsToCompletion, ...(probe ? { probe } : {}), lastExitCode: options.lastExitCodes?.get(expected.name) },
      options.now ?? new Date(),
      DEFAULT_CRASH_LOOP,
    );
    if (health.state === 'CrashLoopBackOff') {
      // One stable value while the loop goes on: the restart count and the running/restarting flips stay out of it.
      add(expected.name, 'state.status', { kind: 'changed', expected: 'running', actual: `crash loop${health.exitCode !== undefined ? ` (exit code ${health.exitCode})` : ''}` });
      continue;
    }
    const deviations = stateDeviations(component, actual.state);
    if (deviations.status) add(expected.name, 'state.status', { kind: 'changed', expected: 'running', actual: deviations.status });
    if (deviations.health) add(expected.name, 'state.health', { kind: 'changed', expected: 'healthy', actual: deviations.health });
    else if (health.state === 'ProbeFailing') {
      add(expected.name, 'state.health', { kind: 'changed', expected: 'healthy', actual: `readiness probe failing (failureThreshold ${component!.readiness!.failureThreshold} reached)` });
    }
  }
  for (const extra of ours) {
    if (!declared.has(extra.name)) add(extra.name, undefined, { kind: 'unexpected', actual: containerSummary(extra) });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
