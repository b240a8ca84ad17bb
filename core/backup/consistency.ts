// How a volume is kept still while it is read (spec.consistency): the container paused, stopped,
// or held by a command of its own (a flush, a lock) run before the read, with postCommand after.
import type { FieldCause } from '../errors.js';
import type { BackupPolicyConsistency } from '../schema/types.generated.js';

/** What the schema cannot say: mode command needs a command, and the commands belong to that mode only. */
export function consistencyProblems(consistency: BackupPolicyConsistency | undefined): FieldCause[] {
  if (!consistency) return [];
  const causes: FieldCause[] = [];
  if (consistency.mode === 'command' && !consistency.command?.length) {
    causes.push({ field: 'spec.consistency.command', message: 'mode command needs the command to run in the container before the read', reason: 'FieldValueRequired' });
  }
  if (consistency.mode !== 'command') {
    for (const field of ['command', 'postCommand'] as const) {
      if (consistency[field]) causes.push({ field: `spec.consistency.${field}`, message: `${field} is run only with mode command (mode is ${consistency.mode})`, reason: 'FieldValueInvalid' });
    }
  }
  return causes;
}

/** `the container was paused for 1.2 s`: how long the container was held, for messages. */
export function heldFor(mode: BackupPolicyConsistency['mode'], seconds: number): string {
  if (mode === 'command') return `the container was held by spec.consistency.command for ${seconds} s`;
  return `the container was ${mode === 'stop' ? 'stopped' : 'paused'} for ${seconds} s`;
}
