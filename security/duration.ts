// Durations as operators write them for token lifetimes and time windows: `90s`, `15m`, `12h`,
// `30d`, `2w`; several parts add up (`1d12h`). Pure.
import { HoldfastError } from '../core/errors.js';

const UNIT_MS: Record<string, number> = { s: 1000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 7 * 86_400_000 };
const DURATION = /^(?:\d+[smhdw])+$/;

/** Milliseconds in `text`; throws a BadRequest naming `what` when it is not a duration. */
export function parseDuration(text: string, what = 'duration'): number {
  const trimmed = text.trim();
  if (!DURATION.test(trimmed)) {
    throw new HoldfastError('BadRequest', `invalid ${what} "${text}": use a number and a unit (s, m, h, d, w), e.g. 30d or 1h30m`);
  }
  let ms = 0;
  for (const [, n, unit] of trimmed.matchAll(/(\d+)([smhdw])/g)) ms += Number(n) * UNIT_MS[unit];
  if (ms <= 0 || !Number.isSafeInteger(ms)) throw new HoldfastError('BadRequest', `invalid ${what} "${text}": it must be positive`);
  return ms;
}

/** A point in time given as a duration ago (`1h`) or an RFC 3339 timestamp. */
export function parseSince(text: string, now: Date): Date {
  if (DURATION.test(text.trim())) return new Date(now.getTime() - parseDuration(text, 'since'));
  if (/^\d{4}-\d{2}-\d{2}T/.test(text)) {
    const at = Date.parse(text);
    if (!Number.isNaN(at)) return new Date(at);
  }
  throw new HoldfastError('BadRequest', `invalid since "${text}": use a duration (e.g. 1h, 7d) or an RFC 3339 time (e.g. 2026-01-31T12:00:00Z)`);
}
