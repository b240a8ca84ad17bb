import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DeploymentSummary } from '../../../cli/deployments-api.js';
import { deploymentDuration, deploymentLine, heartbeatLine, historyTable, interruptedLines, logProgressLine, outcomeLine, progressKey, progressLine } from '../../../cli/rollout-printers.js';
import { parseServiceArg } from '../../../cli/service-arg.js';
import { HoldfastError } from '../../../core/errors.js';
import type { DeploymentStep } from '../../../store/deployments.js';

const NOW = new Date('2025-03-01T12:00:00Z');
const STEPS = ['clone', 'build', 'pull', 'volume', 'start', 'health', 'finalize'] as const;

function steps(status: Partial<Record<(typeof STEPS)[number], DeploymentStep['status']>> = {}): DeploymentStep[] {
  return STEPS.map((name) => ({ name, status: status[name] ?? 'pending' }));
}

function deployment(over: Partial<DeploymentSummary> = {}): DeploymentSummary {
  return {
    id: 'd-0123456789ab',
    serviceUid: 'uid-web',
    namespace: 'shop',
    service: 'web',
    revision: 3,
    generation: 2,
    phase: 'completed',
    trigger: 'user',
    actor: 'token:admin',
    server: 'edge-1',
    specHash: 'sha256:x',
    steps: steps({ pull: 'succeeded', start: 'succeeded', health: 'succeeded', finalize: 'succeeded' }),
    cancelRequested: false,
    createdAt: '2025-03-01T11:49:50Z',
    startedAt: '2025-03-01T11:50:00Z',
    finishedAt: '2025-03-01T11:50:12Z',
    deadline: '2025-03-01T12:00:00Z',
    ...over,
  };
}

describe('rollout history table', () => {
  it('prints the kubectl-style columns, newest first as listed, with ages, durations and <none>', () => {
    const items = [
      deployment({ id: 'd-000000000004', revision: 4, phase: 'deploy', trigger: 'rollback', rollbackOf: 2, finishedAt: undefined, startedAt: '2025-03-01T11:59:30Z', steps: steps({ start: 'running' }) }),
      deployment(),
      deployment({ id: 'd-000000000002', revision: 2, generation: 1, phase: 'failed', trigger: 'api', actor: 'token:ci', reason: 'HealthCheckFailed', startedAt: '2025-03-01T10:00:00Z', finishedAt: '2025-03-01T10:01:05Z' }),
      deployment({ id: 'd-000000000001', revision: 1, generation: 1, phase: 'queued', startedAt: undefined, finishedAt: undefined }),
    ];
    assert.equal(
      historyTable(items, NOW),
      [
        'REVISION   DEPLOYMENT       PHASE       TRIGGER           ACTOR         GENERATION   STARTED    DURATION   REASON',
        '4          d-000000000004   deploy      rollback (of 2)   token:admin   2            30s ago    30s        <none>',
        '3          d-0123456789ab   completed   user              token:admin   2            10m ago    12s        <none>',
        '2          d-000000000002   failed      api               token:ci      1            120m ago   65s        HealthCheckFailed',
        '1          d-000000000001   queued      user              token:admin   1            queued     <none>     <none>',
        '',
      ].join('\n'),
    );
  });

  it('measures a running deployment up to now and a finished one to its end', () => {
    assert.equal(deploymentDuration({ startedAt: '2025-03-01T11:59:00Z' }, NOW), '60s');
    assert.equal(deploymentDuration({ startedAt: '2025-03-01T11:00:00Z', finishedAt: '2025-03-01T11:05:30Z' }, NOW), '5m30s');
    assert.equal(deploymentDuration({}, NOW), undefined);
  });
});

describe('progress and outcome lines', () => {
  const cases: Array<[string, DeploymentSummary, string]> = [
    ['queued', deployment({ phase: 'queued', startedAt: undefined, finishedAt: undefined, steps: steps() }), 'service/web: queued …\n'],
    ['a running step', deployment({ phase: 'deploy', finishedAt: undefined, steps: steps({ pull: 'succeeded', start: 'running' }) }), 'service/web: deploy (start) …\n'],
    ['between steps', deployment({ phase: 'finalize', finishedAt: undefined, steps: steps({ health: 'succeeded' }) }), 'service/web: finalize …\n'],
    ['completed', deployment(), 'service/web: completed in 12s\n'],
    [
      'failed at a step',
      deployment({ phase: 'failed', reason: 'HealthCheckFailed', message: 'web-1 did not become healthy within 60s', steps: steps({ pull: 'succeeded', start: 'succeeded', health: 'failed' }) }),
      'service/web: failed: HealthCheckFailed: web-1 did not become healthy within 60s (step health, after 12s)\n',
    ],
    ['failed before starting', deployment({ phase: 'failed', reason: 'ServerUnavailable', startedAt: undefined, finishedAt: undefined, steps: steps() }), 'service/web: failed: ServerUnavailable\n'],
    ['canceled', deployment({ phase: 'canceled', reason: 'Canceled', message: 'canceled by token:admin' }), 'service/web: canceled: Canceled: canceled by token:admin (after 12s)\n'],
  ];
  for (const [name, d, want] of cases) {
    it(name, () => {
      const printed = d.phase === 'completed' || d.phase === 'failed' || d.phase === 'canceled' ? outcomeLine('service/web', d, NOW) : progressLine('service/web', d);
      assert.equal(printed, want);
    });
  }

  it('keys progress by phase and running step, so an unchanged state prints once', () => {
    assert.equal(progressKey(deployment({ phase: 'prepare', steps: steps({ pull: 'running' }) })), 'prepare (pull)');
    assert.equal(progressKey(deployment({ phase: 'prepare', steps: steps({ pull: 'succeeded' }) })), 'prepare');
  });

  it('names the deployment it follows, and what a rollback redeploys', () => {
    assert.equal(deploymentLine('service/web', deployment()), 'service/web: deployment d-0123456789ab (revision 3, generation 2, trigger user)\n');
    assert.equal(
      deploymentLine('service/web', deployment({ trigger: 'rollback', rollbackOf: 1 })),
      'service/web: deployment d-0123456789ab (revision 3, generation 2, trigger rollback, redeploys revision 1)\n',
    );
  });
});

describe('progress while a deployment runs', () => {
  const line = (text: string, step = 'health') => ({ id: 7, step, at: '2025-03-01T11:59:57Z', line: text });
  const running = deployment({ phase: 'deploy', finishedAt: undefined, steps: steps({ pull: 'succeeded', start: 'succeeded', health: 'running' }).map((s) => (s.name === 'health' ? { ...s, startedAt: '2025-03-01T11:59:35Z' } : s)) });

  it('shows a log line with its step, its first line only, cut when long', () => {
    const cases: Array<[ReturnType<typeof line>, string]> = [
      [line('replica 1: probe 7 failed: GET :9999 connection refused'), 'service/web: health: replica 1: probe 7 failed: GET :9999 connection refused\n'],
      [line('hf_web_1 logs:\nstarting\nexit 3\n'), 'service/web: health: hf_web_1 logs: (+2 lines)\n'],
      [line('x'.repeat(300), 'pull'), `service/web: pull: ${'x'.repeat(199)}…\n`],
    ];
    for (const [input, want] of cases) assert.equal(logProgressLine('service/web', input), want);
  });

  it('says how long the step runs, the newest log line and its age, and the deadlines', () => {
    const waitFar = NOW.getTime() + 3_600_000;
    assert.equal(
      heartbeatLine('service/web', running, { newestLog: line('replica 1: probe 7 failed: GET :9999 connection refused'), now: NOW, waitDeadline: waitFar }),
      'service/web: deploy (health) for 25s; last: health: replica 1: probe 7 failed: GET :9999 connection refused (3s ago); deployment deadline in 0s\n',
    );
    const later = { ...running, deadline: '2025-03-01T12:00:31Z' };
    assert.equal(heartbeatLine('service/web', later, { now: NOW, waitDeadline: waitFar }), 'service/web: deploy (health) for 25s; deployment deadline in 31s\n');
    assert.equal(
      heartbeatLine('service/web', later, { now: NOW, waitDeadline: NOW.getTime() + 12_000 }),
      'service/web: deploy (health) for 25s; deployment deadline in 31s (this wait ends in 12s)\n',
    );
    const queued = deployment({ phase: 'queued', createdAt: '2025-03-01T11:59:50Z', startedAt: undefined, finishedAt: undefined, steps: steps(), deadline: '2025-03-01T12:10:00Z' });
    assert.equal(heartbeatLine('service/web', queued, { now: NOW, waitDeadline: waitFar }), 'service/web: queued for 10s; deployment deadline in 10m\n');
  });

  it('after Ctrl-C, says how to follow or cancel what goes on', () => {
    assert.equal(
      interruptedLines('service/web', { namespace: 'shop', name: 'web' }, 'd-0123456789ab'),
      'service/web: stopped waiting; deployment d-0123456789ab goes on.\n' +
        '  follow it: holdfast rollout status service/web -n shop --deployment d-0123456789ab\n' +
        '  cancel it: holdfast cancel --deployment d-0123456789ab\n',
    );
    assert.equal(
      interruptedLines('service/web (shop)', { namespace: 'shop', name: 'web' }, undefined),
      'service/web (shop): stopped waiting; the rollout goes on.\n  follow it: holdfast rollout status service/web -n shop\n',
    );
  });
});

describe('the service argument', () => {
  const ok: Array<[string[], string | undefined, { namespace: string; name: string; label: string }]> = [
    [['service/web'], 'shop', { namespace: 'shop', name: 'web', label: 'service/web' }],
    [['svc/web'], 'shop', { namespace: 'shop', name: 'web', label: 'service/web' }],
    [['services', 'api'], 'shop', { namespace: 'shop', name: 'api', label: 'service/api' }],
    [['service.holdfast.dev/web'], 'shop', { namespace: 'shop', name: 'web', label: 'service/web' }],
    // A bare name: these commands act on Services only.
    [['web'], 'shop', { namespace: 'shop', name: 'web', label: 'service/web' }],
  ];
  for (const [args, ns, want] of ok) it(`reads ${args.join(' ')}`, () => assert.deepEqual(parseServiceArg(args, ns, 'rollout history'), want));

  const bad: Array<[string[], string | undefined, RegExp]> = [
    [[], 'shop', /rollout history needs a service: pass service\/NAME/],
    [['service'], 'shop', /rollout history needs a service: pass service\/NAME/],
    [['web'], undefined, /service "web" is namespaced: pass -n PROJECT/],
    [['service/web'], undefined, /pass -n PROJECT/],
    [['server/edge-1'], 'shop', /works on services only, not servers/],
    [['service/web', 'service/api'], 'shop', /acts on one service/],
    [['service/'], 'shop', /not in the form service\/NAME/],
    [['widget/web'], 'shop', /doesn't have a resource type "widget"/],
  ];
  for (const [args, ns, message] of bad) {
    it(`refuses ${JSON.stringify(args)}${ns ? '' : ' without -n'}`, () => {
      assert.throws(() => parseServiceArg(args, ns, 'rollout history'), (err: unknown) => err instanceof HoldfastError && message.test(err.message));
    });
  }
});
