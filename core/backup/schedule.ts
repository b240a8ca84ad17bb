// When a scheduled job (a BackupPolicy's backup, a Server's cleanup) runs next: its cron schedule
// (five fields or @daily and friends), read in UTC.
import { CronExpressionParser } from 'cron-parser';
import { HoldfastError } from '../errors.js';

/** The first time strictly after `after` that `schedule` names, in UTC; `field` names it in the error. */
export function nextScheduleTime(schedule: string, after: Date, field = 'spec.schedule'): Date {
  return parseSchedule(schedule, after, field).next().toDate();
}

/** The last time strictly before `before` that `schedule` names, in UTC. */
export function previousScheduleTime(schedule: string, before: Date, field = 'spec.schedule'): Date {
  return parseSchedule(schedule, before, field).prev().toDate();
}

function parseSchedule(schedule: string, currentDate: Date, field: string) {
  try {
    return CronExpressionParser.parse(schedule.trim(), { currentDate, tz: 'UTC' });
  } catch (err) {
    throw new HoldfastError('Invalid', `${field} "${schedule}" is not a valid cron expression: ${(err as Error).message}`, {
      causes: [{ field, message: (err as Error).message, reason: 'FieldValueInvalid' }],
    });
  }
}

/**
 * Whether a scheduled run is due now: the recorded next time has come. A job without a recorded
 * time (new, or its schedule changed) is not due: its first run is the schedule's next time, as a
 * Kubernetes CronJob does not run at creation.
 */
export function isDue(recordedNext: string | undefined, now: Date): boolean {
  if (!recordedNext) return false;
  const at = Date.parse(recordedNext);
  return Number.isFinite(at) && at <= now.getTime();
}
