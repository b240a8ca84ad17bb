// The live-state cache's event-driven re-reads against a scripted Engine: a re-read that fails (a
// timeout on a busy host) is tried again instead of leaving the object stale until the next resync,
// a container that is gone (404) is dropped at once, and a network (dis)connect re-reads the container.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { DockerContainerInspect, DockerEvent } from '../../../hosts/docker-api-types.js';
import type { DockerClient } from '../../../hosts/docker-client.js';
import { DockerApiError, OperationTimeout } from '../../../hosts/errors.js';
import { LiveStateCache } from '../../../hosts/live-cache.js';

interface Script {
  /** What inspect answers for each call, in order; the last answer repeats. */
  inspect: Array<'timeout' | 'gone' | DockerContainerInspect>;
}

function scriptedEngine(script: Script) {
  let emit!: (event: DockerEvent) => void;
  let inspectCalls = 0;
  const docker = {
    server: 'scripted',
    info: async () => ({ SystemTime: new Date().toISOString(), Swarm: { ControlAvailable: false } }),
    listContainers: async () => [],
    inspectContainer: async (id: string) => {
      const answer = script.inspect[Math.min(inspectCalls++, script.inspect.length - 1)];
      if (answer === 'timeout') throw new OperationTimeout('scripted', `GET /containers/${id}/json`, 30_000);
      if (answer === 'gone') throw new DockerApiError('scripted', 404, `GET /containers/${id}/json`, `No such container: ${id}`);
      return answer;
    },
    streamEvents: (_query: unknown, onEvent: (event: DockerEvent) => void, options: { signal: AbortSignal; onOpen?: () => void }) => {
      emit = onEvent;
      options.onOpen?.();
      return new Promise<void>((resolve) => options.signal.addEventListener('abort', () => resolve(), { once: true }));
    },
  } as unknown as DockerClient;
  return { docker, emit: (event: DockerEvent) => emit(event), inspectCalls: () => inspectCalls };
}

const container = (id: string, status: string): DockerContainerInspect =>
  ({ Id: id, Name: `/${id}`, Config: { Labels: {} }, State: { Status: status, Running: status === 'running' } }) as unknown as DockerContainerInspect;
const startEvent = (id: string): DockerEvent => ({ Type: 'container', Action: 'start', Actor: { ID: id, Attributes: {} } }) as DockerEvent;

async function waitUntil(what: string, probe: () => boolean, ms = 5000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!probe()) {
    if (Date.now() > deadline) throw new Error(`timed out waiting for ${what}`);
    await new Promise((ok) => setTimeout(ok, 10));
  }
}

describe('live-state cache re-reads on events', () => {
  it('tries a failed re-read again and then holds the object', async () => {
    const engine = scriptedEngine({ inspect: ['timeout', container('c1', 'running')] });
    const errors: string[] = [];
    const cache = new LiveStateCache(engine.docker, { onError: (err) => errors.push(err.message) });
    cache.start();
    try {
      await cache.waitForSync(AbortSignal.timeout(2000));
      engine.emit(startEvent('c1'));
      await waitUntil('the container in the snapshot', () => cache.snapshot().containers.has('c1'));
      assert.equal(engine.inspectCalls(), 2, 'one failed read, one retry');
      assert.equal(errors.length, 1, 'the failure was reported');
      assert.match(errors[0], /did not finish within/);
    } finally {
      await cache.stop();
    }
  });

  it('drops a container that is gone without retrying, and leaves no retry behind when stopped', async () => {
    const engine = scriptedEngine({ inspect: [container('c2', 'running'), 'gone'] });
    const cache = new LiveStateCache(engine.docker);
    cache.start();
    await cache.waitForSync(AbortSignal.timeout(2000));
    engine.emit(startEvent('c2'));
    await waitUntil('the container in the snapshot', () => cache.snapshot().containers.has('c2'));
    engine.emit({ ...startEvent('c2'), Action: 'destroy' });
    await waitUntil('the container to go', () => !cache.snapshot().containers.has('c2'));
    assert.equal(engine.inspectCalls(), 2);

    const failing = scriptedEngine({ inspect: ['timeout'] });
    const stopped = new LiveStateCache(failing.docker);
    stopped.start();
    await stopped.waitForSync(AbortSignal.timeout(2000));
    failing.emit(startEvent('c3'));
    await waitUntil('the first read', () => failing.inspectCalls() === 1);
    await stopped.stop();
    await new Promise((ok) => setTimeout(ok, 1300));
    assert.equal(failing.inspectCalls(), 1, 'no retry after stop');
    await cache.stop();
  });

  it('re-reads a known container when a network is connected to or disconnected from it', async () => {
    const networks = (names: string[]) => ({ ...container('c4', 'running'), NetworkSettings: { Networks: Object.fromEntries(names.map((n) => [n, {}])) } }) as unknown as DockerContainerInspect;
    const engine = scriptedEngine({ inspect: [networks(['bridge']), networks([])] });
    const cache = new LiveStateCache(engine.docker);
    cache.start();
    try {
      await cache.waitForSync(AbortSignal.timeout(2000));
      engine.emit(startEvent('c4'));
      await waitUntil('the container in the snapshot', () => cache.snapshot().containers.has('c4'));
      const networkEvent = (action: string, containerId: string) => ({ Type: 'network', Action: action, Actor: { ID: 'n1', Attributes: { container: containerId, name: 'bridge', type: 'bridge' } }, time: 0, timeNano: 0 }) as DockerEvent;
      engine.emit(networkEvent('disconnect', 'elsewhere'));
      engine.emit(networkEvent('destroy', 'c4'));
      engine.emit(networkEvent('disconnect', 'c4'));
      await waitUntil('the disconnect in the snapshot', () => Object.keys(cache.snapshot().containers.get('c4')?.NetworkSettings?.Networks ?? { bridge: 1 }).length === 0);
      assert.equal(engine.inspectCalls(), 2, 'one read for the start, one for the disconnect; none for other containers or actions');
    } finally {
      await cache.stop();
    }
  });
});
