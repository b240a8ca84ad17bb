// The drift controller's feed: live-state cache changes → the keys of the Services they concern,
// without the noise of a healthcheck's growing log; one subscription per server's cache.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HostFeed, serviceKeyOf } from '../../../controllers/drift/host-feed.js';
import type { DockerContainerInspect } from '../../../core/deploy/docker-types.js';
import type { HostConnection, LiveChange, LiveSnapshot, SwarmNode, SwarmTask } from '../../../hosts/index.js';
import { inspectFixture } from '../drift/fixtures.js';

/** A cache's change feed, as LiveStateCache offers it. */
class Feed {
  listeners = new Set<(c: LiveChange) => void>();
  /** The Swarm tasks the cache holds. */
  tasks = new Map<string, SwarmTask>();
  snapshot() {
    return { tasks: this.tasks } as unknown as LiveSnapshot;
  }
  subscribe(listener: (c: LiveChange) => void) {
    this.listeners.add(listener);
    return () => this.listeners.delete(listener);
  }
  emit(change: LiveChange) {
    for (const l of this.listeners) l(change);
  }
}

const connection = (name: string, cache: Feed) => ({ name, liveState: cache }) as unknown as HostConnection;
const web = inspectFixture('web-running');
const change = (type: 'added' | 'updated' | 'removed', object: DockerContainerInspect, previous?: DockerContainerInspect): LiveChange => ({ type, kind: 'container', id: object.Id, object, previous });

describe('HostFeed', () => {
  it('maps a container to its Service by its labels', () => {
    assert.equal(serviceKeyOf(web), 'driftfx/web');
    assert.equal(serviceKeyOf({ Config: { Labels: { tier: 'x' } } }), undefined);
  });

  it('enqueues the Service of every relevant change, once per change', () => {
    const keys: string[] = [];
    const cache = new Feed();
    const feed = new HostFeed((k) => keys.push(k));
    feed.follow(connection('edge', cache));
    feed.follow(connection('edge', cache));
    assert.equal(cache.listeners.size, 1, 'following the same cache again adds nothing');

    cache.emit(change('added', web));
    const stopped = inspectFixture('web-stopped');
    cache.emit(change('updated', stopped, web));
    cache.emit(change('removed', stopped));
    assert.deepEqual(keys, ['driftfx/web', 'driftfx/web', 'driftfx/web']);
  });

  it('passes over a change of the healthcheck log only', () => {
    const keys: string[] = [];
    const cache = new Feed();
    new HostFeed((k) => keys.push(k)).follow(connection('edge', cache));
    const later = structuredClone(web);
    later.State!.Health = { ...later.State!.Health!, Log: [] } as never;
    cache.emit(change('updated', later, web));
    assert.deepEqual(keys, []);
    const unhealthy = structuredClone(web);
    unhealthy.State!.Health = { ...unhealthy.State!.Health!, Status: 'unhealthy' } as never;
    cache.emit(change('updated', unhealthy, web));
    assert.deepEqual(keys, ['driftfx/web']);
  });

  it('wakes every Service a partly-labelled container claims by name, within its project when it names one', async () => {
    const keys: string[] = [];
    const cache = new Feed();
    const asked: string[] = [];
    const feed = new HostFeed((k) => keys.push(k), async (name) => {
      asked.push(name);
      return [`shop/${name}`, `blog/${name}`];
    });
    feed.follow(connection('edge', cache));
    const intruder = (labels: Record<string, string>) => ({ Id: 'i1', Name: '/intruder', Config: { Labels: labels } }) as unknown as DockerContainerInspect;
    cache.emit(change('added', intruder({ 'holdfast.dev/managed-by': 'holdfast', 'holdfast.dev/service': 'web' })));
    await new Promise((ok) => setImmediate(ok));
    assert.deepEqual(keys.sort(), ['blog/web', 'shop/web']);
    keys.length = 0;
    cache.emit(change('removed', intruder({ 'holdfast.dev/managed-by': 'holdfast', 'holdfast.dev/service': 'web', 'holdfast.dev/project': 'shop' })));
    await new Promise((ok) => setImmediate(ok));
    assert.deepEqual(keys, ['shop/web']);
    cache.emit(change('added', intruder({ 'holdfast.dev/service': 'web' })));
    cache.emit(change('added', web));
    await new Promise((ok) => setImmediate(ok));
    assert.deepEqual(asked, ['web', 'web'], 'no lookup for a container without our label, nor for a whole replica');
  });

  it('enqueues the Service of a Swarm service or task by its labels (tasks on other nodes make no container event)', () => {
    const keys: string[] = [];
    const cache = new Feed();
    new HostFeed((k) => keys.push(k)).follow(connection('manager', cache));
    const labels = { 'holdfast.dev/managed-by': 'holdfast', 'holdfast.dev/project': 'shop', 'holdfast.dev/environment': 'production', 'holdfast.dev/service': 'web' };
    const service = { ID: 's1', Spec: { Name: 'hf_shop_production_web', Labels: labels } };
    const task = (state: string) => ({ ID: 't1', ServiceID: 's1', Status: { State: state }, Spec: { ContainerSpec: { Labels: labels } } });
    cache.emit({ type: 'updated', kind: 'service', id: 's1', object: service, previous: service });
    cache.emit({ type: 'updated', kind: 'task', id: 't1', object: task('failed'), previous: task('running') });
    cache.emit({ type: 'added', kind: 'task', id: 't2', object: { ID: 't2', Spec: { ContainerSpec: { Labels: { other: 'x' } } } } });
    cache.emit({ type: 'added', kind: 'node', id: 'n1', object: { ID: 'n1' } });
    assert.deepEqual(keys, ['shop/web', 'shop/web']);
  });

  it('enqueues the Services of the tasks on a node whose labels, role or name changed (placement drift), and only those', () => {
    const keys: string[] = [];
    const cache = new Feed();
    new HostFeed((k) => keys.push(k)).follow(connection('manager', cache));
    const labels = (service: string) => ({ 'holdfast.dev/managed-by': 'holdfast', 'holdfast.dev/project': 'shop', 'holdfast.dev/environment': 'production', 'holdfast.dev/service': service });
    const task = (id: string, node: string, service: string): SwarmTask => ({ ID: id, NodeID: node, Spec: { ContainerSpec: { Labels: labels(service) } } });
    for (const t of [task('t1', 'n1', 'web'), task('t2', 'n1', 'web'), task('t3', 'n1', 'api'), task('t4', 'n2', 'db')]) cache.tasks.set(t.ID, t);
    const node = (patch: Partial<SwarmNode> = {}): SwarmNode => ({ ID: 'n1', Spec: { Role: 'worker', Availability: 'active', Labels: {} }, Description: { Hostname: 'w1' }, Status: { State: 'ready' }, ...patch });
    const cases: Array<[string, SwarmNode, string[]]> = [
      ['a label added', node({ Spec: { Role: 'worker', Availability: 'active', Labels: { zone: 'b' } } }), ['shop/api', 'shop/web']],
      ['promoted to manager', node({ Spec: { Role: 'manager', Availability: 'active', Labels: {} } }), ['shop/api', 'shop/web']],
      ['renamed', node({ Description: { Hostname: 'w1-new' } }), ['shop/api', 'shop/web']],
      ['its status only (a heartbeat)', node({ Status: { State: 'ready', Addr: '10.0.0.9' } }), []],
      ['drained (Swarm moves the tasks itself)', node({ Spec: { Role: 'worker', Availability: 'drain', Labels: {} } }), []],
    ];
    for (const [what, now, expected] of cases) {
      keys.length = 0;
      cache.emit({ type: 'updated', kind: 'node', id: 'n1', object: now, previous: node() });
      assert.deepEqual(keys.sort(), expected, what);
    }
    keys.length = 0;
    cache.emit({ type: 'added', kind: 'node', id: 'n2', object: { ID: 'n2' } });
    assert.deepEqual(keys, ['shop/db'], 'a node joining with tasks already on it');
  });

  it('moves to a server’s new cache and lets go of the old one', () => {
    const first = new Feed();
    const second = new Feed();
    const feed = new HostFeed(() => undefined);
    feed.follow(connection('edge', first));
    feed.follow(connection('edge', second));
    assert.deepEqual([first.listeners.size, second.listeners.size], [0, 1]);
    feed.close();
    assert.equal(second.listeners.size, 0);
  });
});
