import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ValidationError } from '../../../core/errors.js';
import { frozenInputHash, LABELS, specHash } from '../../../core/deploy/container-spec.js';
import { renderFrozenInput } from '../../../core/deploy/render.js';
import { context, service } from './fixtures.js';

const DIGEST = 'sha256:' + '7'.repeat(64);

describe('renderFrozenInput: an image Service (examples/manifests/shop/web.yaml)', () => {
  const web = service(
    {
      source: { image: 'holdfast-test/busybox:1' },
      command: ['httpd', '-f', '-v', '-p', '8080', '-h', '/www'],
      env: [
        { name: 'GREETING', value: 'hello' },
        { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
        { name: 'DSN', value: 'postgres://app:${secret:db/password}@db/app' },
      ],
      ports: [{ containerPort: 8080, hostPort: 18080, protocol: 'tcp' }, { containerPort: 9100, protocol: 'tcp' }],
      volumes: [{ name: 'data', mountPath: '/data', readOnly: false }, { name: 'logs', mountPath: '/var/log/app', hostPath: '/srv/logs/', readOnly: true }],
      healthcheck: { http: { path: '/', port: 8080 }, intervalSeconds: 2, timeoutSeconds: 2, failureThreshold: 3, startPeriodSeconds: 0 },
      resources: { cpus: 0.5, memory: '256Mi' },
      labels: { tier: 'frontend' },
    },
    'web',
  );
  const frozen = renderFrozenInput(web, context({ imageDigests: { 'holdfast-test/busybox:1': DIGEST }, sourceCommit: 'c0ffee', deployment: 'web-7' }));
  const [c] = frozen.containers;
  it('records who, where, what generation, which commit and deployment', () => {
    assert.deepEqual(frozen.service, { namespace: 'shop', name: 'web', uid: '6f1c1a52-0000-4000-8000-000000000001' });
    assert.deepEqual(frozen.target, { server: 'edge-1' });
    assert.equal(frozen.generation, 3);
    assert.equal(frozen.sourceCommit, 'c0ffee');
    assert.equal(frozen.deployment, 'web-7');
    assert.equal(frozen.sourceKind, 'image');
    assert.deepEqual(frozen.update, { order: 'start-first', healthDeadlineSeconds: 60, autoRollback: true });
    assert.equal(frozen.deletionPolicy, 'Retain');
  });
  it('renders one container with image and digest, command, env with secrets hashed', () => {
    assert.equal(c.name, 'hf_shop_production_web_1');
    assert.equal(c.component, 'web');
    assert.equal(c.image, 'holdfast-test/busybox:1');
    assert.equal(c.imageDigest, DIGEST);
    assert.deepEqual(c.command, ['httpd', '-f', '-v', '-p', '8080', '-h', '/www']);
    assert.deepEqual(c.env, {
      GREETING: { value: 'hello' },
      DB_PASSWORD: { secretRef: { name: 'db', key: 'password' }, secretHash: 'hash:db/password' },
      DSN: { template: 'postgres://app:${secret:db/password}@db/app', secrets: [{ name: 'db', key: 'password', secretHash: 'hash:db/password' }] },
    });
    assert.deepEqual(frozen.secretRefs, [{ name: 'db', key: 'password', secretHash: 'hash:db/password' }]);
  });
  it('publishes ports with a host port and exposes the others', () => {
    assert.deepEqual(c.ports, [{ containerPort: 8080, protocol: 'tcp', hostPort: 18080 }]);
    assert.deepEqual(c.exposedPorts, [{ port: 9100, protocol: 'tcp' }]);
  });
  it('owns a named volume per Service volume, bind-mounts a hostPath', () => {
    assert.deepEqual(c.mounts, [
      { type: 'volume', source: 'hf_shop_production_web_data', target: '/data', readOnly: false },
      { type: 'bind', source: '/srv/logs', target: '/var/log/app', readOnly: true, createHostPath: true },
    ]);
    assert.deepEqual(frozen.volumes.map((v) => v.name), ['hf_shop_production_web_data']);
    assert.equal(frozen.volumes[0].labels[LABELS.managedBy], 'holdfast');
    assert.deepEqual(frozen.networks, []);
  });
  it('turns an http healthcheck into a readiness probe run from the host', () => {
    assert.equal(c.healthcheck, undefined);
    assert.deepEqual(frozen.components[0].readiness, { http: { path: '/', port: 8080 }, intervalSeconds: 2, timeoutSeconds: 2, failureThreshold: 3, startPeriodSeconds: 0 });
  });
  it('applies resources, restart policy and labels', () => {
    assert.deepEqual(c.resources, { cpus: 0.5, memoryBytes: 256 * 1024 ** 2 });
    assert.deepEqual(c.restartPolicy, { name: 'unless-stopped' });
    assert.equal(c.labels.tier, 'frontend');
    assert.equal(c.labels[LABELS.deployment], 'web-7');
    assert.equal(c.labels[LABELS.specHash], specHash(c));
  });
  it('hashes the frozen input without its generation, deployment or warnings', () => {
    assert.equal(frozen.specHash, frozenInputHash(frozen));
    const again = renderFrozenInput({ ...web, metadata: { ...web.metadata, generation: 9 } }, context({ imageDigests: { 'holdfast-test/busybox:1': DIGEST }, sourceCommit: 'c0ffee', deployment: 'web-8' }));
    assert.equal(again.specHash, frozen.specHash);
    assert.equal(again.containers[0].labels[LABELS.specHash], c.labels[LABELS.specHash]);
  });
});

describe('renderFrozenInput: replicas, exec healthcheck, build source', () => {
  it('renders replicas with their own names and hashes, an exec healthcheck for Docker', () => {
    const frozen = renderFrozenInput(
      service({
        source: { image: `registry.example/api@${DIGEST}` },
        replicas: 3,
        healthcheck: { exec: { command: ['/bin/check', '--quick'] }, intervalSeconds: 5, timeoutSeconds: 1, failureThreshold: 2, startPeriodSeconds: 10 },
        restartPolicy: 'always',
      }, 'api'),
      context(),
    );
    assert.deepEqual(frozen.containers.map((c) => [c.name, c.replicaIndex, c.labels[LABELS.replica]]), [
      ['hf_shop_production_api_1', 1, '1'],
      ['hf_shop_production_api_2', 2, '2'],
      ['hf_shop_production_api_3', 3, '3'],
    ]);
    assert.equal(frozen.containers[0].imageDigest, DIGEST);
    assert.deepEqual(frozen.containers[1].healthcheck, { test: ['CMD', '/bin/check', '--quick'], intervalMs: 5000, timeoutMs: 1000, retries: 2, startPeriodMs: 10_000 });
    assert.equal(frozen.components[0].readiness, undefined);
    assert.notEqual(frozen.containers[0].labels[LABELS.specHash], frozen.containers[1].labels[LABELS.specHash]);
  });
  it('renders a build Service to an image tagged by its build tag', () => {
    const frozen = renderFrozenInput(
      service({ source: { build: { git: { url: 'https://git.example/app.git', ref: 'main' }, dockerfile: 'Dockerfile', context: 'src', args: { V: '1' } } } }, 'app'),
      context({ buildTags: { app: 'ctx-9a8b' } }),
    );
    assert.equal(frozen.containers[0].image, 'holdfast/shop-production-app:ctx-9a8b');
    assert.deepEqual(frozen.components[0].build, { context: 'src', dockerfile: 'Dockerfile', args: { V: '1' }, git: { url: 'https://git.example/app.git', ref: 'main' } });
    assert.equal(frozen.sourceKind, 'build');
  });
});

describe('renderFrozenInput: mistakes in the Service', () => {
  const fails = (spec: Parameters<typeof service>[0], pattern: RegExp, resolveSecret?: () => undefined) => {
    assert.throws(
      () => renderFrozenInput(service(spec), resolveSecret ? { resolveSecret } : context()),
      (error: unknown) => error instanceof ValidationError && pattern.test(error.message) && error.causes.length > 0,
    );
  };
  it('a missing Secret key, at the env var that wants it', () =>
    fails({ source: { image: 'x' }, env: [{ name: 'P', valueFrom: { secretKeyRef: { name: 'db', key: 'pw' } } }] }, /spec\.env\[0\]\.valueFrom\.secretKeyRef: Secret "db" in namespace shop has no key "pw"/, () => undefined));
  it('a Holdfast label', () => fails({ source: { image: 'x' }, labels: { 'holdfast.dev/service': 'y' } }, /spec\.labels\.holdfast\.dev\/service/));
  it('a host port on several replicas', () => fails({ source: { image: 'x' }, replicas: 2, ports: [{ containerPort: 80, hostPort: 80, protocol: 'tcp' }] }, /spec\.ports\[0\]\.hostPort: host port 80 cannot be published by 2 replicas/));
  it('a malformed placeholder', () => fails({ source: { image: 'x' }, env: [{ name: 'A', value: '${secret:Bad_Name}' }] }, /spec\.env\[0\]\.value: \$\{secret:Bad_Name\} is not a secret reference/));
  it('a bad memory size', () => fails({ source: { image: 'x' }, resources: { memory: '12 parsecs' } }, /spec\.resources\.memory/));
  it('two sources', () => fails({ source: { image: 'x', compose: { inline: {} } } }, /spec\.source: needs exactly one of image, compose or build/));
});
