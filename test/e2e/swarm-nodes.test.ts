// `holdfast server node drain|pause|activate NODE --server NAME` with the built CLI against a control
// plane on the test swarm (host 1 the manager, hosts 2 and 3 its workers): a drain is refused without
// --yes when nobody can answer, moves the worker's task of a 3-replica Service to the other nodes
// and says where, shows in the Server's status and the audit log; a pause keeps the tasks;
// activating puts the nodes back. The route needs server:drain, and a bad request is a clear 4xx.
// test-hosts: first (host 1 is the Swarm manager)
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { Resource } from '../../core/resource.js';
import type { ServerStatus } from '../../core/schema/types.generated.js';
import { runCli } from '../support/cli-process.js';
import { startTestControlPlane, type TestControlPlane } from '../support/control-plane.js';
import { createFleet } from '../support/fleet.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../support/testhosts.js';
import { until } from '../support/until.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PROJECT = 'swarmnodes';
const SWARM_NAME = `hf_${PROJECT}_production_web`;

describe('Swarm node operations from the CLI', { timeout: 240_000 }, () => {
  let cp: TestControlPlane;
  let manager: TestHost;
  let workers: string[];
  let env: Record<string, string>;
  const holdfast = (args: string[], extra: Record<string, string> = {}) => runCli(args, { ...env, ...extra }, { timeoutMs: 150_000 });
  const availability = async (node: string) => hostDocker(manager, 'node', 'inspect', '--format', '{{.Spec.Availability}}', node);
  const activateAll = async () => {
    for (const node of (await hostDocker(manager, 'node', 'ls', '--format', '{{.Hostname}}')).split('\n').filter(Boolean)) {
      if ((await availability(node)) !== 'active') await hostDocker(manager, 'node', 'update', '--availability', 'active', node);
    }
  };
  /** The node of each running task of the Service. */
  const taskNodes = async () =>
    (await hostDocker(manager, 'service', 'ps', SWARM_NAME, '--filter', 'desired-state=running', '--format', '{{.Node}} {{.CurrentState}}'))
      .split('\n')
      .filter((l) => /Running/.test(l))
      .map((l) => l.split(' ')[0]!)
      .sort();
  const statusAvailability = async (node: string) => {
    const server = (await cp.call('GET', `${G}/servers/manager`)).body as Resource;
    return (server.status as ServerStatus | undefined)?.docker?.swarm?.nodeList?.find((n) => n.hostname === node)?.availability;
  };

  before(async () => {
    manager = testHost(await loadTestHosts({ count: 3 }), 1);
    assert.ok(manager.swarmManager, 'test host 1 is a Swarm manager');
    await hostDocker(manager, 'service', 'rm', SWARM_NAME).catch(() => undefined);
    await activateAll();
    workers = (await hostDocker(manager, 'node', 'ls', '--filter', 'role=worker', '--format', '{{.Hostname}}')).split('\n').filter(Boolean).sort();
    assert.equal(workers.length, 2, `two workers: ${workers.join(', ')}`);
    cp = await startTestControlPlane('pglite');
    env = { HOLDFAST_URL: cp.url, HOLDFAST_TOKEN: cp.token };
    await createFleet(cp, manager, { project: PROJECT, server: 'manager', kind: 'docker-swarm-manager' });
    const created = await cp.call('POST', `${G}/namespaces/${PROJECT}/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'web', namespace: PROJECT },
      spec: { environment: 'production', server: 'manager', source: { image: 'holdfast-test/busybox:1' }, command: ['httpd', '-f', '-p', '8080', '-h', '/www'], replicas: 3 },
    });
    assert.equal(created.status, 201, JSON.stringify(created.body));
    const deployed = await until('the first deployment to end', async () => {
      const d = ((await cp.call('GET', `${G}/namespaces/${PROJECT}/services/web/deployments`)).body.items as Array<{ phase: string; reason?: string; message?: string }>)[0];
      return d && ['completed', 'failed', 'canceled'].includes(d.phase) ? d : undefined;
    }, 90_000);
    assert.equal(deployed.phase, 'completed', `${deployed.reason}: ${deployed.message}`);
  });

  after(async () => {
    await cp?.stop();
    if (!manager) return;
    await hostDocker(manager, 'service', 'rm', SWARM_NAME).catch(() => undefined);
    await activateAll().catch(() => undefined);
  });

  it('refuses to drain without --yes when nobody can answer, and leaves the node as it was', async () => {
    const run = await holdfast(['server', 'node', 'drain', workers[0]!, '--server', 'manager']);
    assert.equal(run.code, 1, run.stdout);
    assert.match(run.stderr, /refusing to drain node .* without confirmation: stdin is not a terminal; pass --yes/);
    assert.equal(await availability(workers[0]!), 'active');
  });

  it('drains a worker: its task moves to another node, the command says where, status and audit show it', async () => {
    const spread = await until('3 running tasks, one of them on a worker', async () => {
      const nodes = await taskNodes();
      return nodes.length === 3 && nodes.some((n) => workers.includes(n)) ? nodes : undefined;
    }, 60_000);
    const drained = workers.find((w) => spread.includes(w))!;
    const run = await holdfast(['server', 'node', 'drain', drained, '--server', 'manager', '--yes', '--timeout', '90s']);
    assert.equal(run.code, 0, `${run.stdout}\n${run.stderr}`);
    assert.match(run.stdout, new RegExp(`node ${drained} \\(worker\\): availability active -> drain`));
    const moves = [...run.stdout.matchAll(new RegExp(`${SWARM_NAME}\\.(\\d+) moved to (\\S+)`, 'g'))];
    assert.equal(moves.length, spread.filter((n) => n === drained).length, run.stdout);
    for (const m of moves) assert.notEqual(m[2], drained);
    assert.match(run.stdout, /drained: \d task\(s\) moved/);
    // What the command reported is what the swarm runs: three tasks, none on the drained node.
    const after = await taskNodes();
    assert.equal(after.length, 3, after.join(', '));
    assert.ok(!after.includes(drained), `no task on ${drained}: ${after.join(', ')}`);
    for (const m of moves) assert.ok(after.includes(m[2]!), `a task runs on ${m[2]}`);
    assert.equal(await availability(drained), 'drain');
    assert.equal(await until('the Server status to show the drain', async () => ((await statusAvailability(drained)) === 'drain' ? 'drain' : undefined), 30_000), 'drain');
    const audit = (await cp.call('GET', `${G}/auditlog?kind=Server&name=manager&verb=drain`)).body.items as Array<{ outcome: string; message: string }>;
    assert.equal(audit.length, 1);
    assert.equal(audit[0]!.outcome, 'Success');
    assert.match(audit[0]!.message, new RegExp(`node ${drained}: availability active → drain; \\d task\\(s\\) moved: ${SWARM_NAME}\\.\\d+ → `));

    const back = await holdfast(['server', 'node', 'activate', drained, '--server', 'manager']);
    assert.equal(back.code, 0, back.stderr);
    assert.match(back.stdout, /availability drain -> active/);
    assert.match(back.stdout, /does not move running tasks back/);
    assert.equal(await availability(drained), 'active');
    assert.equal(await until('the Server status to show the node active', async () => ((await statusAvailability(drained)) === 'active' ? 'active' : undefined), 30_000), 'active');
  });

  it('pauses a node: its tasks keep running there, no new ones come', async () => {
    const node = workers[1]!;
    const before = await taskNodes();
    const run = await holdfast(['server', 'node', 'pause', node, '--server', 'manager']);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`node ${node} \\(worker\\): availability active -> pause`));
    assert.match(run.stdout, /paused: no new tasks are placed there/);
    assert.equal((run.stdout.match(/keeps running there/g) ?? []).length, before.filter((n) => n === node).length, run.stdout);
    assert.equal(await availability(node), 'pause');
    assert.deepEqual(await taskNodes(), before);
    const back = await holdfast(['server', 'node', 'activate', node, '--server', 'manager']);
    assert.equal(back.code, 0, back.stderr);
    assert.equal(await availability(node), 'active');
  });

  it('needs server:drain; an unknown node or availability is a clear 4xx', async () => {
    const path = (node: string) => `${G}/servers/manager/nodes/${node}/availability`;
    const made = await cp.call('POST', `${G}/tokens`, { name: 'reader', scopes: ['server:read', 'server:cleanup'] });
    assert.equal(made.status, 201, JSON.stringify(made.body));
    const refused = await holdfast(['server', 'node', 'pause', workers[0]!, '--server', 'manager'], { HOLDFAST_TOKEN: made.body.token as string });
    assert.equal(refused.code, 1);
    assert.match(refused.stderr, /Forbidden.*server:drain/);
    assert.equal(await availability(workers[0]!), 'active');

    const unknown = await cp.call('POST', path('hf-nowhere'), { availability: 'drain' });
    assert.equal(unknown.status, 404);
    assert.match(unknown.body.message, new RegExp(`the swarm has no node "hf-nowhere"; its nodes are .*${workers[0]}`));
    const bad = await cp.call('POST', path(workers[0]!), { availability: 'off' });
    assert.equal(bad.status, 400);
    assert.match(bad.body.message, /availability must be one of active, pause, drain, got "off"/);
    const noServer = await holdfast(['server', 'node', 'drain', workers[0]!, '--yes']);
    assert.equal(noServer.code, 1);
    assert.match(noServer.stderr, /--server-name|--server NAME/);
  });
});
