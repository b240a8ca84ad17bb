// What server cleanup removes and keeps, as tables over the objects a host lists.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { againstPreview, planCleanup, type CleanupPolicy, type HostContainer, type HostImage, type HostObjects } from '../../../core/cleanup/cleanup-plan.js';

const managed = (project: string, service: string, replica = '1') => ({
  'holdfast.dev/managed-by': 'holdfast',
  'holdfast.dev/project': project,
  'holdfast.dev/environment': 'production',
  'holdfast.dev/service': service,
  'holdfast.dev/replica': replica,
});
const container = (name: string, state: string, labels: Record<string, string>, imageId = 'sha256:busybox', networks: string[] = ['bridge']): HostContainer => ({
  id: `id-${name}`,
  name,
  labels,
  state,
  imageId,
  sizeRw: 100,
  networks,
});
const image = (id: string, repoTags: string[], extra: Partial<HostImage> = {}): HostImage => ({ id, repoTags, repoDigests: [], labels: {}, size: 1000, sharedSize: 0, ...extra });
const none: HostObjects = { containers: [], images: [], networks: [], buildCache: [] };
const policy = (extra: Partial<CleanupPolicy> = {}): CleanupPolicy => ({ all: false, deployedImages: [], declaredServices: new Set(), ...extra });

type Case = [name: string, objects: Partial<HostObjects>, policy: CleanupPolicy, remove: string[], keep: string[]];

const cases: Case[] = [
  ['nothing on the host', {}, policy(), [], []],
  [
    "a stopped container of a deleted Service goes; a running one and a foreign stopped one stay",
    { containers: [container('hf_ops_production_old_1', 'exited', managed('ops', 'old')), container('hf_ops_production_web_1', 'running', managed('ops', 'web')), container('someones-db', 'exited', {})] },
    policy(),
    ['container hf_ops_production_old_1'],
    [],
  ],
  [
    'a stopped container of a Service still declared here stays, with the reason',
    { containers: [container('hf_ops_production_crash_1', 'exited', managed('ops', 'crash'))] },
    policy({ declaredServices: new Set(['ops/production/crash']) }),
    [],
    ['container hf_ops_production_crash_1'],
  ],
  [
    'created and dead count as stopped; paused and restarting do not',
    {
      containers: [
        container('a', 'created', managed('ops', 'a')),
        container('b', 'dead', managed('ops', 'b')),
        container('c', 'paused', managed('ops', 'c')),
        container('d', 'restarting', managed('ops', 'd')),
      ],
    },
    policy(),
    ['container a', 'container b'],
    [],
  ],
  [
    'with --all, a foreign stopped container goes too',
    { containers: [container('someones-db', 'exited', {})] },
    policy({ all: true }),
    ['container someones-db'],
    [],
  ],
  [
    "Holdfast's images nothing uses go; foreign ones and images in use stay",
    {
      containers: [container('hf_ops_production_web_1', 'running', managed('ops', 'web'), 'sha256:inuse')],
      images: [
        image('sha256:built', ['holdfast/ops-production-web:abc']),
        image('sha256:inuse', ['holdfast/ops-production-web:def']),
        image('sha256:labelled', ['registry.example/tool:1'], { labels: { 'holdfast.dev/managed-by': 'holdfast' } }),
        image('sha256:foreign', ['nginx:1.27']),
        image('sha256:mixed', ['holdfast/x:1', 'nginx:1']),
      ],
    },
    policy(),
    ['image holdfast/ops-production-web:abc', 'image registry.example/tool:1'],
    [],
  ],
  [
    'an image a recent deployment names is kept for a rollback (by tag, digest or id)',
    {
      images: [
        image('sha256:v1', ['holdfast/ops-production-web:v1']),
        image('sha256:v2', [], { repoDigests: ['holdfast/ops-production-web@sha256:d2'] }),
        image('sha256:v3', ['holdfast/ops-production-web:v3']),
        image('sha256:v4', ['holdfast/ops-production-web:v4']),
      ],
    },
    policy({
      deployedImages: [
        { image: 'holdfast/ops-production-web:v1' },
        { image: 'holdfast/ops-production-web:v2', imageDigest: 'sha256:d2' },
        { image: 'something:else', imageDigest: 'sha256:v3' },
      ],
    }),
    ['image holdfast/ops-production-web:v4'],
    ['image holdfast/ops-production-web:v1', 'image holdfast/ops-production-web:v3', 'image v2'],
  ],
  [
    "a deployed image's reference matches Docker Hub's short form",
    { images: [image('sha256:bb', ['busybox:latest'])] },
    policy({ all: true, deployedImages: [{ image: 'docker.io/library/busybox' }] }),
    [],
    ['image busybox:latest'],
  ],
  [
    'dangling images: labelled ones go, foreign ones only with --all',
    {
      images: [
        image('sha256:aaaaaaaaaaaaaaaa', ['<none>:<none>'], { labels: { 'holdfast.dev/managed-by': 'holdfast' } }),
        image('sha256:bbbbbbbbbbbbbbbb', []),
      ],
    },
    policy(),
    ['image aaaaaaaaaaaa'],
    [],
  ],
  [
    "the image of a container the plan removes can go with it",
    { containers: [container('old', 'exited', managed('ops', 'old'), 'sha256:old')], images: [image('sha256:old', ['holdfast/ops-production-old:1'])] },
    policy(),
    ['container old', 'image holdfast/ops-production-old:1'],
    [],
  ],
  [
    "networks: Holdfast's unattached ones go; attached, predefined, swarm and foreign ones stay",
    {
      containers: [container('web', 'running', managed('ops', 'web'), 'sha256:x', ['hf_ops_used'])],
      networks: [
        { id: 'n1', name: 'hf_ops_unused', labels: { 'holdfast.dev/managed-by': 'holdfast' } },
        { id: 'n2', name: 'hf_ops_used', labels: { 'holdfast.dev/managed-by': 'holdfast' } },
        { id: 'n3', name: 'bridge', labels: {} },
        { id: 'n4', name: 'theirs', labels: {} },
        { id: 'n5', name: 'hf_swarm', labels: { 'holdfast.dev/managed-by': 'holdfast' }, scope: 'swarm' },
      ],
    },
    policy(),
    ['network hf_ops_unused'],
    [],
  ],
  [
    'the build cache goes only with --all, and only what is not in use',
    { buildCache: [{ id: 'cache1aaaaaaaaaa', size: 5000, inUse: false, type: 'regular' }, { id: 'cache2', size: 7000, inUse: true }] },
    policy({ all: true }),
    ['buildCache regular cache1aaaaaa'],
    [],
  ],
  [
    "one project: its labelled objects and its holdfast/PROJECT-… images only",
    {
      containers: [container('mine', 'exited', managed('ops', 'old')), container('theirs', 'exited', managed('shop', 'old'))],
      images: [image('sha256:m', ['holdfast/ops-production-old:1']), image('sha256:t', ['holdfast/shop-production-old:1']), image('sha256:l', [], { labels: { 'holdfast.dev/managed-by': 'holdfast', 'holdfast.dev/project': 'ops' } })],
      networks: [
        { id: 'n1', name: 'hf_ops', labels: { 'holdfast.dev/managed-by': 'holdfast', 'holdfast.dev/project': 'ops' } },
        { id: 'n2', name: 'hf_shop', labels: { 'holdfast.dev/managed-by': 'holdfast', 'holdfast.dev/project': 'shop' } },
      ],
      buildCache: [{ id: 'cache1', size: 5000, inUse: false }],
    },
    policy({ project: 'ops', all: true }),
    ['container mine', 'image holdfast/ops-production-old:1', 'image l', 'network hf_ops'],
    [],
  ],
  ['without --all, no build cache', { buildCache: [{ id: 'cache1', size: 5000, inUse: false }] }, policy(), [], []],
];

describe('planCleanup', () => {
  for (const [name, objects, p, remove, keep] of cases) {
    it(name, () => {
      const plan = planCleanup({ ...none, ...objects }, p);
      assert.deepEqual(plan.remove.map((i) => `${i.kind} ${i.name}`), remove);
      assert.deepEqual(plan.keep.map((i) => `${i.kind} ${i.name}`), keep);
      assert.equal(plan.totalBytes, plan.remove.reduce((s, i) => s + i.size, 0));
    });
  }

  it('counts what an image frees without its shared layers', () => {
    const plan = planCleanup({ ...none, images: [image('sha256:a', ['holdfast/a:1'], { size: 1000, sharedSize: 400 }), image('sha256:b', ['holdfast/b:1'], { size: 300, sharedSize: -1 })] }, policy());
    assert.deepEqual(plan.remove.map((i) => i.size), [600, 300]);
    assert.equal(plan.totalBytes, 900);
  });

  it('says why each object goes', () => {
    const plan = planCleanup({ ...none, containers: [container('old', 'exited', managed('ops', 'old')), container('x', 'exited', {})] }, policy({ all: true }));
    assert.deepEqual(plan.remove.map((i) => i.reason), ['stopped; service ops/old no longer runs here', "stopped (not Holdfast's: --all)"]);
  });
});

describe('againstPreview', () => {
  it('removes only what the preview listed, reports what is new and what no longer qualifies', () => {
    const plan = planCleanup({ ...none, containers: [container('a', 'exited', managed('ops', 'a')), container('new', 'exited', managed('ops', 'new'))] }, policy());
    const run = againstPreview(plan, ['id-a', 'id-gone']);
    assert.deepEqual(run.remove.map((i) => i.name), ['a']);
    assert.deepEqual(run.notPreviewed.map((i) => i.name), ['new']);
    assert.deepEqual(run.noLongerEligible, ['id-gone']);
  });
});
