// The rollout wait over scripted API answers (what the Service and its deployment look like at each
// poll), with a clock that moves only when the wait sleeps.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError, ApiUnreachableError } from '../../../cli/client.js';
import type { DeploymentSummary } from '../../../cli/deployments-api.js';
import { waitForRollout, type RolloutReader } from '../../../cli/rollout-wait.js';
import type { Resource } from '../../../core/resource.js';
import type { DeploymentStep, LogLine } from '../../../store/deployments.js';

const STEPS = ['clone', 'build', 'pull', 'volume', 'start', 'health', 'finalize'] as const;
type StepMap = Partial<Record<(typeof STEPS)[number], DeploymentStep['status']>>;

function d(id: string, phase: DeploymentSummary['phase'], over: Partial<DeploymentSummary> & { running?: (typeof STEPS)[number]; stepStatus?: StepMap } = {}): DeploymentSummary {
  const { running, stepStatus = {}, ...rest } = over;
  return {
    id,
    serviceUid: 'uid',
    namespace: 'shop',
    service: 'web',
    revision: 1,
    generation: 2,
    phase,
    trigger: 'api',
    actor: 'token:admin',
    server: 'edge-1',
    specHash: 'x',
    steps: STEPS.map((name) => ({ name, status: name === running ? 'running' : stepStatus[name] ?? 'pending' })),
    cancelRequested: false,
    createdAt: '2025-01-01T00:00:00Z',
    startedAt: '2025-01-01T00:00:00Z',
    ...(phase === 'completed' || phase === 'failed' || phase === 'canceled' ? { finishedAt: '2025-01-01T00:00:09Z' } : {}),
    deadline: '2025-01-01T01:00:00Z',
    ...rest,
  };
}

function svc(generation: number, observed: number | undefined, current?: { name: string; generation: number; phase: string }, conditions: unknown[] = []): Resource {
  return {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: 'web', namespace: 'shop', generation },
    spec: {},
    status: { ...(observed !== undefined ? { observedGeneration: observed } : {}), ...(current ? { currentDeployment: current } : {}), conditions } as Resource['status'],
  };
}

type Answer<T> = T | Error;

/** Answers each read with the next scripted value; the last one repeats. */
function scripted(script: {
  services?: Answer<Resource>[];
  deployments?: Record<string, Answer<DeploymentSummary>[]>;
  history?: DeploymentSummary[];
  /** The log lines written by each poll of the deployment's log. */
  logs?: LogLine[][];
}) {
  const calls = { service: 0, deployment: 0, history: 0, logs: 0 };
  const logAfter: number[] = [];
  const next = <T>(list: Answer<T>[], i: number): T => {
    const v = list[Math.min(i, list.length - 1)];
    if (v instanceof Error) throw v;
    return v;
  };
  const perId: Record<string, number> = {};
  const reader: RolloutReader = {
    service: async () => next(script.services ?? [], calls.service++),
    deployment: async (id) => {
      calls.deployment++;
      const list = script.deployments?.[id];
      if (!list) throw new ApiError(404, 'NotFound', `deployment "${id}" not found`, []);
      return next(list, (perId[id] = (perId[id] ?? -1) + 1));
    },
    history: async () => {
      calls.history++;
      return script.history ?? [];
    },
    logs: async (_id, afterId) => {
      logAfter.push(afterId);
      return script.logs?.[calls.logs++] ?? [];
    },
  };
  return { reader, calls, logAfter };
}

async function run(reader: RolloutReader, over: { timeoutMs?: number; deploymentId?: string; signal?: AbortSignal; onSleep?: (clock: number) => void; start?: number } = {}) {
  let clock = over.start ?? 0;
  const lines: string[] = [];
  const result = await waitForRollout(reader, {
    namespace: 'shop',
    name: 'web',
    label: 'service/web',
    deadline: clock + (over.timeoutMs ?? 60_000),
    deploymentId: over.deploymentId,
    print: (l) => lines.push(l),
    now: () => clock,
    signal: over.signal,
    sleep: async (ms) => {
      clock += ms;
      over.onSleep?.(clock);
    },
    pollMs: 1000,
  });
  return { result, lines, elapsed: clock - (over.start ?? 0) };
}

describe('waiting for a rollout', () => {
  it('waits for the controller to observe the generation, then follows the deployment to completion', async () => {
    const { reader } = scripted({
      services: [svc(2, 1, { name: 'd-old', generation: 1, phase: 'completed' }), svc(2, 1), svc(2, 2, { name: 'd-new', generation: 2, phase: 'queued' })],
      deployments: {
        'd-new': [d('d-new', 'queued'), d('d-new', 'prepare', { running: 'pull' }), d('d-new', 'prepare', { running: 'pull' }), d('d-new', 'deploy', { running: 'start' }), d('d-new', 'completed')],
      },
    });
    const { result, lines } = await run(reader);
    assert.equal(result.outcome, 'completed');
    assert.equal(result.deployment?.id, 'd-new');
    assert.deepEqual(lines, [
      'service/web: waiting for the controller to observe generation 2\n',
      'service/web: deployment d-new (revision 1, generation 2, trigger api)\n',
      'service/web: queued …\n',
      'service/web: prepare (pull) …\n',
      'service/web: deploy (start) …\n',
      'service/web: completed in 9s\n',
    ]);
  });

  it('says it waits for the server while the controller holds the rollout for it, then follows the deployment', async () => {
    const waiting = { type: 'Progressing', status: 'False', reason: 'WaitingForServer', message: 'server edge has not been checked yet; generation 1 rolls out once the server is ready' };
    const { reader } = scripted({
      services: [svc(1, 1, undefined, [waiting]), svc(1, 1, undefined, [waiting]), svc(1, 1, { name: 'd-1', generation: 1, phase: 'queued' })],
      deployments: { 'd-1': [d('d-1', 'completed', { generation: 1 })] },
    });
    const { result, lines } = await run(reader);
    assert.equal(result.outcome, 'completed');
    assert.deepEqual(lines.slice(0, 2), [
      'service/web: waiting for the server: server edge has not been checked yet; generation 1 rolls out once the server is ready\n',
      'service/web: deployment d-1 (revision 1, generation 1, trigger api)\n',
    ]);
  });

  it('says it waits for a git source that does not answer, then follows the deployment', async () => {
    const waiting = { type: 'Progressing', status: 'False', reason: 'SourceUnreachable', message: 'cannot read ref "main" of https://git.example/app.git: git ls-remote failed: timed out after 30s; generation 1 rolls out once the repository answers' };
    const { reader } = scripted({
      services: [svc(1, 1, undefined, [waiting]), svc(1, 1, { name: 'd-1', generation: 1, phase: 'queued' })],
      deployments: { 'd-1': [d('d-1', 'completed', { generation: 1 })] },
    });
    const { result, lines } = await run(reader);
    assert.equal(result.outcome, 'completed');
    assert.equal(lines[0], `service/web: waiting for the git source: ${waiting.message}\n`);
  });

  it('reports a failed deployment with its reason', async () => {
    const { reader } = scripted({
      services: [svc(2, 2, { name: 'd-new', generation: 2, phase: 'deploy' })],
      deployments: { 'd-new': [d('d-new', 'deploy', { running: 'health' }), d('d-new', 'failed', { reason: 'HealthCheckFailed', message: 'no answer on :8080', stepStatus: { health: 'failed' } })] },
    });
    const { result, lines } = await run(reader);
    assert.equal(result.outcome, 'failed');
    assert.equal(lines.at(-1), 'service/web: failed: HealthCheckFailed: no answer on :8080 (step health, after 9s)\n');
  });

  it('follows the deployment made for the generation, not the automatic rollback that replaced it as current', async () => {
    const failed = d('d-new', 'failed', { reason: 'HealthCheckFailed', stepStatus: { health: 'failed' } });
    const rollback = d('d-back', 'completed', { generation: 1, trigger: 'rollback', rollbackOf: 1, revision: 3 });
    const { reader, calls } = scripted({
      services: [svc(2, 2, { name: 'd-back', generation: 1, phase: 'completed' })],
      history: [rollback, failed, d('d-old', 'completed', { generation: 1 })],
      deployments: { 'd-new': [failed], 'd-back': [rollback] },
    });
    const { result } = await run(reader);
    assert.equal(result.outcome, 'failed');
    assert.equal(result.deployment?.id, 'd-new');
    assert.equal(calls.history, 1);
  });

  it('takes the current deployment when no deployment was needed for the new generation', async () => {
    const { reader } = scripted({
      services: [svc(3, 3, { name: 'd-old', generation: 2, phase: 'completed' })],
      history: [d('d-old', 'completed')],
      deployments: { 'd-old': [d('d-old', 'completed')] },
    });
    const { result, lines } = await run(reader);
    assert.equal(result.outcome, 'completed');
    assert.equal(lines.at(-1), 'service/web: completed in 9s\n');
  });

  it('fails a service the controller observed but never deployed, with its Ready reason', async () => {
    const notReady = { type: 'Ready', status: 'False', reason: 'ServerNotFound', message: 'server "edge-9" does not exist', lastTransitionTime: '2025-01-01T00:00:00Z' };
    const { reader } = scripted({ services: [svc(1, 1, undefined, [notReady])] });
    const { result, lines } = await run(reader);
    assert.equal(result.outcome, 'failed');
    assert.deepEqual(lines, ['service/web: failed: ServerNotFound: server "edge-9" does not exist\n']);
  });

  it('fails at once when the Service moved to a server that does not exist, even with an earlier deployment', async () => {
    const missing = { type: 'Progressing', status: 'False', reason: 'ServerNotFound', message: 'server edge-9 does not exist; generation 3 rolls out once it exists and is ready' };
    const { reader } = scripted({ services: [svc(3, 3, { name: 'd-old', generation: 2, phase: 'completed' }, [missing])], history: [d('d-old', 'completed')] });
    const { result, lines } = await run(reader);
    assert.equal(result.outcome, 'failed');
    assert.deepEqual(lines, ['service/web: failed: ServerNotFound: server edge-9 does not exist; generation 3 rolls out once it exists and is ready\n']);
  });

  it('times out at the deadline, saying what it was waiting for', async () => {
    const { reader } = scripted({
      services: [svc(2, 2, { name: 'd-new', generation: 2, phase: 'deploy' })],
      deployments: { 'd-new': [d('d-new', 'deploy', { running: 'health' })] },
    });
    const { result, lines, elapsed } = await run(reader, { timeoutMs: 5_500 });
    assert.equal(result.outcome, 'timeout');
    assert.equal(elapsed, 5_500, 'the last sleep is cut to the deadline');
    assert.equal(lines.at(-1), 'service/web: timed out waiting for deployment d-new (deploy (health))\n');

    const stuck = scripted({ services: [svc(2, 1)] });
    const never = await run(stuck.reader, { timeoutMs: 3_000 });
    assert.equal(never.result.outcome, 'timeout');
    assert.equal(never.lines.at(-1), 'service/web: timed out waiting for the controller to observe generation 2\n');

    const longer = await run(scripted({ services: [svc(2, 1)] }).reader, { timeoutMs: 7_000 });
    assert.deepEqual(longer.lines, [
      'service/web: waiting for the controller to observe generation 2\n',
      'service/web: still waiting (5s)\n',
      'service/web: timed out waiting for the controller to observe generation 2\n',
    ]);
  });

  it('keeps trying through an API restart, and reports a deleted service', async () => {
    const { reader } = scripted({
      services: [new ApiUnreachableError('cannot reach the Holdfast API at http://127.0.0.1:7420: is `holdfast serve` running?'), svc(1, 1, { name: 'd-1', generation: 1, phase: 'completed' })],
      deployments: { 'd-1': [d('d-1', 'completed', { generation: 1 })] },
    });
    const { result, lines } = await run(reader);
    assert.equal(result.outcome, 'completed');
    assert.match(lines[0], /^service\/web: cannot reach the Holdfast API .* \(retrying\)\n$/);

    const notFound = new ApiError(404, 'NotFound', 'services.holdfast.dev "web" not found', []);
    const gone = scripted({ services: [svc(2, 1), notFound] });
    const deleted = await run(gone.reader);
    assert.equal(deleted.result.outcome, 'gone');
    assert.deepEqual(deleted.lines, ['service/web: waiting for the controller to observe generation 2\n', 'service/web: the service was deleted while waiting\n']);

    // Not found at the first look: the name is wrong, and the error says so.
    await assert.rejects(run(scripted({ services: [notFound] }).reader), (err: unknown) => err === notFound);
  });

  it('follows a named deployment (after sync or undo) without reading the service', async () => {
    const { reader, calls } = scripted({ deployments: { 'd-sync': [d('d-sync', 'prepare', { running: 'pull' }), d('d-sync', 'canceled', { reason: 'Canceled' })] } });
    const { result, lines } = await run(reader, { deploymentId: 'd-sync' });
    assert.equal(result.outcome, 'canceled');
    assert.equal(calls.service, 0);
    assert.equal(lines.at(-1), 'service/web: canceled: Canceled (after 9s)\n');
  });

  it('lets an unexpected error through', async () => {
    const { reader } = scripted({ services: [new ApiError(403, 'Forbidden', 'forbidden: token "ci" cannot GET …', [])] });
    await assert.rejects(run(reader), (err: unknown) => err instanceof ApiError && err.httpStatus === 403);
  });

  it('follows the newest deployment queued for the generation (a sync), not the one the status still names', async () => {
    const { reader } = scripted({
      services: [svc(2, 2, { name: 'd-old', generation: 2, phase: 'completed' })],
      history: [d('d-sync', 'queued', { revision: 2, trigger: 'user' }), d('d-old', 'completed')],
      deployments: { 'd-sync': [d('d-sync', 'queued', { revision: 2, trigger: 'user' }), d('d-sync', 'completed', { revision: 2, trigger: 'user' })] },
    });
    const { result, lines } = await run(reader);
    assert.equal(result.deployment?.id, 'd-sync');
    assert.equal(lines[0], 'service/web: deployment d-sync (revision 2, generation 2, trigger user)\n');
  });

  it('prints each new log line, and at least every 5 s while nothing changes', async () => {
    const start = Date.parse('2025-01-01T00:00:10Z');
    const probing = d('d-new', 'deploy', { running: 'health', startedAt: '2025-01-01T00:00:10Z' });
    const log = (id: number, line: string): LogLine => ({ id, step: 'health', at: '2025-01-01T00:00:10Z', line });
    const { reader, logAfter } = scripted({
      services: [svc(2, 2)],
      history: [probing],
      deployments: { 'd-new': [...Array(12).fill(probing), d('d-new', 'completed')] },
      logs: [[log(1, 'hf_web_1 not ready yet: GET :9999 connection refused')]],
    });
    const { result, lines } = await run(reader, { start });
    assert.equal(result.outcome, 'completed');
    const heartbeat = (s: number) =>
      `service/web: deploy (health) for ${s}s; last: health: hf_web_1 not ready yet: GET :9999 connection refused (${s}s ago); deployment deadline in 59m (this wait ends in ${60 - s}s)\n`;
    assert.deepEqual(lines, [
      'service/web: deployment d-new (revision 1, generation 2, trigger api)\n',
      'service/web: deploy (health) …\n',
      'service/web: health: hf_web_1 not ready yet: GET :9999 connection refused\n',
      heartbeat(6),
      heartbeat(11),
      'service/web: completed in 9s\n',
    ]);
    assert.deepEqual(logAfter.slice(0, 3), [0, 1, 1], 'each poll asks only for lines after the newest seen');
  });

  it('ends at Ctrl-C, naming the deployment that goes on', async () => {
    const interrupt = new AbortController();
    const { reader } = scripted({ services: [svc(2, 2)], history: [d('d-new', 'deploy', { running: 'start' })], deployments: { 'd-new': [d('d-new', 'deploy', { running: 'start' })] } });
    const { result, elapsed } = await run(reader, { signal: interrupt.signal, onSleep: (clock) => clock >= 2000 && interrupt.abort() });
    assert.equal(result.outcome, 'interrupted');
    assert.equal(result.deploymentId, 'd-new');
    assert.equal(elapsed, 2000);

    const early = new AbortController();
    early.abort();
    const before = await run(scripted({ services: [svc(2, 1)] }).reader, { signal: early.signal });
    assert.deepEqual(before.result, { outcome: 'interrupted', deployment: undefined, deploymentId: undefined });
  });
});
