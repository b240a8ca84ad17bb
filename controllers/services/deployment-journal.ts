// What a running deployment records — its phase, its steps' transitions and its log lines — gathered
// and written together, so a rollout costs a write per step instead of one per line: everything at
// each step's end (`flush`), and the log lines alone when LINES_PER_WRITE of them wait or
// FLUSH_AFTER_MS after the first one. Each change keeps the time it happened. A write that fails
// keeps what it carried for the next one.
import type { ProgressChange } from '../../core/deploy/deployment-progress.js';
import type { DeploymentPhase, DeploymentRecord, DeploymentStore, PendingLogLine, StepName } from '../../store/deployments.js';

const LINES_PER_WRITE = 50;
const FLUSH_AFTER_MS = 100;

export class DeploymentJournal {
  private changes: ProgressChange[] = [];
  private lines: PendingLogLine[] = [];
  private timer: NodeJS.Timeout | undefined;
  /** Writes run one after the other, in the order they were asked for. */
  private writing: Promise<unknown> = Promise.resolve();

  constructor(
    private readonly deployments: Pick<DeploymentStore, 'commit'>,
    private readonly id: string,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Waits for `flush`: a phase moves together with a step (or the deployment's end). */
  phase(phase: DeploymentPhase, detail: { reason?: string; message?: string } = {}): void {
    this.changes.push({ phase, at: this.clock().toISOString(), ...detail });
  }

  /** Waits for `flush`. */
  step(step: StepName, status: 'running' | 'succeeded' | 'failed', message?: string): void {
    this.changes.push({ step, status, at: this.clock().toISOString(), ...(message !== undefined ? { message } : {}) });
  }

  /** Never fails: a line that cannot be written now goes with the next write. */
  async log(step: string, line: string): Promise<void> {
    this.lines.push({ step, at: this.clock(), line });
    if (this.lines.length >= LINES_PER_WRITE) await this.queueWrite(true).catch(() => undefined);
    else this.schedule();
  }

  /** Writes everything waiting; the record as it stands after, when the write changed it. */
  flush(): Promise<DeploymentRecord | undefined> {
    return this.queueWrite(false);
  }

  /** Drops the timer; what still waits is not written (the deployment has ended, or is no longer this replica's). */
  close(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }

  private schedule(): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.queueWrite(true).catch(() => undefined);
    }, FLUSH_AFTER_MS);
    this.timer.unref();
  }

  private queueWrite(linesOnly: boolean): Promise<DeploymentRecord | undefined> {
    const write = this.writing.then(() => this.write(linesOnly));
    this.writing = write.catch(() => undefined);
    return write;
  }

  private async write(linesOnly: boolean): Promise<DeploymentRecord | undefined> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const changes = linesOnly ? [] : this.changes;
    const lines = this.lines;
    if (changes.length === 0 && lines.length === 0) return undefined;
    if (!linesOnly) this.changes = [];
    this.lines = [];
    try {
      return await this.deployments.commit(this.id, changes, lines);
    } catch (err) {
      this.changes = [...changes, ...this.changes];
      this.lines = [...lines, ...this.lines];
      throw err;
    }
  }
}
