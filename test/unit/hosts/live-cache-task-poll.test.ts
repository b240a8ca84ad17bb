// A Swarm manager's live-state cache against a scripted Engine: tasks on other nodes make no event on
// the manager, so with other nodes in the swarm the cache lists the tasks every few seconds; a
// one-node swarm is left to its events and resyncs.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DockerEvent, SwarmTask } from '../../../hosts/docker-api-types.js';
import type { DockerClient } from '../../../hosts/docker-client.js';
import { LiveStateCache } from '../../../hosts/live-cache.js';
import { until } from '../../support/until.js';

function scriptedManager(nodes: number) {
  const state = { tasks: [] as SwarmTask[], taskLists: 0 };
  const docker = {
    server: 'manager',
    info: async () => ({ SystemTime: new Date().toISOString(), Swarm: { ControlAvailable: true } }),
    listContainers: async () => [],
    listServices: async () => [],
    listNodes: async () => Array.from({ length: nodes }, (_, i) => ({ ID: `n${i + 1}`, Version: { Index: 1 } })),
    listTasks: async () => {
      state.taskLists++;
      return structuredClone(state.tasks);
    },
    streamEvents: (_query: unknown, _onEvent: (event: DockerEvent) => void, options: { signal: AbortSignal; onOpen?: () => void }) => {
      options.onOpen?.();
      return new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
    },
  } as unknown as DockerClient;
  return { docker, state };
}

const task = (state: string, index: number): SwarmTask => ({ ID: 't1', Version: { Index: index }, ServiceID: 's1', NodeID: 'n2', DesiredState: 'running', Status: { State: state } });

describe('live-state cache of a Swarm manager with other nodes', () => {
  it('follows a task on another node without any event, and drops it when it is gone', async () => {
    const engine = scriptedManager(2);
    engine.state.tasks = [task('running', 5)];
    const cache = new LiveStateCache(engine.docker, { swarm: true, taskPollMs: 20, resyncIntervalMs: 3_600_000 });
    cache.start();
    try {
      await cache.waitForSync(AbortSignal.timeout(2000));
      assert.equal(cache.snapshot().tasks.get('t1')?.Status?.State, 'running');
      engine.state.tasks = [task('failed', 6)];
      await until('the failed task', async () => (cache.snapshot().tasks.get('t1')?.Status?.State === 'failed' ? true : undefined), 5000, 5);
      engine.state.tasks = [];
      await until('the task to go', async () => (cache.snapshot().tasks.has('t1') ? undefined : true), 5000, 5);
    } finally {
      await cache.stop();
    }
  });

  it('lists no tasks between resyncs on a one-node swarm', async () => {
    const engine = scriptedManager(1);
    engine.state.tasks = [task('running', 5)];
    const cache = new LiveStateCache(engine.docker, { swarm: true, taskPollMs: 20, resyncIntervalMs: 3_600_000 });
    cache.start();
    try {
      await cache.waitForSync(AbortSignal.timeout(2000));
      const lists = engine.state.taskLists;
      await new Promise((ok) => setTimeout(ok, 200));
      assert.equal(engine.state.taskLists, lists, 'no task lists while nothing happens');
    } finally {
      await cache.stop();
    }
  });
});
