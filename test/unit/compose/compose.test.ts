import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { load } from 'js-yaml';
import type { Service } from '../../../core/schema/types.generated.js';
import { ValidationError } from '../../../core/errors.js';
import { LABELS, sha256Hex, specHash } from '../../../core/deploy/container-spec.js';
import { renderFrozenInput } from '../../../core/deploy/render.js';
import { REFUSED_COMPOSE_FILES, UNSUPPORTED_COMPOSE_KEYS } from '../../support/compose-refusals.js';
import { containerOf, context, directoryReader, memoryReader, renderComposeFixture, service } from '../deploy/fixtures.js';

const MiB = 1024 ** 2;
const prefix = 'hf_shop_production_store';
const b64 = (text: string) => Buffer.from(text).toString('base64');

describe('compose fixture: web + db, depends_on service_healthy', () => {
  const frozen = renderComposeFixture('web-db-healthy', {
    env: [
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      { name: 'WEB_CONCURRENCY', value: '4' },
    ],
  });
  const web = containerOf(frozen, 'web');
  const db = containerOf(frozen, 'db');

  it('has one component per compose service, in file order, with the dependency', () => {
    assert.deepEqual(frozen.components.map((c) => [c.name, c.replicas, c.image]), [
      ['web', 1, 'registry.example/shop/web:1.4.2'],
      ['db', 1, 'postgres:16-alpine'],
    ]);
    assert.deepEqual(frozen.components[0].dependsOn, [{ component: 'db', condition: 'service_healthy', required: true, restart: false }]);
    assert.equal(frozen.sourceKind, 'compose');
  });
  it('names containers deterministically', () => {
    assert.equal(web.name, `${prefix}_web_1`);
    assert.equal(db.name, `${prefix}_db_1`);
  });
  it('freezes env: interpolated secrets become templates, whole secrets hashes, bare keys come from the Service env', () => {
    assert.deepEqual(web.env, {
      DATABASE_URL: { template: 'postgres://shop:${secret:db/password}@db:5432/shop', secrets: [{ name: 'db', key: 'password', secretHash: 'hash:db/password' }] },
      RAILS_ENV: { value: 'production' },
      WEB_CONCURRENCY: { value: '4' },
    });
    assert.deepEqual(db.env.POSTGRES_PASSWORD, { secretRef: { name: 'db', key: 'password' }, secretHash: 'hash:db/password' });
    assert.deepEqual(db.env.POSTGRES_USER, { value: 'shop' });
    assert.deepEqual(frozen.secretRefs, [{ name: 'db', key: 'password', secretHash: 'hash:db/password' }]);
  });
  it('maps ports, expose, volumes, healthcheck and restart', () => {
    assert.deepEqual(web.ports, [{ containerPort: 8000, protocol: 'tcp', hostPort: 8000 }]);
    assert.deepEqual(db.exposedPorts, [{ port: 5432, protocol: 'tcp' }]);
    assert.deepEqual(db.mounts, [{ type: 'volume', source: `${prefix}_db-data`, target: '/var/lib/postgresql/data', readOnly: false }]);
    assert.deepEqual(db.healthcheck, { test: ['CMD-SHELL', 'pg_isready -U shop -d shop'], intervalMs: 10_000, timeoutMs: 5_000, retries: 5, startPeriodMs: 30_000 });
    assert.deepEqual(web.restartPolicy, { name: 'unless-stopped' });
    assert.deepEqual(db.restartPolicy, { name: 'always' });
  });
  it('puts every service on the project default network, aliased by its name', () => {
    assert.deepEqual(web.networks, [{ name: `${prefix}_default`, aliases: ['web'] }]);
    assert.deepEqual(frozen.networks.map((n) => [n.key, n.name, n.external]), [['default', `${prefix}_default`, false]]);
    assert.equal(frozen.networks[0].labels[LABELS.managedBy], 'holdfast');
    assert.deepEqual(frozen.volumes.map((v) => [v.key, v.name]), [['db-data', `${prefix}_db-data`]]);
    assert.equal(frozen.volumes[0].labels[LABELS.service], 'store');
  });
  it('labels every container with ownership and its own spec hash', () => {
    assert.equal(web.labels[LABELS.managedBy], 'holdfast');
    assert.equal(web.labels[LABELS.project], 'shop');
    assert.equal(web.labels[LABELS.environment], 'production');
    assert.equal(web.labels[LABELS.service], 'store');
    assert.equal(web.labels[LABELS.component], 'web');
    assert.equal(web.labels[LABELS.replica], '1');
    assert.equal(web.labels[LABELS.specHash], specHash(web));
    assert.match(frozen.specHash, /^[0-9a-f]{64}$/);
  });
});

describe('compose fixture: build contexts (flask + redis)', () => {
  const frozen = renderComposeFixture('flask-redis-build', { env: [{ name: 'GIT_SHA', value: 'abc123' }] }, { sourceCommit: '0123456789abcdef0123', buildTags: { web: 'ctx-1f2e3d' } });
  it('tags a built image with the context hash, or the commit, under a Holdfast or the declared repository', () => {
    assert.equal(containerOf(frozen, 'web').image, 'holdfast/shop-production-store-web:ctx-1f2e3d');
    assert.equal(containerOf(frozen, 'worker').image, 'registry.example/flask-worker:0123456789ab');
    assert.equal(containerOf(frozen, 'redis').image, 'redis:7-alpine');
  });
  it('records build context (relative to the manifest), dockerfile, target and args', () => {
    const [web, worker, redis] = frozen.components;
    assert.deepEqual(web.build, { context: 'app', dockerfile: 'Dockerfile', args: {} });
    assert.deepEqual(worker.build, { context: 'worker', dockerfile: 'Dockerfile.prod', target: 'runtime', args: { PYTHON_VERSION: '3.12', GIT_SHA: 'abc123' } });
    assert.equal(redis.build, undefined);
  });
  it('splits a command string into words as compose does', () => {
    assert.deepEqual(containerOf(frozen, 'worker').command, ['celery', '-A', 'tasks', 'worker', '--loglevel=info', '--hostname', 'worker@%h']);
  });
  it('reads list and mapping depends_on alike', () => {
    assert.deepEqual(frozen.components[0].dependsOn, [{ component: 'redis', condition: 'service_started', required: true, restart: false }]);
    assert.deepEqual(frozen.components[1].dependsOn, [{ component: 'redis', condition: 'service_started', required: true, restart: false }]);
    assert.deepEqual(containerOf(frozen, 'web').ports, [{ containerPort: 5000, protocol: 'tcp', hostPort: 8000 }]);
  });
});

describe('compose fixture: secrets and configs', () => {
  const frozen = renderComposeFixture('secrets-files');
  const backend = containerOf(frozen, 'backend');
  it('mounts each external secret as its Holdfast Secret, by the hash of its value', () => {
    assert.deepEqual(backend.files, [
      { kind: 'secret', name: 'db-password', target: '/run/secrets/db-password', contentHash: 'hash:db/password', source: { secretRef: { name: 'db', key: 'password' } } },
      { kind: 'secret', name: 'api-token', target: '/run/secrets/token', contentHash: 'hash:api/token', source: { secretRef: { name: 'api', key: 'token' } }, mode: 0o400 },
    ]);
    assert.deepEqual(frozen.secretRefs, [
      { name: 'api', key: 'token', secretHash: 'hash:api/token' },
      { name: 'db', key: 'password', secretHash: 'hash:db/password' },
    ]);
  });
  it('carries config content inline, at the declared target', () => {
    const proxy = containerOf(frozen, 'proxy');
    const content = 'server { listen 80; location / { proxy_pass http://backend:8000; } }\n';
    assert.deepEqual(proxy.files, [{ kind: 'config', name: 'nginx-conf', target: '/etc/nginx/conf.d/default.conf', contentHash: sha256Hex(content), source: { contentBase64: b64(content) } }]);
    assert.deepEqual(proxy.ports, [{ containerPort: 80, protocol: 'tcp', hostPort: 80 }]);
  });
  it('unescapes $$ and keeps a quoted command string whole', () => {
    const db = containerOf(frozen, 'db');
    assert.deepEqual(db.command, ['--default-authentication-plugin=mysql_native_password']);
    assert.deepEqual(db.healthcheck?.test, ['CMD-SHELL', 'mysqladmin ping -h 127.0.0.1 --password="$(cat /run/secrets/db-password)" --silent']);
    assert.deepEqual(db.exposedPorts, [{ port: 3306, protocol: 'tcp' }, { port: 33060, protocol: 'tcp' }]);
    assert.equal(frozen.components.find((c) => c.name === 'backend')?.build?.context, 'backend');
  });
});

describe('compose fixture: long syntax for ports and volumes', () => {
  const frozen = renderComposeFixture('long-syntax');
  const proxy = containerOf(frozen, 'proxy');
  it('keeps the top-level name for reference', () => assert.equal(frozen.composeProject, 'edge-proxy'));
  it('maps long and short ports, IPv6 hosts, random host ports and ranges', () => {
    assert.deepEqual(proxy.ports, [
      { containerPort: 80, protocol: 'tcp', hostPort: 8080, hostIP: '127.0.0.1' },
      { containerPort: 443, protocol: 'tcp', hostPort: 8443 },
      { containerPort: 514, protocol: 'udp' },
      { containerPort: 8000, protocol: 'tcp', hostPort: 7000 },
      { containerPort: 8001, protocol: 'tcp', hostPort: 7001 },
      { containerPort: 9000, protocol: 'tcp', hostPort: 9000, hostIP: '::1' },
      { containerPort: 9100, protocol: 'tcp', hostIP: '127.0.0.1' },
    ]);
  });
  it('maps bind, volume and tmpfs mounts, long and short, and the tmpfs key', () => {
    assert.deepEqual(proxy.mounts, [
      { type: 'volume', source: '', target: '/data', readOnly: false },
      { type: 'bind', source: '/srv/certs', target: '/etc/ssl/private', readOnly: true, propagation: 'rslave' },
      { type: 'tmpfs', source: '', target: '/run/haproxy', readOnly: false, sizeBytes: 64 * MiB, mode: 0o1777 },
      { type: 'tmpfs', source: '', target: '/tmp', readOnly: false, sizeBytes: 16 * MiB, tmpfsOptions: ['noexec'] },
      { type: 'volume', source: `${prefix}_cache`, target: '/var/cache/haproxy', readOnly: false, noCopy: true, subpath: 'haproxy' },
      { type: 'bind', source: '/var/log/haproxy', target: '/var/log/haproxy', readOnly: false, selinux: 'z', createHostPath: true },
    ]);
    assert.deepEqual(frozen.volumes.map((v) => [v.name, v.driver, v.driverOpts]), [[`${prefix}_cache`, 'local', { type: 'tmpfs', device: 'tmpfs' }]]);
  });
  it('carries a file bind-mounted from beside the compose file, and a config from a file', () => {
    const cfg = 'global\n  maxconn 256\n';
    const errors = 'HTTP/1.0 503 Service Unavailable\n';
    assert.deepEqual(proxy.files, [
      { kind: 'config', name: 'errors', target: '/errors', contentHash: sha256Hex(errors), source: { contentBase64: b64(errors) } },
      { kind: 'file', name: './conf/haproxy.cfg', target: '/usr/local/etc/haproxy/haproxy.cfg', contentHash: sha256Hex(cfg), source: { contentBase64: b64(cfg) } },
    ]);
  });
});

describe('compose fixture: extends and YAML anchors', () => {
  const frozen = renderComposeFixture('extends-anchors');
  const api = containerOf(frozen, 'api');
  it('merges mappings, replaces commands, concatenates ports, merges volumes by target', () => {
    assert.equal(api.image, 'registry.example/app:2.0');
    assert.deepEqual(api.command, ['app', 'serve', '--port', '9000']);
    assert.deepEqual(api.env, { LOG_LEVEL: { value: 'debug' }, REGION: { value: 'eu' } });
    assert.equal(api.labels.team, 'platform');
    assert.equal(api.labels.role, 'api');
    assert.deepEqual(api.ports, [{ containerPort: 9000, protocol: 'tcp' }, { containerPort: 9001, protocol: 'tcp', hostPort: 9001 }]);
    assert.deepEqual(api.mounts, [{ type: 'bind', source: '/srv/api', target: '/shared', readOnly: false, createHostPath: true }]);
    assert.deepEqual(api.restartPolicy, { name: 'on-failure', maximumRetryCount: 3 });
  });
  it('resolves a merge key (<<) and an alias', () => {
    assert.deepEqual(api.logging, { driver: 'json-file', options: { 'max-size': '10m', 'max-file': '3' } });
  });
  it('expands replicas from deploy.replicas', () => {
    const jobs = frozen.containers.filter((c) => c.component === 'jobs');
    assert.deepEqual(jobs.map((c) => c.name), [`${prefix}_jobs_1`, `${prefix}_jobs_2`]);
    assert.deepEqual(jobs[0].command, ['app', 'jobs']);
    assert.deepEqual(jobs[1].mounts, [{ type: 'bind', source: '/srv/shared', target: '/shared', readOnly: true, createHostPath: true }]);
  });
});

describe('compose fixture: profiles', () => {
  const cases: Array<[profiles: string[] | undefined, components: string[]]> = [
    [undefined, ['app']],
    [['migrations'], ['app', 'migrate']],
    [['debug'], ['app', 'adminer']],
    [['tools', 'migrations'], ['app', 'migrate', 'adminer']],
    [['*'], ['app', 'migrate', 'adminer']],
  ];
  for (const [profiles, components] of cases) {
    it(`${JSON.stringify(profiles ?? [])} → ${components.join(', ')}`, () => {
      const frozen = renderComposeFixture('profiles', {}, {}, profiles);
      assert.deepEqual(frozen.components.map((c) => c.name), components);
    });
  }
  it('drops an optional dependency on a disabled service, keeps it when enabled and marks the one-shot', () => {
    assert.deepEqual(renderComposeFixture('profiles').components[0].dependsOn, []);
    const frozen = renderComposeFixture('profiles', {}, {}, ['migrations']);
    assert.deepEqual(frozen.components[0].dependsOn, [{ component: 'migrate', condition: 'service_completed_successfully', required: false, restart: false }]);
    assert.equal(frozen.components.find((c) => c.name === 'migrate')?.runsToCompletion, true);
    assert.equal(frozen.components[0].runsToCompletion, false);
  });
});

describe('compose fixture: wordpress + mariadb', () => {
  const frozen = renderComposeFixture('wordpress-mysql');
  it('maps both services with their named volumes', () => {
    const db = containerOf(frozen, 'db');
    const wp = containerOf(frozen, 'wordpress');
    assert.deepEqual(db.mounts, [{ type: 'volume', source: `${prefix}_db_data`, target: '/var/lib/mysql', readOnly: false }]);
    assert.deepEqual(wp.mounts, [{ type: 'volume', source: `${prefix}_wp_data`, target: '/var/www/html', readOnly: false }]);
    assert.deepEqual(wp.env.WORDPRESS_DB_HOST, { value: 'db' });
    assert.deepEqual(Object.keys(db.env).sort(), ['MYSQL_DATABASE', 'MYSQL_PASSWORD', 'MYSQL_ROOT_PASSWORD', 'MYSQL_USER']);
    assert.deepEqual(wp.ports, [{ containerPort: 80, protocol: 'tcp', hostPort: 80 }]);
    assert.deepEqual(frozen.volumes.map((v) => v.key), ['db_data', 'wp_data']);
    assert.deepEqual(frozen.secretRefs, []);
  });
});

describe('compose fixture: monitoring stack (networks, container_name, network_mode)', () => {
  const frozen = renderComposeFixture('monitoring-stack');
  it('uses container_name as the container name', () => {
    assert.equal(containerOf(frozen, 'prometheus').name, 'prometheus');
    assert.equal(containerOf(frozen, 'grafana').name, 'grafana');
    assert.equal(containerOf(frozen, 'node-exporter').name, `${prefix}_node-exporter_1`);
  });
  it('attaches named networks with aliases and static addresses', () => {
    assert.deepEqual(containerOf(frozen, 'grafana').networks, [
      { name: `${prefix}_front`, aliases: ['grafana'], ipv4Address: '172.28.0.10' },
      { name: 'monitoring-back', aliases: ['dashboards', 'grafana'] },
    ]);
    assert.deepEqual(frozen.networks.map((n) => [n.key, n.name, n.external, n.internal, n.driver]), [
      ['front', `${prefix}_front`, false, undefined, 'bridge'],
      ['back', 'monitoring-back', false, true, undefined],
    ]);
  });
  it('joins another service network stack by its container name, and depends on it', () => {
    const exporter = containerOf(frozen, 'node-exporter');
    assert.equal(exporter.networkMode, 'container:prometheus');
    assert.deepEqual(exporter.networks, []);
    assert.deepEqual(frozen.components.find((c) => c.name === 'node-exporter')?.dependsOn, [{ component: 'prometheus', condition: 'service_started', required: true, restart: true }]);
  });
  it('reads a ${secret:...} placeholder written in the compose file', () => {
    assert.deepEqual(containerOf(frozen, 'grafana').env.GF_SECURITY_ADMIN_PASSWORD, { secretRef: { name: 'grafana', key: 'admin-password' }, secretHash: 'hash:grafana/admin-password' });
    assert.deepEqual(containerOf(frozen, 'prometheus').command, ['--config.file=/etc/prometheus/prometheus.yml', '--storage.tsdb.retention.time=15d']);
  });
});

describe('compose fixture: every engine key on one service', () => {
  const frozen = renderComposeFixture('everything-engine');
  const c = containerOf(frozen, 'engine');
  const cases: Array<[string, unknown, unknown]> = [
    ['platform', c.platform, 'linux/amd64'],
    ['runtime', c.runtime, 'runc'],
    ['hostname', c.hostname, 'engine-host'],
    ['domainname', c.domainname, 'example.internal'],
    ['user', c.user, '1000:1000'],
    ['workingDir', c.workingDir, '/srv/engine'],
    ['entrypoint', c.entrypoint, ['/sbin/tini', '--']],
    ['command', c.command, ['engine', 'run']],
    ['stopSignal', c.stopSignal, 'SIGINT'],
    ['stopGraceSeconds', c.stopGraceSeconds, 90],
    ['init', c.init, true],
    ['tty', c.tty, true],
    ['stdinOpen', c.stdinOpen, true],
    ['privileged (false is absent)', c.privileged, undefined],
    ['readOnly', c.readOnly, true],
    ['capAdd', c.capAdd, ['NET_ADMIN', 'SYS_TIME']],
    ['capDrop', c.capDrop, ['ALL']],
    ['securityOpt', c.securityOpt, ['no-new-privileges:true', 'seccomp=unconfined']],
    ['sysctls', c.sysctls, { 'net.core.somaxconn': '1024', 'net.ipv4.tcp_syncookies': '0' }],
    ['ulimits', c.ulimits, [{ name: 'nofile', soft: 20000, hard: 40000 }, { name: 'nproc', soft: 65535, hard: 65535 }]],
    ['shmSizeBytes', c.shmSizeBytes, 256 * MiB],
    ['devices', c.devices, [{ source: '/dev/fuse', target: '/dev/fuse', permissions: 'rwm' }, { source: '/dev/ttyUSB0', target: '/dev/ttyS0', permissions: 'rw' }]],
    ['dns', c.dns, ['1.1.1.1']],
    ['dnsSearch', c.dnsSearch, ['example.internal']],
    ['dnsOptions', c.dnsOptions, ['use-vc']],
    ['extraHosts', c.extraHosts, ['ipv6host:::1', 'registry.local:10.0.0.2']],
    ['groupAdd', c.groupAdd, ['1001', 'audio']],
    ['logging', c.logging, { driver: 'local', options: { 'max-size': '20m' } }],
    ['resources', c.resources, { cpus: 1.5, memoryBytes: 512 * MiB, memoryReservationBytes: 256 * MiB, pidsLimit: 200 }],
    ['restartPolicy (deploy.restart_policy wins)', c.restartPolicy, { name: 'on-failure', maximumRetryCount: 5 }],
    ['healthcheck', c.healthcheck, { test: ['CMD-SHELL', 'curl -fsS http://localhost:8080/health || exit 1'], intervalMs: 30_000, timeoutMs: 10_000, startIntervalMs: 2_000 }],
    ['user label', c.labels['com.example.description'], 'engine'],
  ];
  for (const [field, actual, expected] of cases) it(field, () => assert.deepEqual(actual, expected));
  it('warns about what has no effect on Docker Engine', () => {
    assert.deepEqual(frozen.warnings, [
      'services.engine.deploy.restart_policy.delay has no effect on Docker Engine',
      'services.engine.restart is overridden by services.engine.deploy.restart_policy',
      'services.engine.deploy.resources.reservations.cpus has no effect on Docker Engine (it reserves CPUs in Swarm only)',
    ]);
  });
});

describe('compose fixture: interpolation, .env and env_file', () => {
  const frozen = renderComposeFixture('interpolation', {
    env: [
      { name: 'API_KEY', valueFrom: { secretKeyRef: { name: 'apikeys', key: 'api' } } },
      { name: 'MODE', value: 'from-service' },
    ],
  });
  const api = containerOf(frozen, 'api');
  it('takes variables from the Service env first, then .env', () => {
    assert.equal(api.image, 'registry.example/api:1.0');
    assert.deepEqual(api.ports, [{ containerPort: 8080, protocol: 'tcp', hostPort: 9090 }]);
    assert.deepEqual(api.env.MODE, { value: 'from-service' });
    assert.deepEqual(api.env.FROM_DOTENV, { value: 'dotenv-value' });
    assert.deepEqual(api.env.API_KEY, { secretRef: { name: 'apikeys', key: 'api' }, secretHash: 'hash:apikeys/api' });
    assert.deepEqual(api.env.MESSAGE, { value: 'cost: $5' });
  });
  it('reads env files: export, quotes, comments, interpolation, empty values; skips a missing optional one', () => {
    assert.deepEqual(api.env.LOG_FORMAT, { value: 'json' });
    assert.deepEqual(api.env.GREETING, { value: 'hello\nworld' });
    assert.deepEqual(api.env.LITERAL, { value: '${NOT_EXPANDED}' });
    assert.deepEqual(api.env.COMBINED, { value: '1.0-build' });
    assert.deepEqual(api.env.EMPTY, { value: '' });
  });
  it('replaces an unset variable by an empty string, with a warning', () => {
    assert.deepEqual(api.env.UNSET, { value: '' });
    assert.deepEqual(frozen.warnings, ['variable NOT_SET_ANYWHERE is not set; it was replaced by an empty string']);
  });
});

/** Renders an in-memory compose.yaml and returns the ValidationError it must raise. */
function composeFailure(yaml: string, extraFiles: Record<string, string> = {}, spec: Record<string, unknown> = {}): ValidationError {
  try {
    renderFrozenInput(service({ ...spec, source: { compose: { file: 'compose.yaml' } } }), context({ composeFiles: memoryReader({ 'compose.yaml': yaml, ...extraFiles }) }));
  } catch (error) {
    if (error instanceof ValidationError) return error;
    throw error;
  }
  assert.fail('expected a ValidationError');
}

describe('compose keys Holdfast does not support', () => {
  const cases = UNSUPPORTED_COMPOSE_KEYS;
  for (const [what, yaml, message] of cases) {
    it(`${what} → "${message}", naming the file`, () => {
      const error = composeFailure(yaml);
      assert.ok(error.message.startsWith('compose file compose.yaml: '), error.message);
      assert.ok(error.message.includes(message), error.message);
      assert.ok(error.causes.some((c) => c.message === message && c.reason === 'FieldValueNotSupported'), JSON.stringify(error.causes));
    });
  }
});

describe('compose files Holdfast rejects, with the place of each problem', () => {
  const cases = REFUSED_COMPOSE_FILES;
  for (const [what, yaml, message, files, spec] of cases) {
    it(what, () => {
      const error = composeFailure(yaml, files, spec);
      assert.match(error.message, message);
      assert.ok(error.causes.length > 0);
    });
  }
  it('reports every problem of a file at once', () => {
    const error = composeFailure('services:\n  web:\n    image: nginx\n    links: [db]\n    pid: host\n    ports: 80\n');
    assert.deepEqual(error.causes.map((c) => c.field).sort(), ['services.web.links', 'services.web.pid', 'services.web.ports']);
  });
  it('accepts version and x- extensions anywhere they may appear', () => {
    const frozen = renderFrozenInput(
      service({ source: { compose: { inline: { version: '3.8', 'x-common': { a: 1 }, services: { web: { image: 'nginx', 'x-meta': 'm', ports: [{ target: 80, 'x-note': 'n' }] } } } } } }),
      context(),
    );
    assert.deepEqual(frozen.containers[0].ports, [{ containerPort: 80, protocol: 'tcp' }]);
  });
  it('names an inline compose project by its field', () => {
    assert.throws(
      () => renderFrozenInput(service({ source: { compose: { inline: { services: { web: { image: 'nginx', links: ['db'] } } } } } }), context()),
      (error: unknown) => error instanceof ValidationError && error.message === 'compose file spec.source.compose.inline: not supported: services.web.links',
    );
  });
});

describe('the examples repository renders', () => {
  const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..', '..', 'examples', 'manifests', 'shop');
  const manifest = (file: string) => load(readFileSync(join(root, file), 'utf8')) as Service;
  it('storefront.yaml: a compose file beside the manifests, two services, depends_on', () => {
    const frozen = renderFrozenInput(manifest('storefront.yaml'), context({ composeFiles: directoryReader(root) }));
    assert.equal(frozen.composeProject, 'storefront');
    assert.deepEqual(frozen.containers.map((c) => c.name), ['hf_shop_staging_storefront_app_1', 'hf_shop_staging_storefront_cache_1']);
    assert.deepEqual(frozen.components[0].dependsOn, [{ component: 'cache', condition: 'service_started', required: true, restart: false }]);
    assert.deepEqual(frozen.containers[0].ports, [{ containerPort: 8080, protocol: 'tcp', hostPort: 18081 }]);
  });
  it('web.yaml: an image Service with a secret', () => {
    const frozen = renderFrozenInput(manifest('web.yaml'), context());
    assert.deepEqual(frozen.containers[0].env.DB_PASSWORD, { secretRef: { name: 'db', key: 'password' }, secretHash: 'hash:db/password' });
  });
});
