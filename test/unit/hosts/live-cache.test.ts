// The live-state cache's pure pieces: the /events `since` form of Docker's clock, label selection,
// and which Swarm tasks are still on their way somewhere.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { SwarmTask } from '../../../hosts/docker-api-types.js';
import { eventsSinceFromTime, matchesLabels, taskInTransition } from '../../../hosts/live-cache.js';

describe('eventsSinceFromTime', () => {
  const cases: Array<[string, string | undefined]> = [
    ['2026-11-26T09:09:00.404416078Z', '1795684140.404416078'],
    ['2026-11-26T09:09:00.4Z', '1795684140.400000000'],
    ['2026-11-26T09:09:00Z', '1795684140.000000000'],
    ['2026-11-26T10:09:00.000000001+01:00', '1795684140.000000001'],
    ['yesterday', undefined],
    ['', undefined],
  ];
  for (const [input, expected] of cases) {
    it(`${JSON.stringify(input)} → ${expected ?? 'unreadable'}`, () => assert.equal(eventsSinceFromTime(input), expected));
  }
});

describe('matchesLabels', () => {
  const labels = { 'holdfast.dev/managed-by': 'holdfast', 'holdfast.dev/project': 'shop', empty: '' };
  const cases: Array<[string[], Record<string, string> | null | undefined, boolean]> = [
    [[], labels, true],
    [[], null, true],
    [['holdfast.dev/managed-by=holdfast'], labels, true],
    [['holdfast.dev/managed-by=other'], labels, false],
    [['holdfast.dev/project'], labels, true],
    [['holdfast.dev/service'], labels, false],
    [['empty='], labels, true],
    [['empty'], labels, true],
    [['holdfast.dev/managed-by=holdfast', 'holdfast.dev/project=shop'], labels, true],
    [['holdfast.dev/managed-by=holdfast', 'holdfast.dev/project=blog'], labels, false],
    [['a=b'], undefined, false],
  ];
  for (const [wanted, have, expected] of cases) {
    it(`${JSON.stringify(wanted)} on ${have ? 'labels' : String(have)} → ${expected}`, () => assert.equal(matchesLabels(have, wanted), expected));
  }
});

describe('taskInTransition', () => {
  const task = (state: string, desired: string): SwarmTask => ({ ID: 't', DesiredState: desired, Status: { State: state } });
  const cases: Array<[string, string, boolean]> = [
    ['new', 'running', true],
    ['pending', 'running', true],
    ['assigned', 'running', true],
    ['preparing', 'running', true],
    ['starting', 'running', true],
    ['running', 'running', false],
    ['running', 'shutdown', true],
    ['shutdown', 'shutdown', false],
    ['complete', 'shutdown', false],
    ['failed', 'shutdown', false],
    ['rejected', 'shutdown', false],
  ];
  for (const [state, desired, expected] of cases) {
    it(`${state} (desired ${desired}) → ${expected ? 'in transition' : 'settled'}`, () => assert.equal(taskInTransition(task(state, desired)), expected));
  }
});
