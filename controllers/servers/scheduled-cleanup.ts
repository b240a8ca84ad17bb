// A Server's scheduled cleanup (spec.cleanup): when its cron time has come, the same preview and run
// as `holdfast server cleanup` (the run plans again and removes only what the preview listed), of
// Holdfast's own objects only, recorded as an audit row and a Cleanup event on the Server.
import { isDue, nextScheduleTime } from '../../core/backup/schedule.js';
import type { Server, ServerStatusCleanup } from '../../core/schema/types.generated.js';
import type { Logger } from '../../observability/logger.js';
import { writeAudit } from '../../store/audit.js';
import type { Db } from '../../store/database.js';
import type { EventRecorder } from '../events.js';
import { DEFAULT_KEEP_DEPLOYMENTS, describeCleanupRun, type CleanupOptions, type ServerCleanup } from './server-cleanup.js';

export const SCHEDULED_CLEANUP_ACTOR = 'system:controller:server';

export interface ScheduledCleanupLook {
  /** status.cleanup to write; undefined when the Server declares no schedule. */
  status?: ServerStatusCleanup;
  /** When the next run is due, to look again then. */
  nextAt?: Date;
}

export class ScheduledCleanup {
  constructor(private readonly deps: { cleanup: ServerCleanup; db: Db; events: EventRecorder; log: Logger }) {}

  async reconcile(server: Server, previous: ServerStatusCleanup | undefined, now: Date, signal: AbortSignal): Promise<ScheduledCleanupLook> {
    const declared = server.spec?.cleanup;
    if (!declared) return {};
    const kept = { ...(previous?.lastScheduleTime ? { lastScheduleTime: previous.lastScheduleTime } : {}), ...(previous?.lastResult ? { lastResult: previous.lastResult } : {}) };
    let next: Date;
    try {
      next = nextScheduleTime(declared.schedule, now, 'spec.cleanup.schedule');
    } catch (err) {
      return { status: { ...kept, lastResult: (err as Error).message } };
    }
    if (declared.suspend) return { status: kept };
    // The recorded time is the schedule's next after the previous look: once it has passed, a run is due.
    // Recomputed at every look, so a changed schedule counts from now.
    if (!isDue(previous?.nextScheduleTime, now)) return { status: { ...kept, nextScheduleTime: next.toISOString() }, nextAt: next };

    const options: CleanupOptions = { all: false, keepDeployments: declared.keepDeployments ?? DEFAULT_KEEP_DEPLOYMENTS, ...(declared.project ? { project: declared.project } : {}) };
    const lastResult = await this.run(server, options, now, signal);
    return { status: { lastScheduleTime: now.toISOString(), lastResult, nextScheduleTime: next.toISOString() }, nextAt: next };
  }

  /** A preview and the run of exactly it; what it did, as the audit row and the event say it. */
  private async run(server: Server, options: CleanupOptions, now: Date, signal: AbortSignal): Promise<string> {
    const name = server.metadata.name;
    let message: string;
    let failed: boolean;
    try {
      const preview = await this.deps.cleanup.preview(server, options, signal);
      const result = await this.deps.cleanup.run(server, options, preview.remove.map((i) => i.id), signal);
      message = describeCleanupRun(result, options);
      failed = result.failed.length > 0;
    } catch (err) {
      if (signal.aborted) throw err;
      message = `could not run: ${(err as Error).message}`;
      failed = true;
    }
    this.deps.log.info({ server: name, failed, message }, 'scheduled cleanup ran');
    await writeAudit(this.deps.db, { actor: SCHEDULED_CLEANUP_ACTOR, verb: 'cleanup', kind: 'Server', name, outcome: failed ? 'Failure' : 'Success', message: `scheduled (spec.cleanup): ${message}` }, now);
    await this.deps.events.record(server, failed ? 'Warning' : 'Normal', 'Cleanup', `scheduled (spec.cleanup): ${message}`).catch((err) => this.deps.log.warn({ err, server: name }, 'could not record the cleanup event'));
    return message;
  }
}
