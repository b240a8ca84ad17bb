import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HoldfastError } from '../../../core/errors.js';
import type { Database } from '../../../store/database.js';
import { DeploymentStore, type DeploymentChange } from '../../../store/deployments.js';
import { DRIVERS } from '../../support/stores.js';

const service = { uid: 'svc-uid-1', namespace: 'shop', name: 'web' };
const input = (over: Record<string, unknown> = {}) => ({
  service,
  generation: 1,
  trigger: 'user' as const,
  actor: 'token:admin',
  server: 'edge-1',
  frozen: { containers: [] },
  specHash: 'sha256:aaa',
  deadlineMs: 60_000,
  ...over,
});

for (const driver of DRIVERS) {
  describe(`deployment store on ${driver.name}`, () => {
    let database: Database;
    let store: DeploymentStore;
    before(async () => {
      database = await driver.open();
      store = new DeploymentStore(database.db);
    });
    after(async () => database.close());

    it('numbers revisions per service, also under concurrent creates', async () => {
      const made = await Promise.all([1, 2, 3, 4].map(() => store.create(input())));
      assert.deepEqual(made.map((d) => d.revision).sort(), [1, 2, 3, 4]);
      const other = await store.create(input({ service: { uid: 'svc-uid-2', namespace: 'shop', name: 'db' } }));
      assert.equal(other.revision, 1);
      const history = await store.listForService('shop', 'web');
      assert.deepEqual(history.map((d) => d.revision), [4, 3, 2, 1]);
    });

    it('walks the phases, times the steps, and skips what never ran', async () => {
      const d = await store.create(input());
      assert.equal(d.phase, 'queued');
      assert.deepEqual(d.steps.map((s) => s.status), ['pending', 'pending', 'pending', 'pending', 'pending', 'pending', 'pending']);
      await store.setPhase(d.id, 'prepare');
      await store.startStep(d.id, 'pull');
      await store.finishStep(d.id, 'pull', 'succeeded');
      await store.setPhase(d.id, 'deploy');
      await store.startStep(d.id, 'start');
      const failed = await store.setPhase(d.id, 'failed', { reason: 'HealthCheckFailed', message: 'web did not become healthy within 60s' });
      assert.equal(failed.phase, 'failed');
      assert.ok(failed.startedAt && failed.finishedAt);
      const byName = Object.fromEntries(failed.steps.map((s) => [s.name, s.status]));
      assert.deepEqual(byName, { clone: 'skipped', build: 'skipped', pull: 'succeeded', volume: 'skipped', start: 'failed', health: 'skipped', finalize: 'skipped' });
      await assert.rejects(store.setPhase(d.id, 'completed'), (e: unknown) => e instanceof HoldfastError && e.reason === 'Conflict');
    });

    it('lists in-flight deployments and finds the last completed one', async () => {
      const svc = { uid: 'svc-uid-3', namespace: 'shop', name: 'api' };
      const a = await store.create(input({ service: svc }));
      await store.setPhase(a.id, 'completed');
      const b = await store.create(input({ service: svc }));
      await store.setPhase(b.id, 'deploy');
      const inflight = (await store.inFlight()).map((d) => d.id);
      assert.ok(inflight.includes(b.id));
      assert.ok(!inflight.includes(a.id));
      assert.equal((await store.lastCompleted(svc.uid))?.id, a.id);
      assert.equal(await store.lastCompleted(svc.uid, a.revision), undefined);
    });

    it('appends log lines in order and tells subscribers', async () => {
      const d = await store.create(input());
      const seen: DeploymentChange[] = [];
      const stop = store.subscribe((c) => seen.push(c));
      await store.appendLog(d.id, 'pull', ['Pulling fs layer\nDownload complete', '']);
      await store.appendLog(d.id, 'start', ['started hf_shop_production_web_1']);
      stop();
      const lines = await store.logsSince(d.id);
      assert.deepEqual(lines.map((l) => [l.step, l.line]), [['pull', 'Pulling fs layer'], ['pull', 'Download complete'], ['start', 'started hf_shop_production_web_1']]);
      assert.deepEqual((await store.logsSince(d.id, lines[1].id)).map((l) => l.line), ['started hf_shop_production_web_1']);
      assert.equal(seen.filter((c) => c.type === 'log').length, 2);
    });

    it('records a cancel request, and refuses one on an ended deployment', async () => {
      const d = await store.create(input());
      assert.equal((await store.requestCancel(d.id)).cancelRequested, true);
      await store.setPhase(d.id, 'canceled');
      await assert.rejects(store.requestCancel(d.id), /already ended/);
    });
  });
}
