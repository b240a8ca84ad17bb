import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { HoldfastError } from '../../../core/errors.js';
import type { Database } from '../../../store/database.js';
import { DeploymentJournal } from '../../../controllers/services/deployment-journal.js';
import { DeploymentStore, type DeploymentChange } from '../../../store/deployments.js';
import { DRIVERS } from '../../support/stores.js';
import { until } from '../../support/until.js';
import { partialFrozen } from '../../support/frozen.js';

const service = { uid: 'svc-uid-1', namespace: 'shop', name: 'web' };
const input = (over: Record<string, unknown> = {}) => ({
  service,
  generation: 1,
  trigger: 'user' as const,
  actor: 'token:admin',
  server: 'edge-1',
  frozen: partialFrozen({ containers: [] }),
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

    it('writes progress and log lines of one deployment in one transaction, each with the time it happened', async () => {
      const d = await store.create(input());
      const seen: DeploymentChange[] = [];
      const stop = store.subscribe((c) => seen.push(c));
      const at = (s: number) => new Date(Date.UTC(2026, 0, 1, 0, 0, s));
      const record = await store.commit(
        d.id,
        [{ phase: 'deploy', at: at(1).toISOString() }, { step: 'start', status: 'running', at: at(2).toISOString() }],
        [{ step: 'deploy', at: at(1), line: 'plan: 2 action(s)' }, { step: 'start', at: at(2), line: 'create web\nstart web' }],
      );
      assert.equal(record?.phase, 'deploy');
      assert.equal(record?.startedAt, at(1).toISOString());
      assert.equal(record?.steps.find((s) => s.name === 'start')?.startedAt, at(2).toISOString());
      assert.equal(seen.length, 1, 'one write, one notice');
      assert.deepEqual(seen[0].type === 'deployment' && seen[0].lines.map((l) => [l.line, l.at]), [['plan: 2 action(s)', at(1).toISOString()], ['create web', at(2).toISOString()], ['start web', at(2).toISOString()]]);
      await store.setPhase(d.id, 'canceled');
      // A change refused stores none of the lines that came with it.
      await assert.rejects(store.commit(d.id, [{ step: 'health', status: 'running', at: at(3).toISOString() }], [{ step: 'health', at: at(3), line: 'too late' }]), /already ended/);
      stop();
      assert.deepEqual((await store.logsSince(d.id)).map((l) => l.line), ['plan: 2 action(s)', 'create web', 'start web']);
    });

    it('a journal writes log lines in batches and steps when told, and keeps what a failed write carried', async () => {
      const d = await store.create(input());
      const writes: DeploymentChange[] = [];
      const stop = store.subscribe((c) => writes.push(c));
      try {
        const journal = new DeploymentJournal(store, d.id);
        for (let i = 1; i <= 3; i++) await journal.log('health', `probe ${i} failed`);
        assert.equal(writes.length, 0, 'lines wait');
        await until('the waiting lines to be written', async () => (writes.length > 0 ? true : undefined), 5000, 20);
        assert.deepEqual(writes.map((c) => c.lines.length), [3], 'three lines, one write');
        writes.length = 0;
        for (let i = 1; i <= 120; i++) await journal.log('pull', `layer ${i}`);
        journal.step('pull', 'succeeded');
        await journal.flush();
        assert.deepEqual(writes.map((c) => [c.type, c.lines.length]), [['log', 50], ['log', 50], ['deployment', 20]], 'full batches as they fill, the rest with the step');
        journal.close();

        // A write that fails keeps its lines and changes for the next one.
        const late = new DeploymentStore(database.db, undefined, () => 'd-journal-later');
        const early = new DeploymentJournal(late, 'd-journal-later');
        await early.log('deploy', 'said before the record exists');
        early.step('start', 'running');
        await assert.rejects(early.flush(), /not found/);
        await late.create(input());
        assert.equal((await early.flush())?.steps.find((s) => s.name === 'start')?.status, 'running');
        assert.deepEqual((await late.logsSince('d-journal-later')).map((l) => l.line), ['said before the record exists']);
        early.close();
      } finally {
        stop();
      }
    });

    it('records a cancel request, and refuses one on an ended deployment', async () => {
      const d = await store.create(input());
      assert.equal((await store.requestCancel(d.id)).cancelRequested, true);
      await store.setPhase(d.id, 'canceled');
      await assert.rejects(store.requestCancel(d.id), /already ended/);
    });
  });
}
