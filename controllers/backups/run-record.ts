// The record of one backup run: its steps (prepare, archive or dump, encrypt, upload and verify per
// destination, restore test, prune) with their times, sizes, checksums and outcome, as the
// deployment record keeps a rollout's steps.
import type { BackupPolicyStatus } from '../../core/schema/types.generated.js';
import { asBackupFailure } from './backup-errors.js';

export type BackupRun = NonNullable<BackupPolicyStatus['runs']>[number];
export type RunStep = NonNullable<BackupRun['steps']>[number];
export type StepName = RunStep['name'];

/** How many runs a policy's status keeps. */
export const KEPT_RUNS = 10;

export class RunRecord {
  readonly steps: RunStep[] = [];

  constructor(private readonly clock: () => Date) {}

  /** Starts a step; the answer ends it (each ends once). */
  begin(name: StepName, destination?: string): { done: (details?: Pick<RunStep, 'sizeBytes' | 'sha256' | 'message'>) => void; fail: (message: string) => void } {
    const step: RunStep = { name, ...(destination ? { destination } : {}), startTime: this.clock().toISOString(), result: 'Succeeded' };
    this.steps.push(step);
    let ended = false;
    const end = (result: RunStep['result'], details: Pick<RunStep, 'sizeBytes' | 'sha256' | 'message'>) => {
      if (ended) return;
      ended = true;
      Object.assign(step, { ...details, result, completionTime: this.clock().toISOString() });
    };
    return { done: (details = {}) => end('Succeeded', details), fail: (message) => end('Failed', { message }) };
  }

  /** Runs `work` as a step: failed with the error's message when it throws. */
  async step<T>(name: StepName, work: () => Promise<T>, details?: (value: T) => Pick<RunStep, 'sizeBytes' | 'sha256' | 'message'> & { failed?: boolean }): Promise<T> {
    const step = this.begin(name);
    try {
      const value = await work();
      const d = details?.(value) ?? {};
      if (d.failed) step.fail(d.message ?? 'failed');
      else step.done({ sizeBytes: d.sizeBytes, sha256: d.sha256, message: d.message });
      return value;
    } catch (err) {
      step.fail(asBackupFailure(err, 'BackupFailed').message);
      throw err;
    }
  }

  /** Steps still open when the run ended (cut short) are ended failed. */
  close(message: string): void {
    const now = this.clock().toISOString();
    for (const s of this.steps) {
      if (!s.completionTime) Object.assign(s, { result: 'Failed', message: s.message ?? message, completionTime: now });
    }
  }

  /** `archive 2.1 s (12.0 KiB), upload local 2.2 s, upload offsite failed`: the steps in one line, for Events. */
  summary(): string {
    return this.steps
      .map((s) => {
        const what = s.destination ? `${s.name} ${s.destination}` : s.name;
        const seconds = s.startTime && s.completionTime ? ` ${((Date.parse(s.completionTime) - Date.parse(s.startTime)) / 1000).toFixed(1)} s` : '';
        return s.result === 'Failed' ? `${what} failed` : `${what}${seconds}`;
      })
      .join(', ');
  }
}

/** The policy's runs with `run` first: a run already listed (same start) is replaced, and only the newest KEPT_RUNS stay. */
export function withRun(runs: readonly BackupRun[] | undefined, run: BackupRun): BackupRun[] {
  return [run, ...(runs ?? []).filter((r) => r.startTime !== run.startTime)].slice(0, KEPT_RUNS);
}
