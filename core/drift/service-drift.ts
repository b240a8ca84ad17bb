// One Service's drift from its three views: live vs frozen (unless the host could not be read) and
// declared vs frozen, neither while a rollout is changing the host. Pure: the caller reads the store
// and the host's live-state cache.
import type { FrozenInput } from '../deploy/container-spec.js';
import type { LiveContainer } from '../deploy/normalise-live.js';
import { diffDeclaredAgainstFrozen } from './declared.js';
import { diffLiveAgainstFrozen, type LiveDriftOptions } from './live.js';
import { sortEntries, type DriftEntry, type DriftSource } from './types.js';
import { buildLiveView, type LiveView } from './views.js';

export interface ServiceDriftInput {
  /** The server the Service's containers run on (the frozen input's target, else the declared one). */
  server: string;
  /** Whose containers to look at when nothing was deployed yet. */
  owner: Pick<FrozenInput, 'project' | 'environment' | 'service'>;
  /** The declared spec rendered now; undefined when it cannot be rendered (invalid, missing Secret). */
  declared?: FrozenInput;
  /** The input of the last completed deployment; undefined before the first one completes. */
  frozen?: FrozenInput;
  /** The host's containers, normalised against the frozen ones; undefined when the host could not be read. */
  live?: readonly LiveContainer[];
  /** driftPolicy.ignoreDifferences (applies to live vs frozen). */
  ignorePaths?: readonly string[];
  /** A deployment is changing the host: neither source is judged until it ends. */
  rolloutInProgress?: boolean;
  /** What the replicas' health is judged from beside their state: probe results, last exit codes, the time. */
  health?: Pick<LiveDriftOptions, 'probes' | 'lastExitCodes' | 'now'>;
}

export interface ServiceDrift {
  entries: DriftEntry[];
  /** The sources that were judged this time; entries of the others are neither added nor cleared. */
  checked: DriftSource[];
  live?: LiveView;
}

export function computeServiceDrift(input: ServiceDriftInput): ServiceDrift {
  const entries: DriftEntry[] = [];
  const checked: DriftSource[] = [];
  if (input.frozen && input.live && !input.rolloutInProgress) {
    entries.push(...diffLiveAgainstFrozen(input.frozen, input.live, { ignorePaths: input.ignorePaths, ...input.health }));
    checked.push('live-vs-frozen');
  } else if (!input.frozen && input.live) {
    // Nothing deployed, so nothing can have drifted from it.
    checked.push('live-vs-frozen');
  }
  // A rollout running is the declared spec on its way out: only one that ended short of it is drift.
  if (input.declared && input.frozen && !input.rolloutInProgress) {
    entries.push(...diffDeclaredAgainstFrozen(input.declared, input.frozen));
    checked.push('declared-vs-frozen');
  } else if (!input.frozen) {
    checked.push('declared-vs-frozen');
  }
  const live = input.live ? buildLiveView(input.server, input.frozen, input.live, input.frozen ?? input.owner) : undefined;
  return { entries: sortEntries(entries), checked, ...(live ? { live } : {}) };
}
