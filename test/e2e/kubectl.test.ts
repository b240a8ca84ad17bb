// Real kubectl 1.20 (Debian's kubernetes-client) against a running `holdfast serve`.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { kubectlPath } from '../support/kubectl.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

const run = promisify(execFile);

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
    const manifests = (env: string) => `apiVersion: holdfast.dev/v1alpha1
kind: Project
metadata: { name: kshop }
spec: { environments: [ { name: staging }, { name: production } ] }
---
apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata: { name: api, namespace: kshop }
spec:
  environment: ${env}
  server: edge-1
  source: { image: holdfast-test/busybox:1 }
`;
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
});
