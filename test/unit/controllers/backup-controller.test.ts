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

function setup(spec: Record<string, unknown>, status: Record<string, unknown> = {}, opts: { locate?: Error; take?: Error; generation?: number; restoreTest?: 'Succeeded' | 'Failed'; copyFailed?: string; prune?: Error | string } = {}) {
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
      const location = '/b/p-20261126T130030Z.tar on server edge';
      const copies = [{ destination: 'default', location, result: 'Succeeded' as const, verified: true }];
      if (opts.copyFailed) copies.push({ destination: 'offsite', result: 'Failed', reason: 'ServerUnavailable', message: opts.copyFailed } as never);
      return { entry, startTime: NOW, completionTime: NOW, location, copies, verification: { result: 'Succeeded', message: 'ok' } };
    },
    // opts.prune: an Error fails the whole prune, a string the offsite destination's.
    prune: async (_p, recorded, _signal, record) => {
      calls.push('prune');
      if (opts.prune instanceof Error) throw opts.prune;
      record.begin('prune', 'default').done({ message: 'nothing to delete' });
      if (opts.prune === undefined) return { kept: [...recorded], removed: [], failures: [] };
      record.begin('prune', 'offsite').fail(opts.prune);
      return { kept: [...recorded], removed: [], failures: [{ destination: 'offsite', message: opts.prune }] };
    },
    restore: async () => {
      throw new Error('not used');
    },
    removeStalePartials: async () => void calls.push('removeStalePartials'),
    restoreTest: async () => {
      calls.push('restoreTest');
      const result = opts.restoreTest ?? 'Succeeded';
      return { result, restoreTested: true, message: result === 'Succeeded' ? 'restored into a scratch volume on server edge and found "hello.txt"' : 'restored into a scratch volume on server edge, but "hello.txt" is missing' };
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

  it('looks at a yearly policy again within a day, not in a loop (a timer holds at most 24.8 days)', async () => {
    const t = setup({ schedule: '0 0 1 1 *' });
    const result = await t.controller.reconcile('shop/p', new AbortController().signal);
    assert.equal(t.policy().status.nextScheduleTime, '2027-01-01T00:00:00.000Z');
    assert.equal(result.requeueAfterMs, 24 * 60 * 60_000);
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

  it('records a run a stopped control plane left Running as failed, and removes its partial file', async () => {
    const started = new Date(NOW.getTime() - 60_000).toISOString();
    const t = setup({}, { observedGeneration: 1, nextScheduleTime: '2026-11-26T13:15:00.000Z', lastBackup: { startTime: started, result: 'Running' } });
    await t.controller.reconcile('shop/p', new AbortController().signal);
    assert.deepEqual(t.calls, ['removeStalePartials', 'locate']);
    const s = t.policy().status;
    assert.equal(s.lastBackup.result, 'Failed');
    assert.match(s.lastBackup.message, /the control plane stopped while this backup was being taken/);
    assert.equal(cond(t.policy(), 'LastBackupSucceeded')?.reason, 'Interrupted');
    assert.ok(t.events.some((e) => e.reason === 'BackupFailed' && /^Interrupted:/.test(e.message)));
  });

  it('leaves a Running run of this process alone', async () => {
    const t = setup({}, { observedGeneration: 1, nextScheduleTime: '2026-11-26T13:15:00.000Z', lastBackup: { startTime: NOW.toISOString(), result: 'Running' } });
    await t.controller.reconcile('shop/p', new AbortController().signal);
    assert.deepEqual(t.calls, ['locate']);
    assert.equal(t.policy().status.lastBackup.result, 'Running');
  });

  it('without a restore test, Verified says the backup was read back', async () => {
    const t = setup({}, { observedGeneration: 1, nextScheduleTime: '2026-11-26T13:00:00.000Z' });
    await t.controller.reconcile('shop/p', new AbortController().signal);
    assert.equal(t.policy().status.lastVerification.restoreTested, false);
    assert.deepEqual([cond(t.policy(), 'Verified')?.status, cond(t.policy(), 'Verified')?.reason], ['True', 'ReadBack']);
  });

  const restoreTests: Array<{ outcome: 'Succeeded' | 'Failed'; verified: string; reason: string; result: string; event: string }> = [
    { outcome: 'Succeeded', verified: 'True', reason: 'RestoreTestPassed', result: 'Succeeded', event: 'BackupSucceeded' },
    { outcome: 'Failed', verified: 'False', reason: 'RestoreTestFailed', result: 'Failed', event: 'VerificationFailed' },
  ];
  for (const c of restoreTests) {
    it(`a restore test that ${c.outcome === 'Succeeded' ? 'passes' : 'fails'} after the backup is recorded as Verified=${c.verified}`, async () => {
      const t = setup({ verification: { enabled: true, restoreTest: true } }, { observedGeneration: 1, nextScheduleTime: '2026-11-26T13:00:00.000Z' }, { restoreTest: c.outcome });
      await t.controller.reconcile('shop/p', new AbortController().signal);
      assert.deepEqual(t.calls, ['locate', 'take', 'restoreTest', 'prune']);
      const s = t.policy().status;
      assert.equal(s.lastVerification.restoreTested, true);
      assert.equal(s.lastVerification.result, c.outcome);
      assert.match(s.lastVerification.message, /^ok; restored into a scratch volume on server edge/);
      assert.equal(s.lastBackup.result, c.result);
      assert.equal(s.backups[0].verified, c.outcome === 'Succeeded');
      assert.deepEqual([cond(t.policy(), 'Verified')?.status, cond(t.policy(), 'Verified')?.reason], [c.verified, c.reason]);
      assert.ok(t.events.some((e) => e.reason === c.event));
    });
  }

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
    const t = setup({ target: { database: { type: 'postgres' } } }, {}, { locate: new BackupFailure('ComponentRequired', 'service "shop" runs web, db: spec.target.database.component must name the one that serves the database') });
    const result = await t.controller.reconcile('shop/p', new AbortController().signal);
    assert.deepEqual(result, {});
    assert.deepEqual({ ...cond(t.policy(), 'Ready'), lastTransitionTime: undefined, observedGeneration: undefined }, {
      type: 'Ready', status: 'False', reason: 'ComponentRequired', message: 'service "shop" runs web, db: spec.target.database.component must name the one that serves the database', lastTransitionTime: undefined, observedGeneration: undefined,
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

  it('records a copy that failed on one destination without failing the backup', async () => {
    const t = setup({}, {}, { copyFailed: 'connect ECONNREFUSED 127.0.0.1:1' });
    const done = await t.controller.run(t.policy(), 'token:a');
    assert.deepEqual(
      done.copies.map((c) => [c.destination, c.result]),
      [
        ['default', 'Succeeded'],
        ['offsite', 'Failed'],
      ],
    );
    const status = t.policy().status;
    assert.equal(status.lastBackup.result, 'Succeeded');
    assert.equal(status.lastBackup.copies[1].reason, 'ServerUnavailable');
    const succeeded = cond(t.policy(), 'LastBackupSucceeded')!;
    assert.equal(succeeded.status, 'True');
    assert.equal(succeeded.reason, 'CopyFailed');
    assert.match(succeeded.message, /not copied to offsite \(ServerUnavailable: connect ECONNREFUSED/);
    assert.ok(t.events.some((e) => e.type === 'Warning' && e.reason === 'CopyFailed' && e.message.includes('destination offsite')));
    const [run] = status.runs;
    assert.deepEqual([run.backup, run.actor, run.result, run.sha256], ['p-20261126T130030Z.tar', 'token:a', 'Succeeded', 'a'.repeat(64)]);
    assert.deepEqual(
      run.steps.map((x: { name: string; destination?: string; result: string }) => `${x.name}${x.destination ? ` ${x.destination}` : ''}=${x.result}`),
      ['prune default=Succeeded'],
    );
    assert.deepEqual(
      t.events.map((e) => e.reason),
      ['BackupStarted', 'BackupSucceeded', 'CopyFailed'],
    );
  });

  it('records the prune of each destination for itself', async () => {
    const table: Array<[string, Error | string, string[], RegExp]> = [
      ['one destination unreachable', 'connect ECONNREFUSED 127.0.0.1:1', ['prune default=Succeeded', 'prune offsite=Failed'], /^old backups could not be deleted from destination offsite: connect ECONNREFUSED/],
      ['nothing to prune with', new BackupFailure('ServiceNotDeployed', 'service "web" has no completed deployment yet'), ['prune=Failed'], /^old backups could not be deleted: service "web" has no completed deployment yet$/],
    ];
    for (const [what, prune, steps, event] of table) {
      const t = setup({}, {}, { prune });
      await t.controller.run(t.policy(), 'token:a');
      const [run] = t.policy().status.runs;
      assert.equal(run.result, 'Succeeded', what);
      assert.deepEqual(
        run.steps.map((x: { name: string; destination?: string; result: string }) => `${x.name}${x.destination ? ` ${x.destination}` : ''}=${x.result}`),
        steps,
        what,
      );
      const failed = t.events.filter((e) => e.reason === 'RetentionFailed');
      assert.equal(failed.length, 1, what);
      assert.match(failed[0].message, event, what);
    }
  });

  it('records a failed run with its reason in the runs', async () => {
    const t = setup({}, {}, { take: new BackupFailure('DiskFull', 'writing /b/x.tar on server edge failed, the destination is out of space') });
    await assert.rejects(t.controller.run(t.policy(), 'token:a'));
    const [run] = t.policy().status.runs;
    assert.deepEqual([run.result, run.reason, run.actor], ['Failed', 'DiskFull', 'token:a']);
    assert.match(run.message, /out of space/);
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
