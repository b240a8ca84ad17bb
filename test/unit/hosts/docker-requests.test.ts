// Engine API requests as values: what each client method would send, checked without a host.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { dockerRequests as rq, describeRequest, encodeRegistryAuth, requestTarget, type DockerRequest } from '../../../hosts/docker-requests.js';

type Case = [string, DockerRequest, Partial<DockerRequest>, string];

const cases: Case[] = [
  ['ping lives outside the versioned tree', rq.ping(), { method: 'GET', path: '/_ping', unversioned: true }, '/_ping'],
  ['version', rq.version(), { method: 'GET', path: '/version' }, '/v1.41/version'],
  ['all containers', rq.containerList({ all: true }), { method: 'GET', path: '/containers/json' }, '/v1.41/containers/json?all=1'],
  [
    'containers by label',
    rq.containerList({ all: true, filters: { label: ['holdfast.dev/managed-by=holdfast'] } }),
    { method: 'GET', path: '/containers/json' },
    '/v1.41/containers/json?all=1&filters=%7B%22label%22%3A%5B%22holdfast.dev%2Fmanaged-by%3Dholdfast%22%5D%7D',
  ],
  ['empty filters are left out', rq.containerList({ filters: {} }), { path: '/containers/json' }, '/v1.41/containers/json'],
  ['inspect', rq.containerInspect('hf_shop_web_1'), { method: 'GET', path: '/containers/hf_shop_web_1/json' }, '/v1.41/containers/hf_shop_web_1/json'],
  ['ids are path-escaped', rq.containerInspect('a/../b'), { path: '/containers/a%2F..%2Fb/json' }, '/v1.41/containers/a%2F..%2Fb/json'],
  [
    'create carries the name in the query and the config as body',
    rq.containerCreate('web-1', { Image: 'busybox' }),
    { method: 'POST', path: '/containers/create', body: { Image: 'busybox' } },
    '/v1.41/containers/create?name=web-1',
  ],
  ['start accepts 304', rq.containerStart('c1'), { method: 'POST', path: '/containers/c1/start', okStatuses: [304] }, '/v1.41/containers/c1/start'],
  [
    'stop with grace period',
    rq.containerStop('c1', { timeoutSeconds: 5 }),
    { method: 'POST', path: '/containers/c1/stop', okStatuses: [304] },
    '/v1.41/containers/c1/stop?t=5',
  ],
  [
    'exec create: a TTY of a given size, stdin attached',
    rq.execCreate('c1', { cmd: ['sh'], tty: true, stdin: true, size: { rows: 30, cols: 90 } }),
    { method: 'POST', path: '/containers/c1/exec', body: { Cmd: ['sh'], Tty: true, AttachStdin: true, AttachStdout: true, AttachStderr: true, ConsoleSize: [30, 90] } },
    '/v1.41/containers/c1/exec',
  ],
  [
    'exec create without a TTY has no console size',
    rq.execCreate('c1', { cmd: ['cat'], tty: false, stdin: true, size: { rows: 30, cols: 90 } }),
    { body: { Cmd: ['cat'], Tty: false, AttachStdin: true, AttachStdout: true, AttachStderr: true } },
    '/v1.41/containers/c1/exec',
  ],
  [
    'exec start asks for the connection upgrade',
    rq.execStart('e1', true),
    { method: 'POST', path: '/exec/e1/start', body: { Detach: false, Tty: true }, headers: { Connection: 'Upgrade', Upgrade: 'tcp' } },
    '/v1.41/exec/e1/start',
  ],
  ['exec resize: h and w', rq.execResize('e1', { rows: 50, cols: 120 }), { method: 'POST', path: '/exec/e1/resize' }, '/v1.41/exec/e1/resize?h=50&w=120'],
  ['exec inspect', rq.execInspect('e1'), { method: 'GET', path: '/exec/e1/json' }, '/v1.41/exec/e1/json'],
  ['disk usage', rq.systemDf(), { method: 'GET', path: '/system/df' }, '/v1.41/system/df'],
  ['kill with a signal', rq.containerKill('c1', 'SIGHUP'), { method: 'POST', path: '/containers/c1/kill' }, '/v1.41/containers/c1/kill?signal=SIGHUP'],
  [
    'force remove with volumes',
    rq.containerRemove('c1', { force: true, volumes: true }),
    { method: 'DELETE', path: '/containers/c1' },
    '/v1.41/containers/c1?force=1&v=1',
  ],
  [
    'logs default to both streams',
    rq.containerLogs('c1', { tail: 100, timestamps: true }),
    { method: 'GET', path: '/containers/c1/logs' },
    '/v1.41/containers/c1/logs?stdout=1&stderr=1&timestamps=1&tail=100',
  ],
  [
    'image names keep slashes, colons and digests',
    rq.imageInspect('registry.example:5000/team/web@sha256:abc'),
    { method: 'GET', path: '/images/registry.example:5000/team/web@sha256:abc/json' },
    '/v1.41/images/registry.example:5000/team/web@sha256:abc/json',
  ],
  [
    'pull by reference',
    rq.imagePull('registry.example/web:1.4.2'),
    { method: 'POST', path: '/images/create', headers: undefined },
    '/v1.41/images/create?fromImage=registry.example%2Fweb%3A1.4.2',
  ],
  [
    'tag',
    rq.imageTag('holdfast-test/busybox:1', 'holdfast-test/busybox', 'latest'),
    { method: 'POST', path: '/images/holdfast-test/busybox:1/tag' },
    '/v1.41/images/holdfast-test/busybox:1/tag?repo=holdfast-test%2Fbusybox&tag=latest',
  ],
  [
    'build repeats t per tag and sends a tar',
    rq.build({ tags: ['app:1', 'app:latest'], dockerfile: 'deploy/Dockerfile', buildArgs: { A: '1' }, labels: { l: 'v' } }),
    { method: 'POST', path: '/build', bodyContentType: 'application/x-tar' },
    '/v1.41/build?t=app%3A1&t=app%3Alatest&dockerfile=deploy%2FDockerfile&buildargs=%7B%22A%22%3A%221%22%7D&labels=%7B%22l%22%3A%22v%22%7D&rm=1&forcerm=1',
  ],
  [
    'network create checks duplicates',
    rq.networkCreate({ Name: 'shop', Labels: { a: 'b' } }),
    { method: 'POST', path: '/networks/create', body: { CheckDuplicate: true, Name: 'shop', Labels: { a: 'b' } } },
    '/v1.41/networks/create',
  ],
  [
    'network connect',
    rq.networkConnect('shop', 'c1', { Aliases: ['web'] }),
    { method: 'POST', path: '/networks/shop/connect', body: { Container: 'c1', EndpointConfig: { Aliases: ['web'] } } },
    '/v1.41/networks/shop/connect',
  ],
  ['volume remove', rq.volumeRemove('data', { force: true }), { method: 'DELETE', path: '/volumes/data' }, '/v1.41/volumes/data?force=1'],
  ['services', rq.serviceList({ label: ['a=b'] }), { method: 'GET', path: '/services' }, '/v1.41/services?filters=%7B%22label%22%3A%5B%22a%3Db%22%5D%7D'],
  ['tasks of a service', rq.taskList({ service: ['s1'] }), { method: 'GET', path: '/tasks' }, '/v1.41/tasks?filters=%7B%22service%22%3A%5B%22s1%22%5D%7D'],
  ['node inspect', rq.nodeInspect('n1'), { method: 'GET', path: '/nodes/n1' }, '/v1.41/nodes/n1'],
  [
    'service rollback',
    rq.serviceRollback('s1', 9, { Name: 'web' }),
    { method: 'POST', path: '/services/s1/update', body: { Name: 'web' } },
    '/v1.41/services/s1/update?version=9&rollback=previous',
  ],
  [
    'node update',
    rq.nodeUpdate('n1', 42, { Role: 'worker', Availability: 'drain' }),
    { method: 'POST', path: '/nodes/n1/update', body: { Role: 'worker', Availability: 'drain' } },
    '/v1.41/nodes/n1/update?version=42',
  ],
  [
    'events since a nanosecond timestamp',
    rq.events({ since: '1700000000.123456789', filters: { type: ['container'] } }),
    { method: 'GET', path: '/events' },
    '/v1.41/events?since=1700000000.123456789&filters=%7B%22type%22%3A%5B%22container%22%5D%7D',
  ],
];

describe('docker request values', () => {
  for (const [name, request, expected, target] of cases) {
    it(name, () => {
      for (const [field, value] of Object.entries(expected)) {
        assert.deepEqual(request[field as keyof DockerRequest], value, field);
      }
      assert.equal(requestTarget(request, '1.41'), target);
    });
  }

  it('carries registry credentials in a header, never in the target', () => {
    const request = rq.imagePull('private.example/app:1', { auth: { username: 'u', password: 'p@ss' } });
    assert.equal(request.headers?.['X-Registry-Auth'], encodeRegistryAuth({ username: 'u', password: 'p@ss' }));
    assert.deepEqual(JSON.parse(Buffer.from(request.headers!['X-Registry-Auth']!, 'base64url').toString()), { username: 'u', password: 'p@ss' });
    assert.doesNotMatch(requestTarget(request, '1.41'), /p%40ss|p@ss/);
  });

  it('describes a request without its query', () => {
    assert.equal(describeRequest(rq.containerList({ filters: { label: ['secret=x'] } })), 'GET /containers/json');
  });

  it('leaves the version prefix out until one is known', () => {
    assert.equal(requestTarget(rq.info(), undefined), '/info');
  });
});
