import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { syncWindowState, type SyncWindow } from '../../../core/gitops/sync-windows.js';

const deny = (schedule: string, duration: string): SyncWindow => ({ kind: 'deny', schedule, duration });
const at = (iso: string) => new Date(iso);

describe('syncWindowState', () => {
  const nightly = deny('0 22 * * *', '8h');
  const cases: Array<{ name: string; windows: SyncWindow[]; now: string; expect: { denied: boolean; closesAt?: string; opensAt?: string } }> = [
    { name: 'no windows: always allowed, nothing opens', windows: [], now: '2026-12-04T12:00:00Z', expect: { denied: false } },
    { name: 'before a nightly window: allowed until it opens', windows: [nightly], now: '2026-12-04T12:00:00Z', expect: { denied: false, opensAt: '2026-12-04T22:00:00.000Z' } },
    { name: 'at the moment it opens: denied', windows: [nightly], now: '2026-12-04T22:00:00Z', expect: { denied: true, closesAt: '2026-12-05T06:00:00.000Z' } },
    { name: 'past midnight, inside the window opened the evening before', windows: [nightly], now: '2026-12-05T03:00:00Z', expect: { denied: true, closesAt: '2026-12-05T06:00:00.000Z' } },
    { name: 'at the moment it closes: allowed, the next opens in the evening', windows: [nightly], now: '2026-12-05T06:00:00Z', expect: { denied: false, opensAt: '2026-12-05T22:00:00.000Z' } },
    {
      name: 'weekend freeze: Friday 18:00 for 2 days 14 h, on a Sunday',
      windows: [deny('0 18 * * 5', '2d14h')],
      now: '2026-12-06T10:00:00Z',
      expect: { denied: true, closesAt: '2026-12-07T08:00:00.000Z' },
    },
    {
      name: 'two overlapping windows close when the later one does',
      windows: [deny('0 9 * * *', '2h'), deny('30 10 * * *', '1h')],
      now: '2026-12-04T09:15:00Z',
      expect: { denied: true, closesAt: '2026-12-04T11:30:00.000Z' },
    },
    { name: 'of several windows, the one opening first is named', windows: [nightly, deny('0 13 * * *', '30m')], now: '2026-12-04T12:00:00Z', expect: { denied: false, opensAt: '2026-12-04T13:00:00.000Z' } },
  ];
  for (const c of cases) {
    it(c.name, () => {
      const state = syncWindowState(c.windows, at(c.now));
      assert.deepEqual(
        { denied: state.denied, ...(state.denied ? { closesAt: state.closesAt.toISOString() } : state.opensAt ? { opensAt: state.opensAt.toISOString() } : {}) },
        c.expect,
      );
    });
  }

  it('back-to-back windows of one schedule chain into one that closes far ahead', () => {
    const state = syncWindowState([deny('0 */2 * * *', '2h')], at('2026-12-04T09:15:00Z'));
    assert.ok(state.denied && state.closesAt.getTime() - Date.parse('2026-12-04T09:15:00Z') > 30 * 86_400_000);
  });

  it('names the window of a bad schedule or duration', () => {
    assert.throws(() => syncWindowState([nightly, deny('every night', '8h')], at('2026-12-04T12:00:00Z')), /spec\.windows\[1\]\.schedule "every night" is not a valid cron expression/);
    assert.throws(() => syncWindowState([deny('0 22 * * *', 'eight hours')], at('2026-12-04T12:00:00Z')), /spec\.windows\[0\]\.duration/);
  });
});
