// Real kubectl 1.20 (Debian's kubernetes-client) against a running `holdfast serve`.
import assert from 'node:assert/strict';
import { execFile, spawn } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { kubectlPath } from '../support/kubectl.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { until } from '../support/until.js';

const run = promisify(execFile);

/** A Project with staging and production and one Service in it, in the environment given (plus extra spec lines). */
const projectWithService = (project: string, service: string, env: string, extra = '') => `apiVersion: holdfast.dev/v1alpha1
kind: Project
metadata: { name: ${project} }
spec: { environments: [ { name: staging }, { name: production } ] }
---
apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata: { name: ${service}, namespace: ${project} }
spec:
  environment: ${env}
  server: edge-1
  source: { image: holdfast-test/busybox:1 }
${extra}`;

describe('kubectl 1.20 against the Holdfast API', () => {
  let serve: ServeProcess;
  let kubeconfig: string;
  const kubectl = async (...args: string[]) => {
    try {
      const { stdout } = await run(kubectlPath(), ['--kubeconfig', kubeconfig, ...args], { timeout: 30_000 });
      return { code: 0, stdout, stderr: '' };
    } catch (err) {
      const e = err as { code: number; stdout: string; stderr: string };
      return { code: e.code, stdout: e.stdout, stderr: e.stderr };
    }
  };

  before(async () => {
    serve = await startServeProcess({ tls: true });
    kubeconfig = join(serve.dataDir, 'kubeconfig');
    writeFileSync(
      kubeconfig,
      [
        'apiVersion: v1',
        'kind: Config',
        'clusters: [{name: holdfast, cluster: {server: "' + serve.url + '", certificate-authority: "' + serve.caFile + '"}}]',
        'users: [{name: admin, user: {token: "' + serve.token + '"}}]',
        'contexts: [{name: holdfast, context: {cluster: holdfast, user: admin}}]',
        'current-context: holdfast',
      ].join('\n'),
      { mode: 0o600 },
    );
  });
  after(async () => serve?.stop());

  it('discovers the Holdfast kinds', async () => {
    const res = await kubectl('api-resources', '--api-group=holdfast.dev');
    assert.equal(res.code, 0, res.stderr);
    for (const plural of ['projects', 'servers', 'services', 'backuppolicies', 'secrets', 'sshkeys']) assert.match(res.stdout, new RegExp(`^${plural}\\s`, 'm'));
  });

  it('applies, gets, re-applies and deletes Holdfast objects', async () => {
    const file = join(serve.dataDir, 'manifests.yaml');
    const manifests = (env: string) => projectWithService('kshop', 'api', env);
    writeFileSync(file, manifests('staging'));
    const created = await kubectl('apply', '--validate=false', '-f', file);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /project\.holdfast\.dev\/kshop created/);
    assert.match(created.stdout, /service\.holdfast\.dev\/api created/);

    const table = await kubectl('get', 'services.holdfast.dev', '-n', 'kshop');
    assert.equal(table.code, 0, table.stderr);
    assert.match(table.stdout, /^NAME\s+ENVIRONMENT\s+SERVER/m, 'printer columns from the CRD');
    assert.match(table.stdout, /^api\s+staging\s+edge-1/m);

    writeFileSync(file, manifests('production'));
    const configured = await kubectl('apply', '--validate=false', '-f', file);
    assert.equal(configured.code, 0, configured.stderr);
    assert.match(configured.stdout, /service\.holdfast\.dev\/api configured/);
    assert.match(configured.stdout, /project\.holdfast\.dev\/kshop unchanged/);

    const json = await kubectl('get', 'services.holdfast.dev', 'api', '-n', 'kshop', '-o', 'json');
    const obj = JSON.parse(json.stdout);
    assert.equal(obj.spec.environment, 'production');
    assert.equal(obj.metadata.generation, 2);

    const bad = await kubectl('apply', '--validate=false', '-f', '-');
    assert.notEqual(bad.code, 0);

    const deleted = await kubectl('delete', 'services.holdfast.dev', 'api', '-n', 'kshop');
    assert.equal(deleted.code, 0, deleted.stderr);
    assert.match(deleted.stdout, /"api" deleted/);
    const gone = await kubectl('get', 'services.holdfast.dev', 'api', '-n', 'kshop');
    assert.notEqual(gone.code, 0);
    assert.match(gone.stderr, /NotFound|not found/);
  });

  it('shows a schema violation with its field path', async () => {
    const file = join(serve.dataDir, 'bad.yaml');
    writeFileSync(file, `apiVersion: holdfast.dev/v1alpha1
kind: Project
metadata: { name: broken }
spec: { environments: [ { name: staging } ], colour: blue }
`);
    const res = await kubectl('apply', '--validate=false', '-f', file);
    assert.notEqual(res.code, 0);
    assert.match(res.stderr, /spec\.colour/);
  });

  it('applies server-side: creates what is missing, then lays the manifest over what is stored', async () => {
    const file = join(serve.dataDir, 'server-side.yaml');
    writeFileSync(file, projectWithService('sshop', 'web', 'staging'));
    const created = await kubectl('apply', '--server-side', '--validate=false', '-f', file);
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stdout, /project\.holdfast\.dev\/sshop serverside-applied/);
    assert.match(created.stdout, /service\.holdfast\.dev\/web serverside-applied/);
    const field = async (path: string) => (await kubectl('get', 'services.holdfast.dev', 'web', '-n', 'sshop', '-o', `jsonpath={${path}}`)).stdout;
    assert.equal(await field('.spec.environment'), 'staging');
    const uid = await field('.metadata.uid');

    writeFileSync(file, projectWithService('sshop', 'web', 'production', '  replicas: 2\n'));
    const changed = await kubectl('apply', '--server-side', '--validate=false', '-f', file);
    assert.equal(changed.code, 0, changed.stderr);
    assert.equal(await field('.spec.environment'), 'production');
    assert.equal(await field('.spec.replicas'), '2');
    assert.equal(await field('.metadata.uid'), uid, 'the same object, changed in place');
    assert.equal(await field('.metadata.generation'), '2');

    writeFileSync(file, projectWithService('sshop', 'web', 'testing'));
    const refused = await kubectl('apply', '--server-side', '--validate=false', '-f', file);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /environment "testing" is not declared by Project sshop/);
    assert.equal(await field('.spec.environment'), 'production', 'a refused apply stores nothing');
  });

  it('get --watch prints the printer columns for every event, and lists each object once', async () => {
    const file = join(serve.dataDir, 'watched.yaml');
    const manifests = (env: string) => projectWithService('wshop', 'web', env);
    writeFileSync(file, manifests('staging'));
    assert.equal((await kubectl('apply', '--validate=false', '-f', file)).code, 0);
    const watch = spawn(kubectlPath(), ['--kubeconfig', kubeconfig, 'get', 'services.holdfast.dev', '-n', 'wshop', '--watch', '--output-watch-events'], { stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    watch.stdout.on('data', (d) => (out += d));
    watch.stderr.on('data', (d) => (err += d));
    try {
      await until('the listed row', async () => (/^ADDED\s+web\s+staging\s+edge-1/m.test(out) ? true : undefined), 20_000);
      writeFileSync(file, manifests('production'));
      assert.equal((await kubectl('apply', '--validate=false', '-f', file)).code, 0);
      await until('the watched change as a row with the CRD columns', async () => (/^MODIFIED\s+web\s+production\s+edge-1/m.test(out) ? true : undefined), 20_000);
    } finally {
      watch.kill();
    }
    const lines = out.trim().split('\n');
    assert.equal(lines.filter((l) => /^EVENT\s+NAME\s+ENVIRONMENT\s+SERVER/.test(l)).length, 1, `one header: ${out}${err}`);
    // The controller's status writes may show the object again as MODIFIED; a watch that replayed
    // the listed object would show it ADDED a second time.
    assert.equal(lines.filter((l) => /^ADDED\s+web\s/.test(l)).length, 1, `the listed object added once: ${out}`);
    assert.ok(lines.every((l) => /^(EVENT|ADDED|MODIFIED)\s/.test(l)), `every line a header or an event row of the CRD's columns: ${out}`);
  });

  it('validates, explains and diffs with the OpenAPI schema the server publishes', async () => {
    const file = join(serve.dataDir, 'validated.yaml');
    const manifests = (env: string, extra = '') => projectWithService('vshop', 'api', env, extra);
    writeFileSync(file, manifests('staging'));
    const created = await kubectl('apply', '-f', file);
    assert.equal(created.code, 0, `client-side validation passes a valid manifest: ${created.stderr}`);
    assert.match(created.stdout, /service\.holdfast\.dev\/api created/);

    writeFileSync(file, manifests('staging', '  replicaz: 2\n'));
    const refused = await kubectl('apply', '-f', file);
    assert.notEqual(refused.code, 0);
    assert.match(refused.stderr, /unknown field "replicaz"/, 'kubectl itself names the unknown field');

    const explained = await kubectl('explain', 'services.spec', '--api-version=holdfast.dev/v1alpha1');
    assert.equal(explained.code, 0, explained.stderr);
    assert.match(explained.stdout, /^\s+environment\s+<string>/m);

    writeFileSync(file, manifests('production'));
    const diff = await kubectl('diff', '-f', file);
    assert.equal(diff.code, 1, `diff exits 1 when there is a difference: ${diff.stderr}`);
    assert.match(diff.stdout, /^-\s+environment: staging$/m);
    assert.match(diff.stdout, /^\+\s+environment: production$/m);
    const stored = JSON.parse((await kubectl('get', 'services.holdfast.dev', 'api', '-n', 'vshop', '-o', 'json')).stdout);
    assert.equal(stored.spec.environment, 'staging', 'diff changed nothing');
  });
});
