// examples/deploy runs the control plane as replicas on PostgreSQL behind HAProxy: the compose file,
// the proxy's configuration and the server's own configuration parser must agree.
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { it } from 'node:test';
import { load, loadAll } from 'js-yaml';
import { resolveConfig } from '../../../control-plane/config.js';
import { packageRoot } from '../../../core/package-root.js';

const dir = join(packageRoot(), 'examples', 'deploy');
interface ComposeService {
  environment?: Record<string, string>;
  healthcheck?: { test: string[] };
}
/** YAML merge keys (`<<: *anchor`), as compose resolves them: the anchor's fields, then the map's own. */
function merged(value: unknown): unknown {
  if (Array.isArray(value)) return value.map(merged);
  if (!value || typeof value !== 'object') return value;
  const { '<<': base, ...own } = value as Record<string, unknown>;
  const entries = Object.entries(own).map(([k, v]) => [k, merged(v)]);
  return { ...(base ? (merged(base) as object) : {}), ...Object.fromEntries(entries) };
}
const compose = merged(load(readFileSync(join(dir, 'compose.yaml'), 'utf8'))) as { services: Record<string, ComposeService> };
const replicas = Object.entries(compose.services).filter(([name]) => name.startsWith('holdfast-'));
/** `${VAR:?message}` as compose fills it in from the environment. */
const filled = (env: Record<string, string>) => Object.fromEntries(Object.entries(env).map(([k, v]) => [k, String(v).replace(/\$\{(\w+)(:\?[^}]*)?\}/g, (_, name) => `<${name}>`)]));

it('runs three replicas on one database and one encryption key, each named as its service, each running the controllers (servers sharded over them)', () => {
  assert.equal(replicas.length, 3);
  const shared = (key: string) => new Set(replicas.map(([, s]) => s.environment?.[key]));
  assert.deepEqual([...shared('DATABASE_URL')], ['postgres://holdfast:${POSTGRES_PASSWORD:?set POSTGRES_PASSWORD}@postgres:5432/holdfast']);
  assert.equal(shared('ENCRYPTION_KEY').size, 1);
  for (const [name, service] of replicas) {
    const config = resolveConfig({ dataDir: '/data' }, filled(service.environment ?? {}));
    assert.equal(config.replicaId, name);
    assert.equal(config.port, 7420);
    assert.equal(config.host, '0.0.0.0');
    assert.ok(config.databaseUrl?.startsWith('postgres://'), name);
    assert.equal(config.leaseDurationSeconds, 15);
    assert.match(service.healthcheck?.test.join(' ') ?? '', /\/readyz/, `${name} is healthy when ready`);
  }
  assert.deepEqual(replicas.filter(([, s]) => resolveConfig({ dataDir: '/data' }, filled(s.environment ?? {})).runControllers).map(([name]) => name), ['holdfast-1', 'holdfast-2', 'holdfast-3']);
});

it('the proxy balances over exactly those replicas, checked on /readyz', () => {
  const cfg = readFileSync(join(dir, 'haproxy.cfg'), 'utf8');
  const servers = [...cfg.matchAll(/^\s*server\s+(\S+)\s+(\S+):7420$/gm)].map((m) => [m[1], m[2]]);
  assert.deepEqual(servers, replicas.map(([name]) => [name, name]));
  assert.match(cfg, /option httpchk GET \/readyz/);
});

it('the Kubernetes Deployment runs the same replicas: three, the same lease settings, probed on /readyz and /livez, named by pod', () => {
  const docs = loadAll(readFileSync(join(dir, 'kubernetes.yaml'), 'utf8')) as Array<{ kind: string; metadata: { name: string }; spec: any }>;
  const deployment = docs.find((d) => d.kind === 'Deployment')!;
  const service = docs.find((d) => d.kind === 'Service')!;
  assert.equal(deployment.spec.replicas, replicas.length);
  const [container] = deployment.spec.template.spec.containers;
  const env = Object.fromEntries(
    (container.env as Array<{ name: string; value?: string; valueFrom?: { secretKeyRef?: { key: string }; fieldRef?: { fieldPath: string } } }>).map((e) => [
      e.name,
      e.value ?? (e.valueFrom?.secretKeyRef ? `<secret ${e.valueFrom.secretKeyRef.key}>` : `<${e.valueFrom?.fieldRef?.fieldPath}>`),
    ]),
  );
  assert.equal(env.HOLDFAST_REPLICA_ID, '<metadata.name>');
  assert.equal(env.DATABASE_URL, '<secret database-url>');
  assert.equal(env.ENCRYPTION_KEY, '<secret encryption-key>');
  const [, composeReplica] = replicas[0];
  for (const key of ['HOLDFAST_LEASE_DURATION_SECONDS', 'HOLDFAST_LEASE_RENEW_INTERVAL_SECONDS']) assert.equal(env[key], composeReplica.environment?.[key], key);
  const listen = container.args[container.args.indexOf('--listen') + 1];
  const config = resolveConfig({ dataDir: '/data', listen, databaseUrl: 'postgres://db/holdfast' }, env);
  assert.equal(config.port, 7420);
  assert.equal(config.runControllers, true);
  assert.ok(config.leaseRenewIntervalSeconds < config.leaseDurationSeconds);
  assert.equal(container.readinessProbe.httpGet.path, '/readyz');
  assert.equal(container.livenessProbe.httpGet.path, '/livez');
  assert.ok(deployment.spec.template.spec.terminationGracePeriodSeconds >= config.leaseDurationSeconds, 'time to hand the shards over');
  assert.deepEqual(service.spec.selector, deployment.spec.template.metadata.labels);
  assert.deepEqual(deployment.spec.selector.matchLabels, deployment.spec.template.metadata.labels);
  assert.equal(service.spec.ports[0].port, 7420);
});
