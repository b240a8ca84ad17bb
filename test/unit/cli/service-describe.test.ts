import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentSummary } from '../../../cli/deployments-api.js';
import { describeObject } from '../../../cli/describe-printer.js';
import { SERVICE_SECTION_FIELDS, serviceSections } from '../../../cli/service-describe.js';
import { kindInfo, type Resource } from '../../../core/resource.js';

const NOW = new Date('2025-03-01T12:00:00Z');

const service = (status: Record<string, unknown>, driftMode?: string): Resource => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', generation: 2 },
  spec: { server: 'edge-1', ...(driftMode ? { driftPolicy: { mode: driftMode } } : {}) },
  status,
});

const record: DeploymentSummary = {
  id: 'd-abc',
  serviceUid: 'u',
  namespace: 'shop',
  service: 'web',
  revision: 4,
  generation: 2,
  phase: 'failed',
  trigger: 'api',
  actor: 'token:admin',
  server: 'edge-1',
  specHash: 'x',
  reason: 'HealthCheckFailed',
  message: 'no answer on :8080',
  steps: [{ name: 'health', status: 'failed' }],
  cancelRequested: false,
  createdAt: '2025-03-01T11:54:00Z',
  startedAt: '2025-03-01T11:54:00Z',
  finishedAt: '2025-03-01T11:55:00Z',
  deadline: '2025-03-01T12:54:00Z',
};

describe('describe service: deployment and drift sections', () => {
  it('says when there is no deployment and drift was never checked', () => {
    assert.deepEqual(serviceSections({ service: service({}), now: NOW }), ['Deployment:  <none>', 'Drift:       <not checked yet>']);
  });

  it('shows the current deployment from its record, and no drift with the policy', () => {
    const s = service({
      currentDeployment: { name: 'd-abc', generation: 2, phase: 'failed' },
      lastSuccessfulDeployment: 'd-prev',
      drift: { count: 0, lastCheckedTime: '2025-03-01T11:59:55Z' },
    }, 'heal');
    assert.deepEqual(serviceSections({ service: s, deployment: record, now: NOW }), [
      'Deployment:',
      '  Current:          d-abc (revision 4, generation 2, trigger api): failed 5m ago in 60s: HealthCheckFailed: no answer on :8080 (step health)',
      '  Last Successful:  d-prev',
      'Drift:       none (policy heal, checked 5s ago)',
    ]);
  });

  it('falls back to the status reference, and lists drift entries when they could be read', () => {
    const s = service({
      currentDeployment: { name: 'd-abc', generation: 2, phase: 'deploy', startedAt: '2025-03-01T11:59:30Z' },
      drift: { count: 1, liveVsFrozen: 1, declaredVsFrozen: 0, lastCheckedTime: '2025-03-01T11:59:58Z' },
    });
    const lines = serviceSections({
      service: s,
      drift: [{ path: 'containers[web-1].image', kind: 'changed', source: 'live-vs-frozen', expected: 'web:1', actual: 'web:2' }],
      now: NOW,
    });
    assert.deepEqual(lines, [
      'Deployment:',
      '  Current:          d-abc (generation 2): deploy, started 30s ago',
      'Drift:       1 field: 1 live vs frozen, 0 declared vs frozen (policy report, checked 2s ago)',
      '  SOURCE           PATH                      KIND      EXPECTED   ACTUAL   FIRST SEEN   LAST SEEN',
      '  live-vs-frozen   containers[web-1].image   changed   web:1      web:2    <none>       <none>',
    ]);
  });

  it('replaces the generic status fields and sits between Status and Events', () => {
    const s = service({ observedGeneration: 2, currentDeployment: { name: 'd-abc', generation: 2, phase: 'completed' }, drift: { count: 0 } });
    const text = describeObject({
      object: s,
      kind: kindInfo('Service')!,
      events: [],
      now: NOW,
      omitStatus: SERVICE_SECTION_FIELDS,
      sections: serviceSections({ service: s, now: NOW }),
    });
    assert.match(text, /Status:\n {2}Observed Generation: {2}2\nDeployment:\n {2}Current: {10}d-abc \(generation 2\): completed\nDrift: {7}none \(policy report\)\nEvents: {2}<none>\n$/);
    assert.doesNotMatch(text, /Current Deployment:/);
  });

  it('lists a Swarm service\'s tasks from the live view, as docker service ps does', () => {
    const live = {
      target: { server: 'manager' },
      containers: [],
      services: [{
        name: 'hf_shop_production_web',
        tasks: [
          { id: 'task1aaaaaaaaaaaa', slot: 1, node: 'hf-h2', state: 'running', desiredState: 'running', current: true, since: '2025-03-01T11:59:00Z', imageDigest: 'sha256:0123456789abcdef0123' },
          { id: 'task0aaaaaaaaaaaa', slot: 1, node: 'hf-h1', state: 'failed', desiredState: 'shutdown', current: false, exitCode: 3, error: 'task: non-zero exit (3)', since: '2025-03-01T11:58:00Z' },
        ],
      }],
    };
    const lines = serviceSections({ service: service({}), live, now: NOW }).slice(2);
    assert.deepEqual(lines, [
      'Tasks:',
      '  TASK                       NODE    DESIRED    STATE             SPEC       EXIT   DIGEST                ERROR',
      '  hf_shop_production_web.1   hf-h2   running    running 60s ago   deployed   -      sha256:0123456789ab',
      '  hf_shop_production_web.1   hf-h1   shutdown   failed 2m ago     other      3      -                     task: non-zero exit (3)',
    ]);
    assert.deepEqual(serviceSections({ service: service({}), live: { target: { server: 'edge' }, containers: [] }, now: NOW }).slice(2), [], 'no section for containers');
  });
});
