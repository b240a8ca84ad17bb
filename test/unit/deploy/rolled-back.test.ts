import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { rolledBack, rolledBackMessage, type DeploymentFacts } from '../../../core/deploy/rolled-back.js';

function d(revision: number, over: Partial<DeploymentFacts> = {}): DeploymentFacts {
  return { id: `d-${revision}`, revision, generation: 2, phase: 'completed', trigger: 'api', actor: 'token:admin', createdAt: `2025-03-01T12:0${revision}:00Z`, ...over };
}

describe('whether a Service was rolled back', () => {
  const undo = (revision: number, over: Partial<DeploymentFacts> = {}) => d(revision, { trigger: 'user', rollbackOf: 1, actor: 'token:ops', ...over });
  const cases: Array<[string, number, DeploymentFacts[], string | undefined]> = [
    ['never deployed', 2, [], undefined],
    ['the newest deployment rolls out the declared spec', 2, [d(2), d(1, { generation: 1 })], undefined],
    ['the newest deployment is an undo for the declared generation', 2, [undo(3), d(2), d(1, { generation: 1 })], 'd-3'],
    ['an undo still running counts', 2, [undo(3, { phase: 'deploy' }), d(2)], 'd-3'],
    ['heals after the undo do not end it', 2, [d(5, { trigger: 'controller' }), d(4, { trigger: 'controller' }), undo(3), d(2)], 'd-3'],
    ['a sync after the undo ends it', 2, [d(4, { trigger: 'user' }), undo(3), d(2)], undefined],
    ['a spec change after the undo ends it (even with nothing to deploy)', 3, [undo(3), d(2)], undefined],
    ['an undo that failed put nothing back', 2, [undo(3, { phase: 'failed' }), d(2)], undefined],
    ['an undo that was canceled put nothing back', 2, [undo(3, { phase: 'canceled' }), d(2)], undefined],
  ];
  for (const [name, generation, history, want] of cases) {
    it(name, () => assert.equal(rolledBack(generation, history)?.deployment, want));
  }

  it('says who rolled back to which revision, when, and what ends it', () => {
    const r = rolledBack(2, [undo(3), d(2)])!;
    assert.deepEqual(r, { deployment: 'd-3', revision: 3, toRevision: 1, actor: 'token:ops', at: '2025-03-01T12:03:00Z' });
    assert.equal(
      rolledBackMessage(r),
      'declared differs from the running revision: rolled back to revision 1 by token:ops at 2025-03-01T12:03:00Z (deployment d-3, revision 3); the next apply that changes the spec, or a sync, rolls the declared spec out again',
    );
  });
});
