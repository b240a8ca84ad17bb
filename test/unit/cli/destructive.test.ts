import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentSummary } from '../../../cli/deployments-api.js';
import type { CommandContext } from '../../../cli/context.js';
import { confirmRestore, undoPlan } from '../../../cli/destructive.js';
import type { Resource } from '../../../core/resource.js';

const d = (revision: number, phase: DeploymentSummary['phase']) => ({ id: `d-${revision}`, revision, phase }) as DeploymentSummary;

describe('which revision rollout undo redeploys', () => {
  const cases: Array<[what: string, history: DeploymentSummary[], toRevision: number | undefined, expected: [from: number | undefined, to: number] | undefined]> = [
    ['the completed one before the newest completed', [d(3, 'completed'), d(2, 'completed'), d(1, 'completed')], undefined, [3, 2]],
    ['failed revisions are skipped', [d(4, 'failed'), d(3, 'completed'), d(2, 'failed'), d(1, 'completed')], undefined, [3, 1]],
    ['history in any order', [d(1, 'completed'), d(3, 'completed'), d(2, 'completed')], undefined, [3, 2]],
    ['an explicit revision', [d(3, 'completed'), d(2, 'completed'), d(1, 'completed')], 1, [3, 1]],
    ['nothing earlier: the API says why', [d(1, 'completed')], undefined, undefined],
    ['an unknown revision: the API says why', [d(2, 'completed'), d(1, 'completed')], 7, undefined],
    ['no history', [], undefined, undefined],
  ];
  for (const [what, history, toRevision, expected] of cases) {
    it(what, () => {
      const plan = undoPlan(history, toRevision);
      assert.deepEqual(plan && [plan.from?.revision, plan.to.revision], expected);
    });
  }
});

describe('what backup restore says it is about to write over', () => {
  const policy = (target: Record<string, unknown>) => ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'BackupPolicy', metadata: { name: 'p', namespace: 'shop' }, spec: { service: 'db', target } }) as unknown as Resource;
  const cases: Array<[what: string, target: Record<string, unknown>, into: { service?: string; database?: string }, says: string]> = [
    ['a volume', { volume: 'data' }, {}, 'into volume data of service db in project shop'],
    ['the policy\'s database', { database: { type: 'postgres', name: 'shop' } }, {}, 'into database shop of service db in project shop'],
    ['every database', { database: { type: 'postgres' } }, {}, 'into every database of service db in project shop'],
    ['another database', { database: { type: 'postgres', name: 'shop' } }, { database: 'shop_copy' }, 'into database shop_copy of service db in project shop'],
    ['another Service', { database: { type: 'mysql', name: 'shop' } }, { service: 'db-staging' }, 'into database shop of service db-staging in project shop'],
  ];
  for (const [what, target, into, says] of cases) {
    it(what, async () => {
      let printed = '';
      const ctx = { out: (text: string) => (printed += text), now: () => new Date('2026-11-26T13:00:00Z') } as unknown as CommandContext;
      // Without a terminal it refuses after saying what it would do.
      await assert.rejects(confirmRestore(ctx, policy(target), 'p-20261126T030000Z.pgdump', undefined, into), /refusing to restore p-20261126T030000Z.pgdump into service/);
      assert.equal(printed, `backup p-20261126T030000Z.pgdump will be restored ${says}: what is there now is written over\n`);
    });
  }
});
