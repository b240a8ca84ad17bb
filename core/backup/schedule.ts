// When a BackupPolicy runs next: its cron schedule (five fields or @daily and friends), read in UTC.
import { CronExpressionParser } from 'cron-parser';
import { HoldfastError } from '../errors.js';

/** The first time strictly after `after` that `schedule` names, in UTC. */
export function nextScheduleTime(schedule: string, after: Date): Date {
  let expression;
  try {
    expression = CronExpressionParser.parse(schedule.trim(), { currentDate: after, tz: 'UTC' });
  } catch (err) {
    throw new HoldfastError('Invalid', `spec.schedule "${schedule}" is not a valid cron expression: ${(err as Error).message}`, {
      causes: [{ field: 'spec.schedule', message: (err as Error).message, reason: 'FieldValueInvalid' }],
    });
  }
  return expression.next().toDate();
}

/**
 * Whether a scheduled run is due now: the recorded next time has come. A policy without a recorded
 * time (new, or its schedule changed) is not due: its first run is the schedule's next time, as a
 * Kubernetes CronJob does not run at creation.
 */
export function isDue(recordedNext: string | undefined, now: Date): boolean {
  if (!recordedNext) return false;
  const at = Date.parse(recordedNext);
  return Number.isFinite(at) && at <= now.getTime();
}
