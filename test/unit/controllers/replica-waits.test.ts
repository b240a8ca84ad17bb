// The wait for a replica without a check (waitHealthy with check `running`): it is ready once it has
// stayed up RUNNING_STABLE_MS, counted from its start when this rollout started it and Docker has not
// restarted it, else from the first look; a restart or an exit in the window is judged at its end.
import { describe, it } from 'node:test';
import assert from 'node:assert/strict';
import { RUNNING_STABLE_MS } from '../../../core/deploy/rollout-verdicts.js';
import type { Action } from '../../../core/plan/types.js';
import { waitHealthy } from '../../../controllers/services/replica-waits.js';
import type { RolloutRun } from '../../../controllers/services/rollout-run.js';

interface Look {
  running: boolean;
  startedAt: string;
  restartCount: number;
  exitCode?: number;
}

/** A rollout whose clock moves only by its sleeps; each inspect answers the next look (the last one repeats). */
function fakeRun(looks: Look[], opts: { startedHereAt?: number; firstLookAt: number }) {
  let now = opts.firstLookAt;
  let inspections = 0;
  const lines: string[] = [];
  const run = {
    deps: {
      host: {
        docker: {
          inspectContainer: async () => {
            const look = looks[Math.min(inspections++, looks.length - 1)]!;
            return {
              State: { Status: look.running ? 'running' : 'exited', Running: look.running, Restarting: false, ExitCode: look.exitCode ?? 0, StartedAt: look.startedAt },
              RestartCount: look.restartCount,
            };
          },
          containerLogs: async () => ({ stdout: 'listening\n', stderr: 'fatal: no config\n' }),
        },
      },
    },
    now: () => now,
    clock: () => new Date(now),
    sleep: async (ms: number) => {
      now += ms;
    },
    log: async (_step: string, line: string) => {
      lines.push(line);
    },
    checkCanceled: async () => undefined,
    startedAt: () => opts.startedHereAt,
  } as unknown as RolloutRun;
  return { run, lines, elapsed: () => now };
}

const action: Extract<Action, { type: 'wait-healthy' }> = { type: 'wait-healthy', target: 'web_1', reason: 'wait until web_1 runs', check: 'running', deadlineSeconds: 60 };
const up = (startedAt: string, restartCount = 0): Look => ({ running: true, startedAt, restartCount });
const T0 = Date.parse('2026-12-06T00:00:00Z');

describe('waitHealthy without a check: the stability window', () => {
  const cases: Array<{ name: string; looks: Look[]; startedHereAt?: number; firstLookAt: number; readyAt?: number; fails?: RegExp }> = [
    { name: 'started here, first look 1.5 s later: ready 2 s after the start', looks: [up('a')], startedHereAt: T0, firstLookAt: T0 + 1500, readyAt: T0 + RUNNING_STABLE_MS },
    { name: 'started here, first look after the window: ready at once', looks: [up('a')], startedHereAt: T0, firstLookAt: T0 + 2500, readyAt: T0 + 2500 },
    { name: 'not started here: the window counts from the first look', looks: [up('a')], firstLookAt: T0 + 1500, readyAt: T0 + 1500 + RUNNING_STABLE_MS },
    { name: 'started here but restarted by Docker since: the window counts from the first look', looks: [up('b', 1)], startedHereAt: T0, firstLookAt: T0 + 1500, readyAt: T0 + 1500 + RUNNING_STABLE_MS },
    {
      name: 'restarted within the window: a new window from the look that saw it',
      looks: [up('a'), up('b', 1)],
      startedHereAt: T0,
      firstLookAt: T0 + 500,
      readyAt: T0 + RUNNING_STABLE_MS + RUNNING_STABLE_MS,
    },
    { name: 'exited within the window: the look at its end fails the rollout', looks: [up('a'), { running: false, startedAt: 'a', restartCount: 0, exitCode: 3 }], startedHereAt: T0, firstLookAt: T0 + 200, fails: /not running.*exit code 3/ },
  ];
  for (const c of cases) {
    it(c.name, async () => {
      const { run, elapsed, lines } = fakeRun(c.looks, { startedHereAt: c.startedHereAt, firstLookAt: c.firstLookAt });
      const waited = waitHealthy(run, action, new AbortController().signal);
      if (c.fails) {
        await assert.rejects(waited, c.fails);
        assert.match(lines.join('\n'), /fatal: no config/, 'the log tail is in the deployment log');
        return;
      }
      await waited;
      assert.equal(elapsed(), c.readyAt);
    });
  }
});
