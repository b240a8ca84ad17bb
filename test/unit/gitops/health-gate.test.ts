import assert from 'node:assert/strict';
import { test } from 'node:test';
import { gateOutcome, rollbackChoice, serviceGateVerdict, servicesChangedBy, type GateDeployment, type GateVerdict } from '../../../core/gitops/health-gate.js';
import type { ServiceStatus } from '../../../core/schema/types.generated.js';

const T = '2026-01-01T00:00:00Z';
const cond = (type: string, status: 'True' | 'False', reason: string, message = '', observedGeneration = 3) => ({ type, status, reason, message, lastTransitionTime: T, observedGeneration });

test('a Service passes the gate when Ready for the generation the revision wrote, and fails as soon as that rollout fails', () => {
  const table: Array<[string, ServiceStatus | undefined, string, RegExp?]> = [
    ['no status yet', undefined, 'pending', /generation 3 not observed/],
    ['Ready for the generation before', { observedGeneration: 2, conditions: [cond('Ready', 'True', 'AllReplicasReady', '', 2)] }, 'pending', /generation 3 not observed/],
    ['its deployment running', { observedGeneration: 3, currentDeployment: { name: 'd3', generation: 3, phase: 'deploy' }, conditions: [cond('Ready', 'False', 'Progressing', 'deployment d3 is running')] }, 'pending', /Progressing/],
    ['a probe not passing yet', { observedGeneration: 3, currentDeployment: { name: 'd3', generation: 3, phase: 'completed' }, conditions: [cond('Ready', 'False', 'ProbeFailing', 'replica 1: connection refused')] }, 'pending', /connection refused/],
    ['Ready for the generation', { observedGeneration: 3, currentDeployment: { name: 'd3', generation: 3, phase: 'completed' }, conditions: [cond('Ready', 'True', 'AllReplicasReady')] }, 'ready'],
    ['its deployment failed', { observedGeneration: 3, currentDeployment: { name: 'd3', generation: 3, phase: 'failed' }, conditions: [cond('Ready', 'False', 'DeploymentFailed'), cond('Degraded', 'True', 'HealthCheckFailed', 'probe failed 2 times')] }, 'failed', /deployment d3 failed: probe failed 2 times/],
    ['its deployment canceled', { observedGeneration: 3, currentDeployment: { name: 'd3', generation: 3, phase: 'canceled' }, conditions: [] }, 'failed', /deployment d3 canceled/],
    ['an earlier generation failed: not this revision\'s verdict', { observedGeneration: 3, currentDeployment: { name: 'd2', generation: 2, phase: 'failed' }, conditions: [cond('Ready', 'False', 'NotRolledOut')] }, 'pending'],
    ['rolled back by its own autoRollback, though Ready', { observedGeneration: 3, currentDeployment: { name: 'd4', generation: 3, phase: 'completed' }, conditions: [cond('Ready', 'True', 'AllReplicasReady'), cond('RolledBack', 'True', 'RolledBack', 'rolled back to revision 1')] }, 'failed', /rolled itself back: rolled back to revision 1/],
  ];
  for (const [name, status, state, message] of table) {
    const verdict = serviceGateVerdict(3, status);
    assert.equal(verdict.state, state, name);
    if (message) assert.match((verdict as { message: string }).message, message, name);
  }
});

test('a failed Service goes back to before the deployment of its generation, once', () => {
  const d = (revision: number, generation: number, phase: string, extra: Partial<GateDeployment> = {}): GateDeployment => ({ revision, generation, phase, trigger: 'api', ...extra });
  const table: Array<[string, GateDeployment[], ReturnType<typeof rollbackChoice>]> = [
    ['the failed deployment of the generation', [d(2, 3, 'failed'), d(1, 2, 'completed')], { action: 'rollback', badRevision: 2 }],
    ['a completed deployment whose probe fails later', [d(2, 3, 'completed'), d(1, 2, 'completed')], { action: 'rollback', badRevision: 2 }],
    ['a heal after it changes nothing', [d(3, 3, 'completed', { trigger: 'controller' }), d(2, 3, 'completed'), d(1, 2, 'completed')], { action: 'rollback', badRevision: 2 }],
    ['already rolled back', [d(3, 3, 'completed', { rollbackOf: 1, trigger: 'user' }), d(2, 3, 'failed'), d(1, 2, 'completed')], { action: 'none', why: 'already rolled back to revision 1' }],
    ['a rollback that failed is tried again', [d(3, 3, 'failed', { rollbackOf: 1, trigger: 'user' }), d(2, 3, 'failed'), d(1, 2, 'completed')], { action: 'rollback', badRevision: 2 }],
    ['no deployment of the generation started', [d(1, 2, 'completed')], { action: 'none', why: 'no deployment of generation 3 started, so the host still runs the earlier input' }],
  ];
  for (const [name, records, expected] of table) assert.deepEqual(rollbackChoice(3, records), expected, name);
});

test('the Services a revision changed are those its inventory says it wrote', () => {
  const inventory = [
    { kind: 'Secret', namespace: 'shop', name: 'db', revision: 'main@sha1:b' },
    { kind: 'Service', namespace: 'shop', name: 'web', revision: 'main@sha1:b' },
    { kind: 'Service', namespace: 'shop', name: 'api', revision: 'main@sha1:a' },
  ];
  assert.deepEqual(servicesChangedBy(inventory, 'main@sha1:b'), [{ namespace: 'shop', name: 'web' }]);
  assert.deepEqual(servicesChangedBy(inventory, 'main@sha1:c'), []);
});

test('the gate over all Services: failed at the first failure or past the deadline, ready when all are, else pending', () => {
  const ready: GateVerdict = { state: 'ready' };
  const pending: GateVerdict = { state: 'pending', message: 'deployment d3 is running' };
  const failed: GateVerdict = { state: 'failed', message: 'deployment d3 failed' };
  const of = (...verdicts: GateVerdict[]) => verdicts.map((verdict, i) => ({ service: `shop/s${i}`, verdict }));
  const table: Array<[string, ReturnType<typeof of>, boolean, ReturnType<typeof gateOutcome>]> = [
    ['all Ready', of(ready, ready), false, { state: 'ready' }],
    ['all Ready as the deadline passes', of(ready, ready), true, { state: 'ready' }],
    ['one on its way', of(ready, pending), false, { state: 'pending', waitingFor: ['shop/s1: deployment d3 is running'] }],
    ['one failed while another is on its way', of(pending, failed), false, { state: 'failed', problems: ['shop/s1: deployment d3 failed'] }],
    ['one still on its way past the deadline', of(ready, pending), true, { state: 'failed', problems: ['shop/s1: not Ready within the timeout of 120s (deployment d3 is running)'] }],
  ];
  for (const [name, verdicts, timedOut, expected] of table) assert.deepEqual(gateOutcome(verdicts, timedOut, 120_000), expected, name);
});
