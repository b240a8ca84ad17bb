// A backup run's record: steps begin and end with their times and details, a failed step keeps
// why, steps a cut-short run left open end failed, the one-line summary for Events, and the runs
// kept in status (newest first, a run replaced by its later state, at most KEPT_RUNS).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { KEPT_RUNS, RunRecord, withRun, type BackupRun } from '../../../controllers/backups/run-record.js';
import { BackupFailure } from '../../../controllers/backups/backup-errors.js';

function ticking() {
  let t = Date.parse('2026-11-26T13:00:00Z');
  return () => new Date((t += 500));
}

describe('RunRecord', () => {
  it('records steps with times, details and outcome, in the order they began', async () => {
    const record = new RunRecord(ticking());
    const archive = record.begin('archive');
    const upload = record.begin('upload', 'offsite');
    upload.fail('connect ECONNREFUSED 127.0.0.1:1');
    archive.done({ sizeBytes: 10, sha256: 'a'.repeat(64) });
    archive.fail('too late: a step ends once');
    assert.deepEqual(record.steps, [
      { name: 'archive', startTime: '2026-11-26T13:00:00.500Z', completionTime: '2026-11-26T13:00:02.000Z', result: 'Succeeded', sizeBytes: 10, sha256: 'a'.repeat(64) },
      { name: 'upload', destination: 'offsite', startTime: '2026-11-26T13:00:01.000Z', completionTime: '2026-11-26T13:00:01.500Z', result: 'Failed', message: 'connect ECONNREFUSED 127.0.0.1:1' },
    ]);
    assert.equal(record.summary(), 'archive 1.5 s, upload offsite failed');
  });

  it('runs work as a step: its details, a failure it declares, or the error it throws', async () => {
    const record = new RunRecord(ticking());
    assert.equal(await record.step('prune', async () => 2, (n) => ({ message: `deleted ${n}` })), 2);
    await record.step('restoreTest', async () => ({ ok: false }), () => ({ failed: true, message: '"hello.txt" is missing' }));
    await assert.rejects(record.step('prepare', async () => Promise.reject(new BackupFailure('ServiceNotFound', 'service "web" not found'))), /not found/);
    assert.deepEqual(
      record.steps.map((s) => [s.name, s.result, s.message]),
      [
        ['prune', 'Succeeded', 'deleted 2'],
        ['restoreTest', 'Failed', '"hello.txt" is missing'],
        ['prepare', 'Failed', 'service "web" not found'],
      ],
    );
  });

  it('ends the steps a cut-short run left open as failed', () => {
    const record = new RunRecord(ticking());
    record.begin('archive');
    record.begin('upload', 'local').done();
    record.close('the read was aborted');
    assert.deepEqual(
      record.steps.map((s) => [s.name, s.result, s.message, Boolean(s.completionTime)]),
      [
        ['archive', 'Failed', 'the read was aborted', true],
        ['upload', 'Succeeded', undefined, true],
      ],
    );
  });
});

describe('withRun', () => {
  const run = (startTime: string, result: BackupRun['result'] = 'Succeeded'): BackupRun => ({ startTime, result });
  it('puts the run first and replaces its earlier state', () => {
    const runs = [run('b', 'Running'), run('a')];
    assert.deepEqual(withRun(runs, run('b')), [run('b'), run('a')]);
    assert.deepEqual(withRun(undefined, run('a')), [run('a')]);
  });
  it(`keeps the newest ${KEPT_RUNS}`, () => {
    const many = Array.from({ length: KEPT_RUNS }, (_, i) => run(`old-${i}`));
    const kept = withRun(many, run('new'));
    assert.equal(kept.length, KEPT_RUNS);
    assert.equal(kept[0].startTime, 'new');
    assert.equal(kept.at(-1)!.startTime, `old-${KEPT_RUNS - 2}`);
  });
});
