import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { describeStop } from '../../../core/plan/describe-stop.js';

describe('how a planned stop is told in the deployment log', () => {
  const cases: Array<[what: string, stop: Parameters<typeof describeStop>[0], expected: string]> = [
    ['Docker defaults', {}, "the image's stop signal (SIGTERM unless it sets one), then SIGKILL after 10 s"],
    ['a grace period of its own', { timeoutSeconds: 30 }, "the image's stop signal (SIGTERM unless it sets one), then SIGKILL after 30 s"],
    ['a signal of its own', { signal: 'SIGQUIT', timeoutSeconds: 5 }, 'SIGQUIT, then SIGKILL after 5 s'],
    ['no grace at all', { signal: 'SIGINT', timeoutSeconds: 0 }, 'SIGINT, then SIGKILL after 0 s'],
  ];
  for (const [what, stop, expected] of cases) it(what, () => assert.equal(describeStop(stop), expected));
});
