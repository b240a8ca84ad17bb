import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { applyProgress, type DeploymentProgress, type ProgressChange } from '../../../core/deploy/deployment-progress.js';
import { STEP_NAMES, type StepStatus } from '../../../core/deploy/deployment-record.js';
import { HoldfastError } from '../../../core/errors.js';

const queued: DeploymentProgress = { phase: 'queued', steps: STEP_NAMES.map((name) => ({ name, status: 'pending' })) };
const t = (s: number) => `2026-01-01T00:00:0${s}.000Z`;
const statuses = (p: DeploymentProgress) => Object.fromEntries(p.steps.filter((s) => s.status !== 'pending').map((s) => [s.name, s.status])) as Record<string, StepStatus>;

describe('folding progress changes onto a deployment record', () => {
  const cases: Array<[string, ProgressChange[], Partial<DeploymentProgress>, Record<string, StepStatus>]> = [
    ['a phase change starts the deployment at its own time', [{ phase: 'prepare', at: t(1) }, { phase: 'deploy', at: t(2) }], { phase: 'deploy', startedAt: t(1) }, {}],
    [
      'step transitions gathered in one write keep their order',
      [{ phase: 'deploy', at: t(1) }, { step: 'start', status: 'running', at: t(1) }, { step: 'start', status: 'succeeded', at: t(2) }, { step: 'health', status: 'running', at: t(2) }],
      { phase: 'deploy' },
      { start: 'succeeded', health: 'running' },
    ],
    [
      'completing ends the running step as succeeded and skips what never ran',
      [{ step: 'finalize', status: 'running', at: t(1) }, { phase: 'completed', at: t(3) }],
      { phase: 'completed', startedAt: t(3), finishedAt: t(3) },
      { clone: 'skipped', build: 'skipped', pull: 'skipped', volume: 'skipped', start: 'skipped', health: 'skipped', finalize: 'succeeded' },
    ],
    [
      'failing ends the running step as failed, with the reason',
      [{ phase: 'deploy', at: t(1) }, { step: 'health', status: 'running', at: t(1) }, { phase: 'failed', at: t(4), reason: 'HealthCheckFailed', message: 'web is not ready' }],
      { phase: 'failed', reason: 'HealthCheckFailed', message: 'web is not ready', startedAt: t(1), finishedAt: t(4) },
      { clone: 'skipped', build: 'skipped', pull: 'skipped', volume: 'skipped', start: 'skipped', health: 'failed', finalize: 'skipped' },
    ],
  ];
  for (const [name, changes, want, steps] of cases) {
    it(name, () => {
      const got = applyProgress('d-1', queued, changes);
      for (const [k, v] of Object.entries(want)) assert.deepEqual(got[k as keyof DeploymentProgress], v, k);
      assert.deepEqual(statuses(got), steps);
    });
  }

  it('times each step by the change that moved it, not by the write', () => {
    const got = applyProgress('d-1', queued, [{ step: 'pull', status: 'running', at: t(1) }, { step: 'pull', status: 'failed', at: t(2), message: 'no such image' }]);
    assert.deepEqual(got.steps.find((s) => s.name === 'pull'), { name: 'pull', status: 'failed', startedAt: t(1), finishedAt: t(2), message: 'no such image' });
    const again = applyProgress('d-1', got, [{ step: 'pull', status: 'running', at: t(3) }]);
    assert.deepEqual(again.steps.find((s) => s.name === 'pull'), { name: 'pull', status: 'running', startedAt: t(1) }, 'a step run again keeps its first start and drops its end');
  });

  it('refuses any change after the end, also within one batch', () => {
    const ended = applyProgress('d-1', queued, [{ phase: 'canceled', at: t(1) }]);
    const conflict = (phase: string) => (e: unknown) => e instanceof HoldfastError && e.reason === 'Conflict' && e.message === `deployment d-1 already ended (${phase})`;
    assert.throws(() => applyProgress('d-1', ended, [{ phase: 'completed', at: t(2) }]), conflict('canceled'));
    assert.throws(() => applyProgress('d-1', queued, [{ phase: 'failed', at: t(1) }, { step: 'health', status: 'running', at: t(2) }]), conflict('failed'));
  });
});
