// The backup controller's schedule handling, with the host work stood in for: when a policy runs,
// what it writes to status, and when it asks to be woken.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import pino from 'pino';
import { BackupFailure } from '../../../controllers/backups/backup-errors.js';
import { BackupController, type BackupSteps } from '../../../controllers/backups/backup-controller.js';
import type { EventRecorder } from '../../../controllers/events.js';
import type { Resource } from '../../../core/resource.js';
import type { DeploymentStore } from '../../../store/deployments.js';
import type { ResourceStore } from '../../../store/resource-store.js';
import type { ServerConnector } from '../../../controllers/servers/server-connector.js';

const NOW = new Date('2026-11-26T13:00:30Z');

function setup(spec: Record<string, unknown>, status: Record<string, unknown> = {}, opts: { locate?: Error; take?: Error; generation?: number } = {}) {
  let policy: Resource = {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'BackupPolicy',
    metadata: { name: 'p', namespace: 'shop', uid: 'u1', generation: opts.generation ?? 1 },
    spec: { service: 'web', target: { volume: 'data' }, schedule: '*/15 * * * *', destination: { path: '/b' }, retention: { keepLast: 7 }, verification: { enabled: true }, ...spec },
    status,
  };
  const store = {
    get: async () => structuredClone(policy),
    replaceStatus: async (obj: Resource) => {
      policy = structuredClone(obj);
      return policy;
    },
  } as unknown as ResourceStore;
  const calls: string[] = [];
  const events: Array<{ type: string; reason: string; message: string }> = [];
  const runner: BackupSteps = {
    locate: async () => {
      calls.push('locate');
      if (opts.locate) throw opts.locate;
      return { server: 'edge', mounts: [{ container: 'c', path: '/data' }] };
    },
    take: async () => {
      calls.push('take');
      if (opts.take) throw opts.take;
      const entry = { name: 'p-20261126T130030Z.tar', time: NOW.toISOString(), sizeBytes: 10, sha256: 'a'.repeat(64), verified: true };
      return { entry, startTime: NOW, completionTime: NOW, server: 'edge', file: '/b/p-20261126T130030Z.tar', verification: { result: 'Succeeded', message: 'ok' } };
    },
    prune: async (_p, recorded) => {
      calls.push('prune');
      return { kept: [...recorded], removed: [] };
    },
    restore: async () => {
      throw new Error('not used');
    },
  };
  const recorder: EventRecorder = { record: async (_about, type, reason, message) => void events.push({ type, reason, message }) };
  const controller = new BackupController({
    store,
    deployments: {} as DeploymentStore,
    connector: {} as ServerConnector,
    events: recorder,
    log: pino({ level: 'silent' }),
    clock: () => NOW,
    runner,
  });
  return { controller, calls, events, policy: () => policy as Resource & { status: Record<string, any> } };
}

const cond = (p: { status: Record<string, any> }, type: string) => (p.status.conditions as Array<{ type: string; status: string; reason: string; message: string }>).find((c) => c.type === type);

describe('BackupController.reconcile', () => {
  it('schedules a new policy for its next time without running it', async () => {
    const t = setup({});
    const result = await t.controller.reconcile('shop/p', new AbortController().signal);
    assert.deepEqual(t.calls, ['locate']);
    assert.equal(t.policy().status.nextScheduleTime, '2026-11-26T13:15:00.000Z');
    assert.equal(t.policy().status.observedGeneration, 1);
    assert.equal(result.requeueAfterMs, 14 * 60_000 + 30_000);
    assert.equal(cond(t.policy(), 'Ready')?.reason, 'Scheduled');
  });

  it('runs when the recorded time has come, records it, and schedules the next', async () => {
    const t = setup({}, { observedGeneration: 1, nextScheduleTime: '2026-11-26T13:00:00.000Z' });
    const result = await t.controller.reconcile('shop/p', new AbortController().signal);
    assert.deepEqual(t.calls, ['locate', 'take', 'prune']);
    const s = t.policy().status;
    assert.equal(s.lastBackup.result, 'Succeeded');
    assert.equal(s.lastBackup.sha256, 'a'.repeat(64));
    assert.equal(s.lastVerification.result, 'Succeeded');
    assert.equal(s.backupCount, 1);
    assert.equal(s.nextScheduleTime, '2026-11-26T13:15:00.000Z');
    assert.equal(cond(t.policy(), 'LastBackupSucceeded')?.reason, 'BackupSucceeded');
    assert.equal(result.requeueAfterMs, 14 * 60_000 + 30_000);
    assert.ok(t.events.some((e) => e.reason === 'BackupSucceeded'));
  });

  it('does not run a due time recorded for an older generation (the schedule changed)', async () => {
    const t = setup({ schedule: '@daily' }, { observedGeneration: 1, nextScheduleTime: '2026-11-26T13:00:00.000Z' }, { generation: 2 });
    await t.controller.reconcile('shop/p', new AbortController().signal);
    assert.deepEqual(t.calls, ['locate']);
    assert.equal(t.policy().status.nextScheduleTime, '2026-11-27T00:00:00.000Z');
    assert.equal(t.policy().status.observedGeneration, 2);
  });

  it('keeps a recorded future time', async () => {
    const t = setup({}, { observedGeneration: 1, nextScheduleTime: '2026-11-26T13:15:00.000Z' });
    const result = await t.controller.reconcile('shop/p', new AbortController().signal);
    assert.deepEqual(t.calls, ['locate']);
    assert.equal(result.requeueAfterMs, 14 * 60_000 + 30_000);
  });

  it('honours suspend: no time, no run, no requeue', async () => {
    const t = setup({ suspend: true }, { observedGeneration: 1, nextScheduleTime: '2026-11-26T13:00:00.000Z' });
    const result = await t.controller.reconcile('shop/p', new AbortController().signal);
    assert.deepEqual(t.calls, ['locate']);
    assert.equal(t.policy().status.nextScheduleTime, undefined);
    assert.equal(cond(t.policy(), 'Ready')?.reason, 'Suspended');
    assert.deepEqual(result, {});
  });

  it('says why a policy cannot run, without a crash or a requeue', async () => {
    const t = setup({ target: { database: { type: 'postgres' } } }, {}, { locate: new BackupFailure('NotSupported', 'database targets are not supported yet') });
    const result = await t.controller.reconcile('shop/p', new AbortController().signal);
    assert.deepEqual(result, {});
    assert.deepEqual({ ...cond(t.policy(), 'Ready'), lastTransitionTime: undefined, observedGeneration: undefined }, {
      type: 'Ready', status: 'False', reason: 'NotSupported', message: 'database targets are not supported yet', lastTransitionTime: undefined, observedGeneration: undefined,
    });
  });

  it('records a failed scheduled backup with its reason and still schedules the next', async () => {
    const t = setup({}, { observedGeneration: 1, nextScheduleTime: '2026-11-26T13:00:00.000Z' }, { take: new BackupFailure('DiskFull', 'writing /b/x failed, the destination is out of space') });
    const result = await t.controller.reconcile('shop/p', new AbortController().signal);
    const s = t.policy().status;
    assert.equal(s.lastBackup.result, 'Failed');
    assert.equal(cond(t.policy(), 'LastBackupSucceeded')?.reason, 'DiskFull');
    assert.ok(t.events.some((e) => e.type === 'Warning' && e.reason === 'BackupFailed' && e.message.includes('out of space')));
    assert.equal(s.nextScheduleTime, '2026-11-26T13:15:00.000Z');
    assert.ok(result.requeueAfterMs! > 0);
  });

  it('refuses a second run of a policy while one runs', async () => {
    const t = setup({});
    let release!: () => void;
    const gate = new Promise<void>((ok) => (release = ok));
    const slow = setup({});
    (slow.controller as unknown as { runner: BackupSteps }).runner.take = async (...args) => {
      await gate;
      return (t.controller as unknown as { runner: BackupSteps }).runner.take(...args);
    };
    const first = slow.controller.run(slow.policy(), 'token:a');
    await assert.rejects(slow.controller.run(slow.policy(), 'token:b'), (err: unknown) => err instanceof BackupFailure && err.condition === 'Busy' && err.code === 409);
    release();
    await first;
  });
});
