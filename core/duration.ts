// Durations as operators write them, one grammar for every flag and field: Go's units as kubectl
// takes them (`500ms`, `30s`, `1m30s`, `1.5h`) and the days and weeks of token lifetimes and
// retention (`7d`, `2w`); parts add up (`1d12h`). Also points in time given as a duration ago or an
// RFC 3339 timestamp. Pure. Compose files keep Compose's own grammar (core/deploy/units.ts).
import { HoldfastError } from './errors.js';

const UNIT_MS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
const DURATION = /^(?:\d+(?:\.\d+)?(?:ms|s|m|h|d|w))+$/;
const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/g;

export interface DurationRules {
  /** What the value is, for the error (`--timeout`, `spec.interval`). */
  what?: string;
  /** A bare number counts as seconds (kubectl's `--timeout=30`); `0` is then none. */
  bareSeconds?: boolean;
  /** Zero is refused (lifetimes, intervals). */
  positive?: boolean;
}

/** True when `text` is written in the duration grammar (a unit on every number). */
export const isDuration = (text: string): boolean => DURATION.test(text.trim());

/** Milliseconds in `text`; throws a BadRequest naming `what` when it is not a duration. */
export function parseDuration(text: string, rules: DurationRules = {}): number {
  const what = rules.what ?? 'duration';
  const trimmed = text.trim();
  let ms: number | undefined;
  if (rules.bareSeconds && /^\d+(\.\d+)?$/.test(trimmed)) ms = Number(trimmed) * 1000;
  else if (DURATION.test(trimmed)) {
    ms = 0;
    for (const [, n, unit] of trimmed.matchAll(PART)) ms += Number(n) * UNIT_MS[unit];
  }
  if (ms === undefined || !Number.isSafeInteger(Math.round(ms))) {
    throw new HoldfastError('BadRequest', `invalid ${what} "${text}": use a number and a unit (ms, s, m, h, d, w), e.g. 30s, 1m30s or 7d`);
  }
  if (rules.positive && ms <= 0) throw new HoldfastError('BadRequest', `invalid ${what} "${text}": it must be positive`);
  return Math.round(ms);
}

/** Milliseconds in `text` (a positive duration); throws a BadRequest naming `what` when it is not one. */
export const parsePositiveDuration = (text: string, what = 'duration'): number => parseDuration(text, { what, positive: true });

/** A point in time given as a duration ago (`1h`) or an RFC 3339 timestamp. */
export function parseSince(text: string, now: Date): Date {
  if (isDuration(text)) {
    const at = new Date(now.getTime() - parsePositiveDuration(text, 'since'));
    if (!Number.isNaN(at.getTime())) return at;
  }
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const at = Date.parse(text);
    if (!Number.isNaN(at)) return new Date(at);
  }
  throw new HoldfastError('BadRequest', `invalid since "${text}": use a duration (e.g. 1h, 7d) or an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)`);
}
