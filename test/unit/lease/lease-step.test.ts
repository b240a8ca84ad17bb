// The lease state machine as a table: acquire, renew, wait, expire, take over, release.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { nextLeaseStep, releasedLease, type LeaseStep, type ObservedLease } from '../../../core/lease/lease-step.js';

const T0 = new Date('2026-12-04T10:00:00Z');
const at = (seconds: number) => new Date(T0.getTime() + seconds * 1000);
const iso = (seconds: number) => at(seconds).toISOString();
const held = (holder: string | undefined, observedSeconds: number, extra: Record<string, unknown> = {}): ObservedLease => ({
  spec: { ...(holder ? { holderIdentity: holder } : {}), leaseDurationSeconds: 15, acquireTime: iso(-100), renewTime: iso(-1), leaseTransitions: 3, ...extra },
  observedAt: at(observedSeconds),
});

describe('nextLeaseStep', () => {
  const cases: Array<{ name: string; current: ObservedLease | undefined; now: number; want: LeaseStep }> = [
    {
      name: 'no lease yet: create it, held by me, no transition',
      current: undefined,
      now: 0,
      want: { action: 'create', spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: iso(0), renewTime: iso(0), leaseTransitions: 0 } },
    },
    {
      name: 'mine: renew, keeping when I took it and the transitions',
      current: held('me', -5),
      now: 0,
      want: { action: 'renew', spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: iso(-100), renewTime: iso(0), leaseTransitions: 3 } },
    },
    {
      name: 'mine but late: still a renewal (the compare-and-swap decides if someone took it)',
      current: held('me', -60),
      now: 0,
      want: { action: 'renew', spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: iso(-100), renewTime: iso(0), leaseTransitions: 3 } },
    },
    {
      name: "another's, renewal seen recently: wait until its expiry by my clock",
      current: held('other', -5),
      now: 0,
      want: { action: 'wait', holder: 'other', expiresAt: at(10) },
    },
    {
      name: "another's, one second before expiry: still wait",
      current: held('other', -14),
      now: 0,
      want: { action: 'wait', holder: 'other', expiresAt: at(1) },
    },
    {
      name: "another's, the holder's own duration counts, not mine",
      current: held('other', -20, { leaseDurationSeconds: 30 }),
      now: 0,
      want: { action: 'wait', holder: 'other', expiresAt: at(10) },
    },
    {
      name: "another's, not renewed within its duration: take it over, one more transition",
      current: held('other', -15),
      now: 0,
      want: { action: 'acquire', spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: iso(0), renewTime: iso(0), leaseTransitions: 4 } },
    },
    {
      name: 'released (no holder): take it at once',
      current: held(undefined, 0),
      now: 0,
      want: { action: 'acquire', spec: { holderIdentity: 'me', leaseDurationSeconds: 15, acquireTime: iso(0), renewTime: iso(0), leaseTransitions: 4 } },
    },
    {
      name: 'a renewTime far in the past does not expire a lease I only just read (no clock comparison)',
      current: held('other', 0, { renewTime: iso(-3600) }),
      now: 1,
      want: { action: 'wait', holder: 'other', expiresAt: at(15) },
    },
  ];
  for (const c of cases) {
    it(c.name, () => assert.deepEqual(nextLeaseStep(c.current, 'me', at(c.now), 15), c.want));
  }
});

describe('releasedLease', () => {
  it('hands back a lease I hold: no holder, renewed now, the rest kept', () => {
    assert.deepEqual(releasedLease(held('me', 0).spec, 'me', at(2)), { leaseDurationSeconds: 15, acquireTime: iso(-100), renewTime: iso(2), leaseTransitions: 3 });
  });
  it("leaves another's lease alone", () => {
    assert.equal(releasedLease(held('other', 0).spec, 'me', at(2)), undefined);
  });
  it('a released lease is taken by the next replica that looks', () => {
    const released = releasedLease(held('me', 0).spec, 'me', at(2))!;
    assert.equal(nextLeaseStep({ spec: released, observedAt: at(2) }, 'next', at(2), 15).action, 'acquire');
  });
});
