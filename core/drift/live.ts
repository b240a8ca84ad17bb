// Live vs frozen: what the host runs for a Service against the input its last completed deployment
// froze. Per container: every field of the container model (core/deploy/compare.ts, after the
// normalisation of core/deploy/normalise-live.ts), its state (stopped, exited, restarting, paused,
// dead) and its Docker health; per Service: containers missing (replicas short, removed by hand)
// and containers carrying the Service's labels that the input does not declare. Pure.
import { diffContainerSpecs, isIgnored } from '../deploy/compare.js';
import { ownerOf, type ComponentSpec, type ContainerSpec, type FrozenInput } from '../deploy/container-spec.js';
import type { ContainerState, LiveContainer } from '../deploy/normalise-live.js';
import type { DriftEntry } from './types.js';

export interface LiveDriftOptions {
  /**
   * The Service's driftPolicy.ignoreDifferences: paths within a container (`env.BUILD_ID`,
   * `labels`, `state.health`) or whole paths (`containers[hf_shop_production_web_1].env.X`).
   */
  ignorePaths?: readonly string[];
}

/** The path of a container in the frozen input's shape. */
export const containerPath = (name: string) => `containers[${name}]`;

/** Whether a container carries the labels of the frozen input's Service (same project, environment and service). */
export function belongsTo(frozen: Pick<FrozenInput, 'project' | 'environment' | 'service'>, container: Pick<LiveContainer, 'labels'>): boolean {
  const owner = ownerOf(container.labels);
  return !!owner && owner.project === frozen.project && owner.environment === frozen.environment && owner.service === frozen.service.name;
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
  const ours = live.filter((c) => belongsTo(frozen, c));
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
    const deviations = stateDeviations(components.get(expected.component), actual.state);
    if (deviations.status) add(expected.name, 'state.status', { kind: 'changed', expected: 'running', actual: deviations.status });
    if (deviations.health) add(expected.name, 'state.health', { kind: 'changed', expected: 'healthy', actual: deviations.health });
  }
  for (const extra of ours) {
    if (!declared.has(extra.name)) add(extra.name, undefined, { kind: 'unexpected', actual: containerSummary(extra) });
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
