import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentSummary } from '../../../cli/deployments-api.js';
import { undoPlan } from '../../../cli/destructive.js';

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
