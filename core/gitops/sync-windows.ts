// Deny windows of a GitRepository: each opens at the times its cron schedule names (UTC) and stays
// open for its duration; while one is open only manual syncs run. Overlapping windows (of one
// schedule whose duration outlasts its period, or of several) close when the last of them does. Pure.
import { nextScheduleTime, previousScheduleTime } from '../backup/schedule.js';
import { parseDuration } from '../duration.js';

export interface SyncWindow {
  kind: 'deny';
  /** Cron, five fields or @daily and friends, in UTC. */
  schedule: string;
  /** How long the window stays open, e.g. 2h. */
  duration: string;
}

export type WindowState =
  /** A deny window is open; syncs other than manual ones wait until `closesAt`. */
  | { denied: true; closesAt: Date }
  /** No deny window is open; the next opens at `opensAt` (none when there are no windows). */
  | { denied: false; opensAt?: Date };

/** Enough to follow any chain of overlapping windows a sane schedule makes. */
const MAX_CHAIN = 1000;

export function syncWindowState(windows: readonly SyncWindow[], now: Date): WindowState {
  const parsed = windows.map((w, i) => ({ ...w, field: `spec.windows[${i}]`, ms: parseDuration(w.duration, { what: `spec.windows[${i}].duration`, positive: true }) }));
  const openUntil = (at: Date): Date | undefined => {
    let until: Date | undefined;
    for (const w of parsed) {
      // The last opening at or before `at`.
      const opened = previousScheduleTime(w.schedule, new Date(at.getTime() + 1), `${w.field}.schedule`);
      const closes = new Date(opened.getTime() + w.ms);
      if (closes > at && (!until || closes > until)) until = closes;
    }
    return until;
  };
  let closesAt = openUntil(now);
  if (!closesAt) {
    const opens = parsed.map((w) => nextScheduleTime(w.schedule, now, `${w.field}.schedule`).getTime());
    return opens.length ? { denied: false, opensAt: new Date(Math.min(...opens)) } : { denied: false };
  }
  for (let i = 0; i < MAX_CHAIN; i++) {
    const later = openUntil(closesAt);
    if (!later) break;
    closesAt = later;
  }
  return { denied: true, closesAt };
}
