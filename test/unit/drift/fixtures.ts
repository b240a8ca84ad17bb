// The Services behind the drift fixtures in testdata/: `web` (one replica, a published port, a
// volume, a secret in its env, a Docker healthcheck, and a crash switch on its volume) and `worker`
// (two replicas). testdata/capture.ts made the fixtures on a real test host from exactly these
// renders, with the container create requests Holdfast itself sends.
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { sha256Hex, type FrozenInput } from '../../../core/deploy/container-spec.js';
import type { DockerContainerInspect, DockerImageInspect } from '../../../core/deploy/docker-types.js';
import { renderFrozenInput } from '../../../core/deploy/render.js';
import type { Service, ServiceSpec } from '../../../core/schema/types.generated.js';

export const TESTDATA = join(dirname(fileURLToPath(import.meta.url)), 'testdata');

/** The value of the fixture Secret db/password (test data only). */
export const SECRET_VALUE = 's3cret-fixture-value';
export const hashSecret = (value: string) => sha256Hex(value);
/** The test hosts' daemon.json log options. */
export const DAEMON = { logDriver: 'json-file', logOptions: { 'max-file': '2', 'max-size': '10m' } };
export const PROJECT = 'driftfx';
export const WEB_PORT = 18495;

export function serviceOf(name: string, spec: Partial<ServiceSpec>, generation = 1): Service {
  return {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name, namespace: PROJECT, uid: `uid-${name}`, generation },
    spec: {
      environment: 'production',
      server: 'edge',
      source: { image: 'holdfast-test/busybox:1' },
      replicas: 1,
      restartPolicy: 'unless-stopped',
      update: { order: 'stop-first', healthDeadlineSeconds: 30, autoRollback: true },
      driftPolicy: { mode: 'report' },
      deletionPolicy: 'Retain',
      ...spec,
    },
  };
}

export const webSpec: Partial<ServiceSpec> = {
  command: ['sh', '-c', 'test -f /data/crash && exit 1; touch /tmp/healthy; exec httpd -f -p 8080 -h /www'],
  env: [
    { name: 'GREETING', value: 'hello' },
    { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
  ],
  ports: [{ containerPort: 8080, hostPort: WEB_PORT, protocol: 'tcp' }],
  volumes: [{ name: 'data', mountPath: '/data', readOnly: false }],
  labels: { tier: 'frontend' },
  healthcheck: { exec: { command: ['test', '-f', '/tmp/healthy'] }, intervalSeconds: 1, timeoutSeconds: 2, failureThreshold: 2, startPeriodSeconds: 0 },
};

export const workerSpec: Partial<ServiceSpec> = {
  command: ['sh', '-c', 'exec sleep 100000'],
  env: [{ name: 'QUEUE', value: 'jobs' }],
  replicas: 2,
};

export function render(service: Service): FrozenInput {
  return renderFrozenInput(service, { resolveSecret: (name, key) => (name === 'db' && key === 'password' ? { hash: hashSecret(SECRET_VALUE) } : undefined) });
}

export const webFrozen = () => render(serviceOf('web', webSpec));
export const workerFrozen = () => render(serviceOf('worker', workerSpec));

export function inspectFixture(name: string): DockerContainerInspect {
  return JSON.parse(readFileSync(join(TESTDATA, `${name}.json`), 'utf8')) as DockerContainerInspect;
}

export function imageFixture(name: string): DockerImageInspect {
  return JSON.parse(readFileSync(join(TESTDATA, `${name}.json`), 'utf8')) as DockerImageInspect;
}
