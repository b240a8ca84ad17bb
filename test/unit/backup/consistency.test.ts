// spec.consistency beyond its schema: mode command needs its command, the commands belong to that
// mode only; and how long the container was held, as messages say it.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { consistencyProblems, heldFor } from '../../../core/backup/consistency.js';
import type { BackupPolicyConsistency } from '../../../core/schema/types.generated.js';

describe('consistencyProblems', () => {
  const cases: Array<[string, BackupPolicyConsistency | undefined, string[]]> = [
    ['none declared', undefined, []],
    ['pause', { mode: 'pause', timeoutSeconds: 60 }, []],
    ['a command with its post command', { mode: 'command', command: ['sync'], postCommand: ['true'], timeoutSeconds: 60 }, []],
    ['mode command without a command', { mode: 'command', timeoutSeconds: 60 }, ['spec.consistency.command']],
    ['mode command with only a post command', { mode: 'command', postCommand: ['true'], timeoutSeconds: 60 }, ['spec.consistency.command']],
    ['commands with mode pause', { mode: 'pause', command: ['sync'], postCommand: ['true'], timeoutSeconds: 60 }, ['spec.consistency.command', 'spec.consistency.postCommand']],
  ];
  for (const [what, consistency, fields] of cases) {
    it(what, () => assert.deepEqual(consistencyProblems(consistency).map((c) => c.field), fields));
  }
});

describe('heldFor', () => {
  const cases: Array<[BackupPolicyConsistency['mode'], string]> = [
    ['pause', 'the container was paused for 1.5 s'],
    ['stop', 'the container was stopped for 1.5 s'],
    ['command', 'the container was held by spec.consistency.command for 1.5 s'],
  ];
  for (const [mode, text] of cases) it(mode, () => assert.equal(heldFor(mode, 1.5), text));
});
