import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kindInfo, type Condition, type Resource } from '../../../core/resource.js';
import { columnsFor, secretKeys, serviceReady, serviceSource, serviceStatus } from '../../../cli/columns.js';

const cond = (type: string, status: 'True' | 'False' | 'Unknown'): Condition => ({ type, status, reason: 'R', message: '', lastTransitionTime: '2024-01-01T00:00:00Z' });
const svc = (over: Partial<Resource> = {}): Resource => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', creationTimestamp: '2024-01-01T00:00:00Z', generation: 2 },
  spec: { environment: 'production', server: 'edge-1', source: { image: 'web:1' }, replicas: 2 },
  ...over,
});

describe('service STATUS from conditions, most urgent first', () => {
  const table: Array<[string, Resource, string]> = [
    ['no status yet', svc(), 'Pending'],
    ['ready', svc({ status: { conditions: [cond('Ready', 'True')] } }), 'Ready'],
    ['ready but drifted', svc({ status: { conditions: [cond('Ready', 'True'), cond('Drifted', 'True')] } }), 'Drifted'],
    ['rolling out', svc({ status: { conditions: [cond('Ready', 'True'), cond('Progressing', 'True')] } }), 'Progressing'],
    ['degraded wins, with its reason', svc({ status: { conditions: [cond('Progressing', 'True'), cond('Degraded', 'True')] } }), 'Degraded (R)'],
    ['degraded without a reason', svc({ status: { conditions: [{ type: 'Degraded', status: 'True', reason: '', message: '', lastTransitionTime: '2024-01-01T00:00:00Z' }] } }), 'Degraded'],
    ['not ready', svc({ status: { conditions: [cond('Ready', 'False')] } }), 'NotReady'],
    ['only unknowns', svc({ status: { conditions: [cond('Ready', 'Unknown')] } }), 'Unknown'],
    ['being deleted', svc({ metadata: { name: 'web', deletionTimestamp: '2024-01-01T00:00:00Z' }, status: { conditions: [cond('Ready', 'True')] } }), 'Terminating'],
  ];
  for (const [name, obj, expected] of table) test(name, () => assert.equal(serviceStatus(obj), expected));
});

describe('service READY', () => {
  const table: Array<[string, Resource, string]> = [
    ['no status', svc(), '-'],
    ['readyReplicas of status.replicas', svc({ status: { replicas: 3, readyReplicas: 2 } }), '2/3'],
    ['readyReplicas of spec.replicas', svc({ status: { readyReplicas: 1 } }), '1/2'],
    ['object form', svc({ status: { replicas: { ready: 1, desired: 4 } } }), '1/4'],
  ];
  for (const [name, obj, expected] of table) test(name, () => assert.equal(serviceReady(obj), expected));
});

describe('service IMAGE/SOURCE', () => {
  const table: Array<[Record<string, unknown>, string]> = [
    [{ image: 'registry.example/web:1.4.2' }, 'registry.example/web:1.4.2'],
    [{ compose: { file: 'compose.yaml' } }, 'compose:compose.yaml'],
    [{ compose: { inline: { services: {} } } }, 'compose:inline'],
    [{ build: { git: { url: 'https://git.example/web.git', ref: 'main' } } }, 'git:https://git.example/web.git@main'],
    [{}, '<none>'],
  ];
  for (const [source, expected] of table) test(expected, () => assert.equal(serviceSource(svc({ spec: { source } })), expected));
});

test('column headers per kind, wide adds columns', () => {
  const headers = (kind: string, wide = false) => columnsFor(kindInfo(kind)!, wide).map((c) => c.header);
  assert.deepEqual(headers('Service'), ['NAME', 'ENVIRONMENT', 'SERVER', 'READY', 'STATUS', 'AGE']);
  assert.deepEqual(headers('Service', true), ['NAME', 'ENVIRONMENT', 'SERVER', 'READY', 'STATUS', 'AGE', 'IMAGE/SOURCE', 'GENERATION', 'DEPLOYMENT']);
  assert.deepEqual(headers('Server'), ['NAME', 'KIND', 'HOST', 'READY', 'LATENCY', 'DOCKER', 'AGE']);
  assert.deepEqual(headers('Project'), ['NAME', 'ENVIRONMENTS', 'STATUS', 'AGE']);
  assert.deepEqual(headers('Event'), ['LAST SEEN', 'TYPE', 'REASON', 'OBJECT', 'MESSAGE']);
  assert.deepEqual(headers('SSHKey'), ['NAME', 'TYPE', 'FINGERPRINT', 'AGE']);
  assert.deepEqual(headers('Secret'), ['NAME', 'TYPE', 'KEYS', 'AGE']);
  assert.deepEqual(headers('BackupPolicy'), ['NAME', 'SERVICE', 'SCHEDULE', 'LAST BACKUP', 'RESULT', 'AGE']);
});

test('objects being deleted show Terminating with the finalizers they wait for', () => {
  const now = new Date('2024-01-01T00:05:00Z');
  const row = (kind: string, obj: Resource) => columnsFor(kindInfo(kind)!, false).map((c) => c.value(obj, now));
  const deleting = { creationTimestamp: '2024-01-01T00:00:00Z', deletionTimestamp: '2024-01-01T00:04:00Z' };
  const server: Resource = { apiVersion: '', kind: 'Server', metadata: { name: 'edge-2', ...deleting, finalizers: ['holdfast.dev/in-use'] }, spec: { kind: 'docker-engine', host: '10.0.0.2' }, status: { conditions: [cond('Ready', 'True')] } };
  assert.deepEqual(row('Server', server), ['edge-2', 'docker-engine', '10.0.0.2', 'Terminating (holdfast.dev/in-use)', '-', '<none>', '5m']);
  const project: Resource = { apiVersion: '', kind: 'Project', metadata: { name: 'shop', ...deleting, finalizers: ['holdfast.dev/project-contents'] }, spec: { environments: [{ name: 'production' }] } };
  assert.deepEqual(row('Project', project), ['shop', 'production', 'Terminating (holdfast.dev/project-contents)', '5m']);
  assert.deepEqual(row('Project', { ...project, metadata: { name: 'shop', creationTimestamp: deleting.creationTimestamp } }), ['shop', 'production', 'Active', '5m']);
  const service = svc({ metadata: { name: 'web', ...deleting, finalizers: ['holdfast.dev/cleanup'] }, status: { conditions: [cond('Ready', 'True')] } });
  assert.equal(row('Service', service)[4], 'Terminating (holdfast.dev/cleanup)');
});

test('secrets show key names only', () => {
  assert.deepEqual(secretKeys({ apiVersion: '', kind: 'Secret', metadata: { name: 's' }, spec: { type: 'Opaque' }, status: { keys: ['password', 'user'] } }), ['password', 'user']);
  assert.deepEqual(secretKeys({ apiVersion: '', kind: 'Secret', metadata: { name: 's' }, spec: { stringData: { a: 'secret' } } }), ['a']);
});

test('row values', () => {
  const now = new Date('2024-01-01T00:05:00Z');
  const row = (kind: string, obj: Resource) => columnsFor(kindInfo(kind)!, false).map((c) => c.value(obj, now));
  assert.deepEqual(row('Service', svc({ status: { conditions: [cond('Ready', 'True')], replicas: 2, readyReplicas: 2 } })), ['web', 'production', 'edge-1', '2/2', 'Ready', '5m']);
  assert.deepEqual(
    row('Server', {
      apiVersion: '',
      kind: 'Server',
      metadata: { name: 'edge-1', creationTimestamp: '2024-01-01T00:04:00Z' },
      spec: { kind: 'docker-engine', host: '10.0.0.5' },
      status: { conditions: [cond('Ready', 'True')], docker: { version: '26.1.5' } },
    }),
    ['edge-1', 'docker-engine', '10.0.0.5', 'True', '-', '26.1.5', '60s'],
  );
  assert.deepEqual(
    row('Event', {
      apiVersion: '',
      kind: 'Event',
      metadata: { name: 'e', namespace: 'shop' },
      type: 'Warning',
      reason: 'HealthCheckFailed',
      involvedObject: { kind: 'Service', name: 'web' },
      message: 'GET / returned 500',
      lastTimestamp: '2024-01-01T00:04:30Z',
    }),
    ['30s', 'Warning', 'HealthCheckFailed', 'service/web', 'GET / returned 500'],
  );
});

test('git repositories show the applied revision, cut to 12 hex digits, and the last sync', () => {
  const now = new Date('2024-01-01T00:05:00Z');
  const repo: Resource = {
    apiVersion: '',
    kind: 'GitRepository',
    metadata: { name: 'platform', namespace: 'shop', creationTimestamp: '2024-01-01T00:00:00Z' },
    spec: { url: '/srv/platform.git', ref: { branch: 'main' }, path: './shop' },
    status: {
      conditions: [{ ...cond('Ready', 'True'), message: 'applied revision main@sha1:0123456789abcdef0123456789abcdef01234567' }],
      lastAppliedRevision: 'main@sha1:0123456789abcdef0123456789abcdef01234567',
      inventory: [{ kind: 'Service', namespace: 'shop', name: 'web' }],
      history: [{ trigger: 'interval', startTime: '2024-01-01T00:04:00Z', result: 'Applied' }],
    },
  };
  const row = (wide: boolean) => columnsFor(kindInfo('GitRepository')!, wide).map((c) => `${c.header}=${c.value(repo, now)}`);
  assert.deepEqual(row(true), [
    'NAME=platform',
    'URL=/srv/platform.git',
    'REVISION=main@sha1:0123456789ab',
    'READY=True',
    'STATUS=applied revision main@sha1:0123456789abcdef0123456789abcdef01234567',
    'AGE=5m',
    'REF=branch:main',
    'PATH=./shop',
    'OBJECTS=1',
    'LAST SYNC=60s (Applied)',
  ]);
  const fresh = { ...repo, status: undefined };
  assert.deepEqual(columnsFor(kindInfo('GitRepository')!, false).map((c) => c.value(fresh, now)), ['platform', '/srv/platform.git', '<none>', 'Unknown', '<none>', '5m']);
});
