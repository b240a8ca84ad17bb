// The drift engine's vocabulary: one entry per field that differs between two views of a Service.
import type { FieldDiffKind } from '../deploy/compare.js';

/**
 * Which two views differ: the host against the deployed input (someone or something changed the
 * host), or the declared spec against the deployed input (a change not rolled out yet, or a rollout
 * that failed).
 */
export type DriftSource = 'live-vs-frozen' | 'declared-vs-frozen';

export const DRIFT_SOURCES: readonly DriftSource[] = ['live-vs-frozen', 'declared-vs-frozen'];

export interface DriftEntry {
  /**
   * Where, in the frozen input's shape: `containers[hf_shop_production_web_1].env.GREETING`,
   * `containers[hf_shop_production_web_1].state.status`, `containers[hf_shop_production_web_2]`,
   * `update.order`.
   */
  path: string;
  kind: FieldDiffKind;
  /** Live vs frozen: the frozen value. Declared vs frozen: the declared value. Secrets as hashes only. */
  expected?: unknown;
  /** Live vs frozen: what the host shows. Declared vs frozen: the frozen value. */
  actual?: unknown;
  source: DriftSource;
}

/** An entry as the API reports it: with when the drift was first and last seen. */
export interface ObservedDriftEntry extends DriftEntry {
  firstSeen?: string;
  lastSeen?: string;
}

export interface DriftCounts {
  count: number;
  liveVsFrozen: number;
  declaredVsFrozen: number;
}

export function countDrift(entries: readonly Pick<DriftEntry, 'source'>[]): DriftCounts {
  const liveVsFrozen = entries.filter((e) => e.source === 'live-vs-frozen').length;
  return { count: entries.length, liveVsFrozen, declaredVsFrozen: entries.length - liveVsFrozen };
}

/** Entries in a stable order: live vs frozen first, then by path. */
export function sortEntries<T extends Pick<DriftEntry, 'source' | 'path'>>(entries: readonly T[]): T[] {
  const rank = (e: T) => (e.source === 'live-vs-frozen' ? 0 : 1);
  return [...entries].sort((a, b) => rank(a) - rank(b) || (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
