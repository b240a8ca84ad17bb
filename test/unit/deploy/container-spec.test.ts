import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  containerName,
  emptyContainerSpec,
  isDockerName,
  LABELS,
  nextContainerName,
  ownerOf,
  ownershipLabels,
  specHash,
  type ContainerSpec,
} from '../../../core/deploy/container-spec.js';

describe('containerName', () => {
  const cases: Array<[args: Parameters<typeof containerName>, expected: string]> = [
    [['shop', 'production', 'web', undefined, 1], 'hf_shop_production_web_1'],
    [['shop', 'staging', 'web', 'db', 2], 'hf_shop_staging_web_db_2'],
    [['shop', 'staging', 'app', 'worker_1.x', 10], 'hf_shop_staging_app_worker_1.x_10'],
  ];
  for (const [args, expected] of cases) {
    it(`${JSON.stringify(args)} → ${expected}`, () => {
      const name = containerName(...args);
      assert.equal(name, expected);
      assert.ok(isDockerName(name));
      assert.ok(isDockerName(nextContainerName(name)));
    });
  }
  it('rejects a replica index below 1', () => {
    assert.throws(() => containerName('a', 'b', 'c', undefined, 0), /positive integer/);
  });
  it('rejects a component Docker cannot name', () => {
    assert.throws(() => containerName('a', 'b', 'c', 'we b', 1), /not a valid Docker container name/);
  });
});

describe('ownershipLabels and ownerOf', () => {
  it('writes every ownership label and reads them back', () => {
    const labels = ownershipLabels({ project: 'shop', environment: 'production', service: 'web', component: 'db', replicaIndex: 2, deployment: 'd-1', specHash: 'abc' });
    assert.deepEqual(labels, {
      'holdfast.dev/managed-by': 'holdfast',
      'holdfast.dev/project': 'shop',
      'holdfast.dev/environment': 'production',
      'holdfast.dev/service': 'web',
      'holdfast.dev/component': 'db',
      'holdfast.dev/replica': '2',
      'holdfast.dev/deployment': 'd-1',
      'holdfast.dev/spec-hash': 'abc',
    });
    assert.deepEqual(ownerOf(labels), { project: 'shop', environment: 'production', service: 'web', component: 'db', replicaIndex: 2 });
  });
  it('does not own objects without the managed-by label', () => {
    assert.equal(ownerOf({ 'holdfast.dev/project': 'shop' }), undefined);
    assert.equal(ownerOf(null), undefined);
  });
});

describe('specHash', () => {
  const base = (): ContainerSpec => ({
    ...emptyContainerSpec({ name: 'hf_shop_production_web_1', project: 'shop', environment: 'production', service: 'web', component: 'web', replicaIndex: 1, image: 'web:1' }),
    env: { A: { value: '1' }, B: { secretRef: { name: 'db', key: 'password' }, secretHash: 'h1' } },
    ports: [{ containerPort: 80, protocol: 'tcp', hostPort: 8080 }, { containerPort: 53, protocol: 'udp' }],
    capAdd: ['NET_ADMIN', 'SYS_TIME'],
    labels: { app: 'web', ...ownershipLabels({ project: 'shop', environment: 'production', service: 'web' }) },
  });
  it('is a 64-digit hex digest', () => assert.match(specHash(base()), /^[0-9a-f]{64}$/));
  it('ignores key order, set order, the name and bookkeeping labels', () => {
    const a = base();
    const b = base();
    b.name = 'hf_shop_production_web_1.next';
    b.ports.reverse();
    b.capAdd.reverse();
    b.env = { B: b.env.B, A: b.env.A };
    b.labels[LABELS.deployment] = 'd-9';
    b.labels[LABELS.specHash] = 'whatever';
    assert.equal(specHash(a), specHash(b));
  });
  const changes: Array<[string, (s: ContainerSpec) => void]> = [
    ['an env value', (s) => (s.env.A = { value: '2' })],
    ['a secret hash', (s) => (s.env.B = { secretRef: { name: 'db', key: 'password' }, secretHash: 'h2' })],
    ['the image', (s) => (s.image = 'web:2')],
    ['the digest', (s) => (s.imageDigest = 'sha256:' + 'a'.repeat(64))],
    ['a host port', (s) => (s.ports[0].hostPort = 8081)],
    ['the replica index', (s) => (s.replicaIndex = 2)],
    ['a user label', (s) => (s.labels.app = 'api')],
    ['the restart policy', (s) => (s.restartPolicy = { name: 'always' })],
  ];
  for (const [what, change] of changes) {
    it(`changes with ${what}`, () => {
      const changed = base();
      change(changed);
      assert.notEqual(specHash(changed), specHash(base()));
    });
  }
});
