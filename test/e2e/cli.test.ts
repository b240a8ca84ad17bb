// The built `holdfast` CLI against a running `holdfast serve`, both as child processes, the way a
// user runs them: apply / get / describe / diff / delete, and every kind of bad input.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { load } from 'js-yaml';
import { runCli } from '../support/cli-process.js';
import { freePort, startServeProcess, type ServeProcess } from '../support/serve-process.js';

const project = (name: string) => `apiVersion: holdfast.dev/v1alpha1
kind: Project
metadata:
  name: ${name}
spec:
  environments: [ { name: staging }, { name: production } ]
`;

const service = (name: string, image: string, extra = '') => `apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata:
  name: ${name}
  namespace: shop
  labels: { app: ${name} }
spec:
  environment: production
  server: edge-1
  source: { image: ${image} }
  ports: [ { containerPort: 8080, hostPort: 18080 } ]
${extra}`;

const secret = (password: string) => `apiVersion: holdfast.dev/v1alpha1
kind: Secret
metadata: { name: db, namespace: shop }
spec:
  stringData: { password: ${password} }
`;

describe('holdfast CLI against holdfast serve', () => {
  let serve: ServeProcess;
  let dir: string;
  let env: Record<string, string>;
  const holdfast = (args: string[], input?: string) => runCli(args, env, { input });
  const file = (name: string, text: string) => {
    const path = join(dir, name);
    mkdirSync(join(path, '..'), { recursive: true });
    writeFileSync(path, text);
    return path;
  };
  /** Every stored object with its resourceVersion: equal snapshots mean nothing was written. */
  const snapshot = async () => {
    const res = await holdfast(['get', 'projects,servers,sshkeys,secrets,services,backuppolicies', '-o', 'json']);
    assert.equal(res.code, 0, res.stderr);
    const list = JSON.parse(res.stdout) as { items: Array<{ kind: string; metadata: { name: string; resourceVersion: string } }> };
    return list.items.map((o) => `${o.kind}/${o.metadata.name}@${o.metadata.resourceVersion}`).sort();
  };

  before(async () => {
    // The CLI's own output is under test: no controller adds events or finalizers meanwhile.
    serve = await startServeProcess({ env: { HOLDFAST_CONTROLLERS: 'false' } });
    // The token comes from <data dir>/admin.token, as on the machine that runs `holdfast serve`.
    env = { HOLDFAST_URL: serve.url, HOLDFAST_DATA_DIR: serve.dataDir };
    dir = mkdtempSync(join(tmpdir(), 'holdfast-cli-e2e-'));
    const keyFile = join(dir, 'id_ed25519');
    execFileSync('ssh-keygen', ['-q', '-t', 'ed25519', '-N', '', '-C', 'e2e', '-f', keyFile]);
    const privateKey = readFileSync(keyFile, 'utf8');
    // Deliberately out of dependency order, and with a Compose file beside the manifests.
    file('site/10-services.yaml', `${service('web', 'busybox:1')}---\n${service('api', 'busybox:1').replace('18080', '18081')}`);
    file('site/20-backups.yaml', `apiVersion: holdfast.dev/v1alpha1
kind: BackupPolicy
metadata: { name: web-data, namespace: shop }
spec:
  service: web
  target: { volume: data }
  schedule: "0 3 * * *"
  destination: { path: /var/backups/shop }
`);
    file('site/30-servers.yaml', `apiVersion: holdfast.dev/v1alpha1
kind: Server
metadata: { name: edge-1 }
spec:
  kind: docker-engine
  host: 127.0.0.2
  user: root
  sshKeyRef: { name: deploy-key }
`);
    file('site/40-project.yaml', project('shop'));
    file('site/50-secret.yaml', secret('s3cr3t-value'));
    file('site/60-sshkey.yaml', `apiVersion: holdfast.dev/v1alpha1
kind: SSHKey
metadata: { name: deploy-key }
spec:
  privateKey: |
${privateKey.trimEnd().replace(/^/gm, '    ')}
`);
    file('site/compose/web.yaml', 'services:\n  web: { image: busybox:1 }\n');
    file('site/more/blog.yaml', project('blog'));
  });

  after(async () => {
    await serve?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('apply creates everything in dependency order; a directory is read without recursing', async () => {
    const res = await holdfast(['apply', '-f', join(dir, 'site')]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(res.stdout.trim().split('\n'), [
      'project.holdfast.dev/shop created',
      'sshkey.holdfast.dev/deploy-key created',
      'secret.holdfast.dev/db created',
      'server.holdfast.dev/edge-1 created',
      'service.holdfast.dev/web created',
      'service.holdfast.dev/api created',
      'backuppolicy.holdfast.dev/web-data created',
    ]);
    assert.equal(res.stderr, '');
  });

  it('apply again: everything unchanged, write-only kinds included; -R takes subdirectories and skips non-manifests', async () => {
    const res = await holdfast(['apply', '-R', '-f', join(dir, 'site')]);
    assert.equal(res.code, 0, res.stderr);
    assert.deepEqual(res.stdout.trim().split('\n'), [
      'project.holdfast.dev/shop unchanged',
      'project.holdfast.dev/blog created',
      'sshkey.holdfast.dev/deploy-key unchanged',
      'secret.holdfast.dev/db unchanged',
      'server.holdfast.dev/edge-1 unchanged',
      'service.holdfast.dev/web unchanged',
      'service.holdfast.dev/api unchanged',
      'backuppolicy.holdfast.dev/web-data unchanged',
    ]);
    assert.match(res.stderr, /^Warning: skipped .*compose\/web\.yaml: no document in it has an apiVersion or kind/);
  });

  it('an edited manifest is configured; a changed secret value is configured without being shown', async () => {
    const before = await snapshot();
    file('site/10-services.yaml', `${service('web', 'busybox:2')}---\n${service('api', 'busybox:1').replace('18080', '18081')}`);
    file('site/50-secret.yaml', secret('rotated-value'));

    const dry = await holdfast(['apply', '-f', join(dir, 'site'), '--dry-run=server']);
    assert.equal(dry.code, 0, dry.stderr);
    assert.match(dry.stdout, /^service\.holdfast\.dev\/web configured \(server dry run\)$/m);
    assert.match(dry.stdout, /^secret\.holdfast\.dev\/db configured \(server dry run\)$/m);
    assert.deepEqual(await snapshot(), before, 'a server dry run writes nothing');

    const res = await holdfast(['apply', '-f', join(dir, 'site')]);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^service\.holdfast\.dev\/web configured$/m);
    assert.match(res.stdout, /^service\.holdfast\.dev\/api unchanged$/m);
    assert.match(res.stdout, /^secret\.holdfast\.dev\/db configured$/m);
    assert.match(res.stdout, /^project\.holdfast\.dev\/shop unchanged$/m);

    const again = await holdfast(['apply', '-f', join(dir, 'site', '50-secret.yaml')]);
    assert.equal(again.stdout, 'secret.holdfast.dev/db unchanged\n');
  });

  it('get prints kubectl-like tables, names, json and yaml', async () => {
    const table = await holdfast(['get', 'svc', '-n', 'shop']);
    assert.equal(table.code, 0, table.stderr);
    const lines = table.stdout.trim().split('\n');
    assert.match(lines[0], /^NAME\s+ENVIRONMENT\s+SERVER\s+READY\s+STATUS\s+AGE$/);
    assert.match(lines[1], /^api\s+production\s+edge-1\s+\S+\s+\S+\s+\d+s$/);
    assert.match(lines[2], /^web\s+production\s+edge-1\s+/);

    const wide = await holdfast(['get', 'services.holdfast.dev', 'web', '-n', 'shop', '-o', 'wide']);
    assert.match(wide.stdout, /IMAGE\/SOURCE\s+GENERATION\s+DEPLOYMENT/);
    assert.match(wide.stdout, /^web\s.*busybox:2\s+2\s/m);

    const all = await holdfast(['get', 'all', '-A']);
    assert.equal(all.code, 0, all.stderr);
    assert.match(all.stdout, /^project\.holdfast\.dev\/blog\s/m);
    assert.match(all.stdout, /^server\.holdfast\.dev\/edge-1\s+docker-engine\s+127\.0\.0\.2\s/m);
    assert.match(all.stdout, /^NAMESPACE\s+NAME\s+ENVIRONMENT/m);
    assert.match(all.stdout, /^shop\s+service\.holdfast\.dev\/web\s/m);
    assert.match(all.stdout, /^shop\s+backuppolicy\.holdfast\.dev\/web-data\s+web\s+0 3 \* \* \*/m);

    const names = await holdfast(['get', 'service', '-n', 'shop', '-o', 'name']);
    assert.equal(names.stdout, 'service.holdfast.dev/api\nservice.holdfast.dev/web\n');

    const one = await holdfast(['get', 'service/web', '-n', 'shop', '-o', 'yaml']);
    assert.equal(one.code, 0, one.stderr);
    const obj = load(one.stdout) as { kind: string; metadata: { generation: number }; spec: { source: { image: string }; replicas: number } };
    assert.equal(obj.kind, 'Service');
    assert.equal(obj.spec.source.image, 'busybox:2');
    assert.equal(obj.spec.replicas, 1, 'the schema default, filled in by the server');
    assert.equal(obj.metadata.generation, 2);

    const list = await holdfast(['get', 'svc', '-n', 'shop', '-o', 'json']);
    const parsed = JSON.parse(list.stdout) as { apiVersion: string; kind: string; items: Array<{ kind: string }> };
    assert.equal(parsed.kind, 'List');
    assert.equal(parsed.apiVersion, 'v1');
    assert.deepEqual(parsed.items.map((i) => i.kind), ['Service', 'Service']);

    const secrets = await holdfast(['get', 'secrets', '-n', 'shop', '-o', 'yaml']);
    assert.doesNotMatch(secrets.stdout, /rotated-value|s3cr3t-value/);
    const secretTable = await holdfast(['get', 'secrets', '-A']);
    assert.match(secretTable.stdout, /^shop\s+db\s+\S+\s+password\s/m);

    const keys = await holdfast(['get', 'sshkeys']);
    assert.match(keys.stdout, /^deploy-key\s+ssh-ed25519\s+SHA256:[A-Za-z0-9+/]{43}\s/m);
    const keyYaml = await holdfast(['get', 'sshkey', 'deploy-key', '-o', 'yaml']);
    assert.doesNotMatch(keyYaml.stdout, /PRIVATE KEY/);
  });

  it('get reports what is missing as kubectl does', async () => {
    const missing = await holdfast(['get', 'svc', 'nope', '-n', 'shop']);
    assert.equal(missing.code, 1);
    assert.equal(missing.stderr, 'Error from server (NotFound): services.holdfast.dev "nope" not found\n');
    const empty = await holdfast(['get', 'bp', '-n', 'blog']);
    assert.equal(empty.code, 0);
    assert.equal(empty.stderr, 'No resources found in blog namespace.\n');
    const unknown = await holdfast(['get', 'deployments']);
    assert.equal(unknown.code, 1);
    assert.equal(unknown.stderr, 'error: the server doesn\'t have a resource type "deployments"\n');
    const noNamespace = await holdfast(['get', 'svc', 'web']);
    assert.equal(noNamespace.code, 1);
    assert.match(noNamespace.stderr, /^error: service "web" is namespaced: pass -n PROJECT/);
  });

  it('describe shows identity, spec, status and events; get events --for filters by object', async () => {
    const event = {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Event',
      metadata: { name: 'web.e2e', namespace: 'shop' },
      involvedObject: { kind: 'Service', name: 'web', namespace: 'shop' },
      reason: 'DeploymentStarted',
      message: 'rolling out busybox:2',
      type: 'Normal',
      source: { component: 'e2e' },
      firstTimestamp: new Date().toISOString(),
      lastTimestamp: new Date().toISOString(),
      count: 1,
    };
    const posted = await fetch(`${serve.url}/apis/holdfast.dev/v1alpha1/namespaces/shop/events`, {
      method: 'POST',
      headers: { Authorization: `Bearer ${serve.token}`, 'Content-Type': 'application/json' },
      body: JSON.stringify(event),
    });
    assert.equal(posted.status, 201, await posted.text());

    const res = await holdfast(['describe', 'service', 'web', '-n', 'shop']);
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, /^Name:\s+web$/m);
    assert.match(res.stdout, /^Namespace:\s+shop$/m);
    assert.match(res.stdout, /^Labels:\s+app=web$/m);
    assert.match(res.stdout, /^API Version:\s+holdfast\.dev\/v1alpha1$/m);
    assert.match(res.stdout, /^Kind:\s+Service$/m);
    assert.match(res.stdout, /^Metadata:\n {2}Creation Timestamp:/m);
    assert.match(res.stdout, /^Spec:$/m);
    assert.match(res.stdout, /^ {2}Source:\n {4}Image:\s+busybox:2$/m);
    assert.match(res.stdout, /^Events:\n\s+Type\s+Reason\s+Age\s+From\s+Message\n[\s-]+\n\s+Normal\s+DeploymentStarted\s+\S+\s+e2e\s+rolling out busybox:2$/m);

    const other = await holdfast(['describe', 'svc/api', '-n', 'shop']);
    assert.match(other.stdout, /^Events:\s+<none>$/m);

    const secretText = await holdfast(['describe', 'secret', 'db', '-n', 'shop']);
    assert.match(secretText.stdout, /^Data:\n {2}password$/m);
    assert.doesNotMatch(secretText.stdout, /rotated-value/);

    const events = await holdfast(['get', 'events', '-n', 'shop', '--for', 'service/web']);
    assert.equal(events.code, 0, events.stderr);
    assert.match(events.stdout, /^LAST SEEN\s+TYPE\s+REASON\s+OBJECT\s+MESSAGE$/m);
    assert.match(events.stdout, /^\S+\s+Normal\s+DeploymentStarted\s+service\/web\s+rolling out busybox:2$/m);
    const none = await holdfast(['get', 'events', '-n', 'shop', '--for', 'service/api']);
    assert.equal(none.stdout, '');
  });

  it('diff: 0 without differences, 1 with, 2 on error', async () => {
    const same = await holdfast(['diff', '-f', join(dir, 'site')]);
    assert.equal(same.code, 0, same.stdout + same.stderr);
    assert.equal(same.stdout, '', 'server defaults (replicas, ports protocol, ...) are no difference');

    const edited = file('diff/web.yaml', service('web', 'busybox:3'));
    const changed = await holdfast(['diff', '-f', edited]);
    assert.equal(changed.code, 1, changed.stderr);
    assert.match(changed.stdout, /^diff -u -N \/tmp\/LIVE\/holdfast\.dev\.v1alpha1\.Service\.shop\.web \/tmp\/MERGED\/holdfast\.dev\.v1alpha1\.Service\.shop\.web$/m);
    assert.match(changed.stdout, /^--- \/tmp\/LIVE\/holdfast\.dev\.v1alpha1\.Service\.shop\.web$/m);
    assert.match(changed.stdout, /^\+\+\+ \/tmp\/MERGED\/holdfast\.dev\.v1alpha1\.Service\.shop\.web$/m);
    assert.match(changed.stdout, /^- {4}image: busybox:2$/m);
    assert.match(changed.stdout, /^\+ {4}image: busybox:3$/m);
    assert.doesNotMatch(changed.stdout, /resourceVersion|uid|creationTimestamp|generation/);

    const secretChanged = await holdfast(['diff', '-f', file('diff/secret.yaml', secret('another-value'))]);
    assert.equal(secretChanged.code, 1);
    assert.match(secretChanged.stdout, /^\+# write-only values differ from the live ones \(not shown\)$/m);
    assert.doesNotMatch(secretChanged.stdout, /another-value|rotated-value/);

    const newProject = await holdfast(['diff', '-f', file('diff/new.yaml', `${project('docs')}---\n${service('site', 'busybox:1').replace('namespace: shop', 'namespace: docs')}`)]);
    assert.equal(newProject.code, 1, newProject.stderr);
    assert.match(newProject.stdout, /^\+\+\+ \/tmp\/MERGED\/holdfast\.dev\.v1alpha1\.Project\.docs$/m);
    assert.match(newProject.stdout, /^\+\+\+ \/tmp\/MERGED\/holdfast\.dev\.v1alpha1\.Service\.docs\.site$/m);

    const invalid = await holdfast(['diff', '-f', file('diff/invalid.yaml', service('web', 'busybox:1', '  replicas: -1\n'))]);
    assert.equal(invalid.code, 2);
    assert.match(invalid.stderr, /^error: .*invalid\.yaml: document 1: spec\.replicas: must be >= 0 \(got -1\)$/m);

    const ghost = await holdfast(['diff', '-f', file('diff/ghost.yaml', service('web', 'busybox:1').replace('namespace: shop', 'namespace: ghost'))]);
    assert.equal(ghost.code, 2);
    assert.match(ghost.stderr, /^Error from server \(NotFound\): error when computing the diff for ".*ghost\.yaml" \(document 1\): namespace "ghost" not found/);

    const malformed = await holdfast(['diff', '-f', file('diff/malformed.yaml', 'kind: [\n')]);
    assert.equal(malformed.code, 2);
    const usage = await holdfast(['diff']);
    assert.equal(usage.code, 2);
    assert.equal((await holdfast(['get', 'svc', 'site', '-n', 'docs'])).code, 1, 'diff wrote nothing');
  });

  describe('bad input fails the whole apply before anything is written', () => {
    const good = () => service('web', 'busybox:9');
    const cases: Array<{ name: string; text: string; stderr: RegExp }> = [
      { name: 'malformed YAML', text: `${good()}---\nkind: Service\nmetadata: [oops\n`, stderr: /^error: .*bad\.yaml: document 2: invalid YAML at line \d+, column \d+: / },
      { name: 'a document without kind', text: `${good()}---\napiVersion: holdfast.dev/v1alpha1\nmetadata: { name: x, namespace: shop }\n`, stderr: /^error: .*bad\.yaml: document 2: kind: required/ },
      { name: 'a document without apiVersion', text: `${good()}---\nkind: Project\nmetadata: { name: x }\n`, stderr: /^error: .*bad\.yaml: document 2: apiVersion: required/ },
      { name: 'a document without metadata.name', text: `${good()}---\napiVersion: holdfast.dev/v1alpha1\nkind: Project\nmetadata: {}\n`, stderr: /^error: .*bad\.yaml: document 2: metadata\.name: required\n$/ },
      { name: 'an unknown kind', text: `${good()}---\napiVersion: holdfast.dev/v1alpha1\nkind: Deployment\nmetadata: { name: x }\n`, stderr: /^error: .*bad\.yaml: document 2: kind: unknown kind "Deployment"/ },
      { name: 'a schema error', text: `${good()}---\n${service('api', 'busybox:1', '  replicas: -1\n')}`, stderr: /^error: .*bad\.yaml: document 2: spec\.replicas: must be >= 0 \(got -1\)\n$/ },
      { name: 'the same object twice', text: `${good()}---\n${good()}`, stderr: /^error: .*bad\.yaml: document 2: Service "shop\/web" is already defined in .*bad\.yaml \(document 1\)\n$/ },
    ];
    for (const c of cases) {
      it(c.name, async () => {
        const before = await snapshot();
        const res = await holdfast(['apply', '-f', file(`bad-${cases.indexOf(c)}/bad.yaml`, c.text)]);
        assert.equal(res.code, 1);
        assert.equal(res.stdout, '');
        assert.match(res.stderr, c.stderr);
        assert.doesNotMatch(res.stderr, /\n\s+at /, 'no stack trace');
        assert.deepEqual(await snapshot(), before);
      });
    }

    it('a bad document on stdin, after a good file', async () => {
      const before = await snapshot();
      const res = await holdfast(['apply', '-f', file('stdin-good.yaml', good()), '-f', '-'], 'apiVersion: holdfast.dev/v1alpha1\nkind: Service\nmetadata: { name: x }\n');
      assert.equal(res.code, 1);
      assert.equal(res.stderr, 'error: <stdin>: document 1: metadata.namespace: required for Service (the Project it belongs to): set it or pass -n PROJECT\n');
      assert.deepEqual(await snapshot(), before);
    });

    it('a missing path', async () => {
      const res = await holdfast(['apply', '-f', join(dir, 'nope.yaml')]);
      assert.equal(res.code, 1);
      assert.equal(res.stderr, `error: ${join(dir, 'nope.yaml')}: the path "${join(dir, 'nope.yaml')}" does not exist\n`);
    });
  });

  it('stdin with -n; a server-side validation error names file, document and fields', async () => {
    const viaStdin = await holdfast(['apply', '-n', 'shop', '-f', '-'], service('cache', 'busybox:1').replace('  namespace: shop\n', '').replace('18080', '18082'));
    assert.equal(viaStdin.code, 0, viaStdin.stderr);
    assert.equal(viaStdin.stdout, 'service.holdfast.dev/cache created\n');

    // Only the server can tell this key is unusable (it parses it); the schema sees a PEM header.
    const badKey = `apiVersion: holdfast.dev/v1alpha1\nkind: SSHKey\nmetadata: { name: broken }\nspec:\n  privateKey: |\n    -----BEGIN OPENSSH PRIVATE KEY-----\n    bm90IGEga2V5\n    -----END OPENSSH PRIVATE KEY-----\n`;
    const invalid = file('invalid.yaml', `${project('shop')}---\n${badKey}`);
    const res = await holdfast(['apply', '-f', invalid]);
    assert.equal(res.code, 1);
    // The set is stored whole or not at all: nothing is reported applied.
    assert.equal(res.stdout, '');
    const lines = res.stderr.trim().split('\n');
    assert.match(lines[0], new RegExp(`^Error from server \\(BadRequest\\): error when applying "${invalid.replace(/[.]/g, '\\.')}" \\(document 2\\): items\\[1\\] \\(SSHKey "broken"\\): `));
    assert.ok(lines.some((l) => /^ {2}- spec\.privateKey: /.test(l)), res.stderr);
    assert.doesNotMatch(res.stderr, /bm90IGEga2V5/);
  });

  it('delete by name and by manifest, NotFound and --ignore-not-found', async () => {
    const byName = await holdfast(['delete', 'svc', 'cache', '-n', 'shop']);
    assert.equal(byName.code, 0, byName.stderr);
    assert.equal(byName.stdout, 'service.holdfast.dev "cache" deleted\n');

    const again = await holdfast(['delete', 'service', 'cache', '-n', 'shop']);
    assert.equal(again.code, 1);
    assert.equal(again.stderr, 'Error from server (NotFound): services.holdfast.dev "cache" not found\n');
    const ignored = await holdfast(['delete', 'service', 'cache', '-n', 'shop', '--ignore-not-found']);
    assert.equal(ignored.code, 0);
    assert.equal(ignored.stdout + ignored.stderr, '');

    const byFile = await holdfast(['delete', '-f', join(dir, 'site', '10-services.yaml'), '-f', join(dir, 'site', '20-backups.yaml')]);
    assert.equal(byFile.code, 0, byFile.stderr);
    assert.deepEqual(byFile.stdout.trim().split('\n'), [
      'backuppolicy.holdfast.dev "web-data" deleted',
      'service.holdfast.dev "web" deleted',
      'service.holdfast.dev "api" deleted',
    ]);
    const gone = await holdfast(['get', 'svc', '-n', 'shop']);
    assert.equal(gone.stdout, '');
    assert.equal(gone.stderr, 'No resources found in shop namespace.\n');
  });

  it('connection and credential problems are one clear line, and never show the token', async () => {
    const port = await freePort();
    const refused = await runCli(['get', 'svc', '-A'], { HOLDFAST_URL: `http://127.0.0.1:${port}`, HOLDFAST_TOKEN: 'tok-e2e' });
    assert.equal(refused.code, 1);
    assert.equal(refused.stderr, `error: cannot reach the Holdfast API at http://127.0.0.1:${port}: is \`holdfast serve\` running?\n`);

    const wrong = await runCli(['get', 'svc', '-A', '--token', 'wrong-token-value'], { HOLDFAST_URL: serve.url });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /^error: the Holdfast API at .* requires authentication: the token from --token was not accepted/);
    assert.doesNotMatch(wrong.stderr, /wrong-token-value/);

    const none = await runCli(['get', 'svc', '-A'], { HOLDFAST_URL: serve.url, HOLDFAST_DATA_DIR: join(dir, 'no-such-dir') });
    assert.equal(none.code, 1);
    assert.match(none.stderr, /no token was found: pass --token, set HOLDFAST_TOKEN/);

    const explicit = await runCli(['get', 'projects', '-o', 'name'], { HOLDFAST_URL: serve.url, HOLDFAST_TOKEN: serve.token });
    assert.equal(explicit.code, 0, explicit.stderr);
    assert.doesNotMatch(explicit.stdout + explicit.stderr, new RegExp(serve.token));
  });

  it('apply --wait on many Services reports each one, with no warning from Node', async () => {
    // Seven Services of one project, whose waits share one list of its Services. This server runs no
    // controllers, so each wait ends at its timeout.
    const crowd = join(dir, 'crowd');
    mkdirSync(crowd, { recursive: true });
    writeFileSync(join(crowd, 'project.yaml'), project('crowd'));
    for (let i = 1; i <= 7; i++) {
      writeFileSync(join(crowd, `web-${i}.yaml`), service(`web-${i}`, 'nginx:1.27').replace('namespace: shop', 'namespace: crowd').replace('server: edge-1', 'server: nowhere').replace('hostPort: 18080', `hostPort: ${18100 + i}`));
    }
    const r = await holdfast(['apply', '-f', crowd, '--wait', '--timeout', '3s']);
    assert.equal(r.code, 1, r.stderr);
    for (let i = 1; i <= 7; i++) assert.match(r.stdout, new RegExp(`service/web-${i}: timed out waiting for the controller to observe generation 1\n`));
    assert.doesNotMatch(r.stderr, /MaxListenersExceededWarning|Warning: Possible/);
  });

  it("kubectl's create, which Holdfast lacks, says what to run instead and stores nothing", async () => {
    const before = await runCli(['get', 'sshkeys', '-o', 'name'], { HOLDFAST_URL: serve.url, HOLDFAST_TOKEN: serve.token });
    assert.equal(before.code, 0, before.stderr);
    for (const args of [['create', 'sshkey', 'deploy'], ['create', '-f', join(dir, 'no-such.yaml')]]) {
      const r = await runCli(args, { HOLDFAST_URL: serve.url, HOLDFAST_TOKEN: serve.token });
      assert.equal(r.code, 1, args.join(' '));
      assert.equal(r.stdout, '');
      assert.match(r.stderr, /^error: holdfast has no 'create' verb\n.*holdfast apply -f FILE\n.*holdfast access-assets ssh-key create --name NAME --private-key-file FILE\n/s);
    }
    const after = await runCli(['get', 'sshkeys', '-o', 'name'], { HOLDFAST_URL: serve.url, HOLDFAST_TOKEN: serve.token });
    assert.equal(after.stdout, before.stdout);
    const help = await runCli(['--help'], {});
    assert.doesNotMatch(help.stdout, /^\s+create\b/m);
  });
});
