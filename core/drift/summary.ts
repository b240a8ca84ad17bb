// The Drifted condition and the one-line summaries conditions and events carry. Paths only, never
// values: a message must be safe to show whatever the field holds. Pure.
import type { ConditionStatus } from '../resource.js';
import { countDrift, sortEntries, type DriftEntry } from './types.js';

const LISTED_PATHS = 5;

/** `containers[hf_shop_production_web_1].env.GREETING changed, … (and 3 more)` */
export function describeEntries(entries: readonly Pick<DriftEntry, 'path' | 'kind' | 'source'>[], max = LISTED_PATHS): string {
  const sorted = sortEntries(entries);
  const listed = sorted.slice(0, max).map((e) => `${e.path} ${e.kind}`);
  const rest = sorted.length - listed.length;
  return rest > 0 ? `${listed.join(', ')} (and ${rest} more)` : listed.join(', ');
}

export type DriftPhase =
  /** Nothing deployed yet, or the host could not be read: drift is not known. */
  | { kind: 'unknown'; reason: 'NotDeployed' | 'ServerUnavailable'; message: string }
  | { kind: 'report' }
  /** A heal deployment was queued or runs. */
  | { kind: 'healing'; deployment: string }
  /** No heal before `retryAt`: the window's budget is spent, or (`wait`) the last heal was too recent. */
  | { kind: 'backoff'; healsInWindow: number; windowMinutes: number; retryAt: Date; wait?: HealWait };

/** Why a heal waits after the last one: how long, and how that one ended. */
export interface HealWait {
  seconds: number;
  maxHeals: number;
  lastHeal: { id: string; phase: string; reason?: string };
}

export interface DriftConditionValue {
  status: ConditionStatus;
  reason: string;
  message: string;
}

/** The Drifted condition for a Service's open drift entries. */
export function driftCondition(entries: readonly Pick<DriftEntry, 'path' | 'kind' | 'source'>[], phase: DriftPhase, server: string): DriftConditionValue {
  if (phase.kind === 'unknown') return { status: 'Unknown', reason: phase.reason, message: phase.message };
  const counts = countDrift(entries);
  if (counts.count === 0) return { status: 'False', reason: 'InSync', message: `what runs on server ${server} matches the deployed input, and the declared spec is rolled out` };
  const parts: string[] = [];
  const live = entries.filter((e) => e.source === 'live-vs-frozen');
  const declared = entries.filter((e) => e.source === 'declared-vs-frozen');
  if (live.length) parts.push(`${live.length} field(s) on server ${server} differ from the deployed input: ${describeEntries(live)}`);
  if (declared.length) parts.push(`${declared.length} declared change(s) not rolled out: ${describeEntries(declared)}`);
  const summary = parts.join('; ');
  if (live.length === 0) return { status: 'True', reason: 'NotRolledOut', message: summary };
  switch (phase.kind) {
    case 'healing':
      return { status: 'True', reason: 'Healing', message: `${summary}; deployment ${phase.deployment} puts it back` };
    case 'backoff': {
      if (phase.wait) {
        const { lastHeal, seconds, maxHeals } = phase.wait;
        const outcome = lastHeal.phase === 'completed' ? 'completed, and the drift came back' : `${lastHeal.phase}${lastHeal.reason ? ` (${lastHeal.reason})` : ''}`;
        return {
          status: 'True',
          reason: 'HealBackoff',
          message: `${summary}; the last heal (deployment ${lastHeal.id}) ${outcome}, so the next heal waits ${seconds} s, until ${phase.retryAt.toISOString()} (heal ${phase.healsInWindow + 1} of at most ${maxHeals} in ${phase.windowMinutes} minutes; holdfast sync converges it now)`,
        };
      }
      return {
        status: 'True',
        reason: 'HealBackoff',
        message: `${summary}; healed ${phase.healsInWindow} times in the last ${phase.windowMinutes} minutes, so not healing again before ${phase.retryAt.toISOString()} (holdfast sync converges it now)`,
      };
    }
    default:
      return { status: 'True', reason: 'LiveChanged', message: summary };
  }
}
