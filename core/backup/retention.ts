// Which backups a retention policy keeps: the newest `keepLast`, and the newest of each of the last
// `keepDaily` days, `keepWeekly` ISO weeks and `keepMonthly` months (UTC) that have a backup, as
// restic's `forget --keep-*` counts them. A backup kept by any rule is kept, and the newest always is:
// a policy never deletes the backup it has just written.
export interface RetentionRules {
  keepLast?: number;
  keepDaily?: number;
  keepWeekly?: number;
  keepMonthly?: number;
}

export interface Dated {
  name: string;
  time: Date;
}

export interface RetentionVerdict<T extends Dated> {
  keep: T[];
  remove: T[];
}

const day = (t: Date) => t.toISOString().slice(0, 10);
const month = (t: Date) => t.toISOString().slice(0, 7);
function isoWeek(t: Date): string {
  const d = new Date(Date.UTC(t.getUTCFullYear(), t.getUTCMonth(), t.getUTCDate()));
  const weekday = d.getUTCDay() || 7;
  d.setUTCDate(d.getUTCDate() + 4 - weekday);
  const yearStart = Date.UTC(d.getUTCFullYear(), 0, 1);
  const week = Math.ceil(((d.getTime() - yearStart) / 86_400_000 + 1) / 7);
  return `${d.getUTCFullYear()}-W${String(week).padStart(2, '0')}`;
}

/** Splits `backups` into those kept and those to delete; both newest first. */
export function selectRetained<T extends Dated>(backups: readonly T[], rules: RetentionRules): RetentionVerdict<T> {
  const sorted = [...backups].sort((a, b) => b.time.getTime() - a.time.getTime() || b.name.localeCompare(a.name));
  const kept = new Set<T>(sorted.slice(0, 1));
  sorted.slice(0, Math.max(0, rules.keepLast ?? 0)).forEach((b) => kept.add(b));
  const byPeriod = (count: number | undefined, period: (t: Date) => string) => {
    if (!count) return;
    const seen = new Set<string>();
    for (const b of sorted) {
      const p = period(b.time);
      if (seen.has(p)) continue;
      seen.add(p);
      if (seen.size > count) break;
      kept.add(b);
    }
  };
  byPeriod(rules.keepDaily, day);
  byPeriod(rules.keepWeekly, isoWeek);
  byPeriod(rules.keepMonthly, month);
  return { keep: sorted.filter((b) => kept.has(b)), remove: sorted.filter((b) => !kept.has(b)) };
}
