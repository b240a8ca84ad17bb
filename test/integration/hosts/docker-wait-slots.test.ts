// Engine API calls that wait on the daemon (a stop's grace period, a container wait) against a real
// test host: they do not take the host's operation slots, so short calls are not queued behind them.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { DockerClient } from '../../../hosts/docker-client.js';
import type { SshSession } from '../../../hosts/ssh-session.js';
import { loadTestHosts, testHost, type TestHost, type TestHosts } from '../../support/testhosts.js';
import { dockerOver, sessionFor, uniqueName } from './fixtures.js';

let hosts: TestHosts;
let host: TestHost;
let session: SshSession;
let docker: DockerClient;
const containers: string[] = [];

before(async () => {
  hosts = await loadTestHosts({ count: 2 });
  host = testHost(hosts, 2);
  // Two operation slots: four stops holding them would queue everything else for two grace periods.
  session = sessionFor(host, { maxConcurrentOperations: 2 });
  docker = dockerOver(session);
});

after(async () => {
  for (const id of containers) await docker.removeContainer(id, { force: true }).catch(() => undefined);
  await docker.close();
  await session.close();
});

describe('calls that wait on the daemon', () => {
  it('stops waiting out their grace period leave the operation slots to other calls', async () => {
    const label = uniqueName('hf-waits');
    for (let i = 0; i < 4; i++) {
      // sleep as PID 1 ignores SIGTERM: each stop waits its whole grace period, then kills.
      const { Id } = await docker.createContainer(`${label}-${i}`, { Image: hosts.images.v1, Cmd: ['sleep', '600'] });
      containers.push(Id);
      await docker.startContainer(Id);
    }
    let stopped = 0;
    const stops = containers.map((id) => docker.stopContainer(id, { timeoutSeconds: 10 }).then(() => stopped++));
    const inspected = await docker.inspectContainer(containers[0]);
    const stoppedBeforeInspect = stopped;
    const listed = await docker.listContainers({ all: true, filters: { name: [label] } });
    const stoppedBeforeList = stopped;
    await Promise.all(stops);

    assert.equal(stoppedBeforeInspect, 0, 'the inspect answered while every stop still waited');
    assert.equal(stoppedBeforeList, 0, 'the list answered while every stop still waited');
    assert.equal(inspected.Id, containers[0]);
    assert.equal(listed.length, 4);
    for (const id of containers) {
      const state = (await docker.inspectContainer(id)).State;
      assert.equal(state?.Running, false);
      assert.equal(state?.ExitCode, 137, 'killed at the end of its grace period');
    }
  });
});
