// The built `holdfast` CLI against the built `holdfast serve`, both as child processes: rollouts,
// logs, cancel and drift. The server is a real test host; one Service names an image no registry
// has (its deployment fails PullFailed), the other a secret key that does not exist (nothing can be
// deployed: no deployment at all). Successful rollouts are tested with the service controller.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli-process.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { loadTestHosts, readPrivateKey, testHost } from '../support/testhosts.js';




const MANIFESTS = `apiVersion: holdfast.dev/v1alpha1
kind: Project
metadata: { name: shop }
spec:
  environments: [ { name: production } ]
---
apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata: { name: web, namespace: shop }
spec:
  environment: production
  server: edge
  source: { image: holdfast-test/absent:1 }
---
apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata: { name: api, namespace: shop }
spec:
  environment: production
  server: edge
  source: { image: holdfast-test/busybox:1 }
  env: [ { name: DB_PASSWORD, valueFrom: { secretKeyRef: { name: db, key: password } } } ]
`;

describe('holdfast rollout, logs, cancel and drift against holdfast serve', () => {
  let serve: ServeProcess;
  let dir: string;
  let env: Record<string, string>;
  let webDeployment: string;
  const holdfast = (...args: string[]) => runCli(args, env);

  before(async () => {
    serve = await startServeProcess();
    env = { HOLDFAST_URL: serve.url, HOLDFAST_DATA_DIR: serve.dataDir };
    const host = testHost(await loadTestHosts({ count: 2 }), 2);
    for (const [path, body] of [
      ['sshkeys', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'SSHKey', metadata: { name: 'edge-key' }, spec: { privateKey: readPrivateKey(host) } }],
      ['servers', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name: 'edge' }, spec: { host: host.address, port: host.port, user: host.user, sshKeyRef: { name: 'edge-key' }, hostKeyFingerprint: host.hostKeyFingerprint } }],
    ] as const) {
      const res = await fetch(`${serve.url}/apis/holdfast.dev/v1alpha1/${path}`, { method: 'POST', headers: { authorization: `Bearer ${serve.token}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
      assert.equal(res.status, 201, await res.text());
    }
    dir = mkdtempSync(join(tmpdir(), 'holdfast-rollout-e2e-'));
    writeFileSync(join(dir, 'shop.yaml'), MANIFESTS);
  });

  after(async () => {
    await serve?.stop();
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  it('apply --wait reports each service’s rollout and exits 1 when they fail', async () => {
    const res = await holdfast('apply', '-f', join(dir, 'shop.yaml'), '--wait', '--timeout', '40s');
    assert.equal(res.code, 1, res.stdout + res.stderr);
    const lines = res.stdout.trim().split('\n');
    assert.deepEqual(lines.slice(0, 3), ['project.holdfast.dev/shop created', 'service.holdfast.dev/web created', 'service.holdfast.dev/api created']);
    // Waiting lines come first and depend on timing: the controller may not have observed the new
    // generation yet, or the server may not have been checked yet (the rollout waits for it).
    const waiting = lines.filter((l) => / waiting for (the controller to observe generation 1|the server: server edge)/.test(l));
    const progress = lines.slice(3).filter((l) => !waiting.includes(l));
    const web = progress.filter((l) => l.startsWith('service/web: '));
    assert.match(web[0], /^service\/web: deployment (d-[0-9a-f]+) \(revision 1, generation 1, trigger api\)$/);
    assert.match(web.at(-1)!, /^service\/web: failed: PullFailed: step pull: cannot pull holdfast-test\/absent:1/);
    assert.deepEqual(
      progress.filter((l) => l.startsWith('service/api: ')),
      ['service/api: failed: InvalidSpec: Service shop/api cannot be deployed: spec.env[0].valueFrom.secretKeyRef: Secret "db" in namespace shop has no key "password"'],
    );
    assert.equal(res.stderr, '');
  });

  it('rollout history lists the deployments, or says there are none', async () => {
    const table = await holdfast('rollout', 'history', 'service/web', '-n', 'shop');
    assert.equal(table.code, 0, table.stderr);
    const [header, row, ...rest] = table.stdout.trimEnd().split('\n');
    assert.match(header, /^REVISION +DEPLOYMENT +PHASE +TRIGGER +ACTOR +GENERATION +STARTED +DURATION +REASON$/);
    assert.match(row, /^1 +d-[0-9a-f]+ +failed +api +token:admin +1 +\S+ ago +\S+ +PullFailed$/);
    assert.deepEqual(rest, []);

    const json = await holdfast('rollout', 'history', 'service/web', '-n', 'shop', '-o', 'json');
    assert.equal(json.code, 0, json.stderr);
    const list = JSON.parse(json.stdout) as { kind: string; items: Array<Record<string, unknown>> };
    assert.equal(list.kind, 'DeploymentList');
    assert.equal(list.items.length, 1);
    assert.equal(list.items[0].phase, 'failed');
    assert.ok(!('frozen' in list.items[0]), 'history leaves the frozen input out');
    webDeployment = String(list.items[0].id);

    const none = await holdfast('rollout', 'history', 'service/api', '-n', 'shop');
    assert.equal(none.code, 0, none.stderr);
    assert.equal(none.stdout, 'No deployments of service/api in project shop yet.\n');
  });

  it('rollout status exits 1 for a failed rollout, saying why', async () => {
    const res = await holdfast('rollout', 'status', 'service/web', '-n', 'shop', '--timeout', '20s');
    assert.equal(res.code, 1, res.stderr);
    assert.equal(res.stdout.split('\n')[0], `service/web: deployment ${webDeployment} (revision 1, generation 1, trigger api)`);
    assert.match(res.stdout, /^service\/web: failed: PullFailed: step pull: cannot pull holdfast-test\/absent:1/m);
  });

  it('logs and cancel of a deployment that ended', async () => {
    const logs = await holdfast('logs', '--deployment', webDeployment);
    assert.equal(logs.code, 0, logs.stderr);
    const followed = await holdfast('logs', '--deployment', webDeployment, '--follow');
    assert.equal(followed.code, 0, 'following an ended deployment ends at once');
    assert.equal(followed.stdout, logs.stdout);

    const cancel = await holdfast('cancel', '--deployment', webDeployment);
    assert.equal(cancel.code, 1);
    assert.equal(cancel.stderr, `Error from server (Conflict): deployment ${webDeployment} already ended (failed); nothing to cancel\n`);
  });

  it('names what was not found, without a stack trace', async () => {
    const cases: Array<[string[], string]> = [
      [['logs', '--deployment', 'd-000000000000'], 'Error from server (NotFound): deployment "d-000000000000" not found\n'],
      [['logs', '--deployment', 'd-000000000000', '--follow'], 'Error from server (NotFound): deployment "d-000000000000" not found\n'],
      [['cancel', '--deployment', 'd-000000000000'], 'Error from server (NotFound): deployment "d-000000000000" not found\n'],
      [['rollout', 'history', 'service/ghost', '-n', 'shop'], 'Error from server (NotFound): services.holdfast.dev "ghost" not found\n'],
      [['rollout', 'status', 'service/ghost', '-n', 'shop'], 'Error from server (NotFound): services.holdfast.dev "ghost" not found\n'],
      [['sync', 'service/ghost', '-n', 'shop'], 'Error from server (NotFound): services.holdfast.dev "ghost" not found\n'],
      [['rollout', 'undo', 'service/web', '-n', 'shop'], 'Error from server (NotFound): service shop/web has no earlier completed revision to roll back to\n'],
      [['rollout', 'history', 'service/web'], 'error: service "web" is namespaced: pass -n PROJECT to name its project\n'],
      [['rollout', 'history', 'server/edge'], 'error: rollout history works on services only, not servers\n'],
      [['apply', '-f', 'x.yaml', '--wait', '--dry-run'], 'error: --wait waits for rollouts, which a dry run does not start: drop one of them\n'],
    ];
    for (const [args, stderr] of cases) {
      const res = await holdfast(...args);
      assert.equal(res.code, 1, `holdfast ${args.join(' ')}: ${res.stdout}`);
      assert.equal(res.stderr, stderr, `holdfast ${args.join(' ')}`);
      assert.equal(res.stdout, '');
    }
  });

  it('drift -A with no drift says so, in text and JSON', async () => {
    const text = await holdfast('drift', '-A');
    assert.equal(text.code, 0, text.stderr);
    assert.equal(text.stdout, 'No drift: every service matches its deployment.\n');
    const json = await holdfast('drift', '-A', '-o', 'json');
    assert.equal(json.code, 0, json.stderr);
    assert.deepEqual(JSON.parse(json.stdout), { kind: 'DriftedServiceList', items: [] });
    const inProject = await holdfast('drift', '-n', 'shop');
    assert.equal(inProject.stdout, 'No drift in project shop: every service matches its deployment.\n');
  });

  it('describe service shows the current deployment', async () => {
    const res = await holdfast('describe', 'service/web', '-n', 'shop');
    assert.equal(res.code, 0, res.stderr);
    assert.match(res.stdout, new RegExp(`^Deployment:\\n  Current: +${webDeployment} \\(revision 1, generation 1, trigger api\\): failed .*PullFailed: step pull: cannot pull holdfast-test/absent:1`, 'm'));
    assert.doesNotMatch(res.stdout, /Current Deployment:/);
  });
});
