// The built `holdfast` CLI against the built `holdfast serve`, both as child processes: rollouts,
// logs, cancel and drift. The server is a real test host; one Service names an image no registry
// has (its deployment fails PullFailed), the other a secret key that does not exist (nothing can be
// deployed: no deployment at all). A third Service, in its own project, runs: it is synced, rolled
// back and synced again, and a rollout stuck in its health step is followed and left with Ctrl-C.
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { CLI_PATH, runCli, startCli } from '../support/cli-process.js';
import { declareTestServer, startServeProcess, type ServeProcess } from '../support/serve-process.js';
import { loadTestHosts, testHost } from '../support/testhosts.js';
import { until } from '../support/until.js';

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

/**
 * A Service that runs, in its own project; `health` adds a probe nothing answers (the rollout stays
 * in its health step). A failing probe is logged when 5 s passed since the last such line, so at this
 * interval every 8 s, and the CLI's heartbeat fills the quiet between them.
 */
function boxManifests(greeting: string, health = false): string {
  return `apiVersion: holdfast.dev/v1alpha1
kind: Project
metadata: { name: rollcli }
spec:
  environments: [ { name: production } ]
---
apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata: { name: box, namespace: rollcli }
spec:
  environment: production
  server: edge
  source: { image: holdfast-test/busybox:1 }
  command: [ "httpd", "-f", "-p", "8080" ]
  env: [ { name: GREETING, value: ${greeting} } ]
${health ? '  healthcheck: { http: { path: /, port: 9999 }, intervalSeconds: 4, timeoutSeconds: 1, failureThreshold: 3 }\n  update: { healthDeadlineSeconds: 120 }\n' : ''}`;
}

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
    await declareTestServer(serve, 'edge', host);
    dir = mkdtempSync(join(tmpdir(), 'holdfast-rollout-e2e-'));
    writeFileSync(join(dir, 'shop.yaml'), MANIFESTS);
  });

  after(async () => {
    // The running Service's containers are removed before the control plane stops.
    if (serve) {
      const box = `${serve.url}/apis/holdfast.dev/v1alpha1/namespaces/rollcli/services/box`;
      const headers = { authorization: `Bearer ${serve.token}` };
      await fetch(box, { method: 'DELETE', headers });
      await until('service box and its containers to be removed', async () => ((await fetch(box, { headers })).status === 404 ? true : undefined), 60_000, 500).catch(() => undefined);
    }
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
    assert.equal(res.stderr, 'Warning: secret db does not exist yet\n');
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

  const box = (...args: string[]) => holdfast(...args, '-n', 'rollcli');
  const boxFile = (name: string, text: string) => {
    writeFileSync(join(dir, name), text);
    return join(dir, name);
  };
  const conditionOf = async (type: string) => {
    const res = await box('get', 'service/box', '-o', 'json');
    return (JSON.parse(res.stdout) as { status?: { conditions?: Array<{ type: string; status: string; reason: string; message: string }> } }).status?.conditions?.find((c) => c.type === type);
  };

  it('apply --wait and sync print the deployment they queued; rollout status follows the newest one', async () => {
    const first = await holdfast('apply', '-f', boxFile('box-1.yaml', boxManifests('one')), '--wait', '--timeout', '90s');
    assert.equal(first.code, 0, first.stdout + first.stderr);
    assert.match(first.stdout, /^service\/box: deployment d-[0-9a-f]+ \(revision 1, generation 1, trigger api\)$/m);
    assert.match(first.stdout, /^service\/box: completed in \S+$/m);
    const second = await holdfast('apply', '-f', boxFile('box-2.yaml', boxManifests('two')), '--wait', '--timeout', '90s');
    assert.equal(second.code, 0, second.stdout + second.stderr);
    assert.match(second.stdout, /^service\/box: deployment d-[0-9a-f]+ \(revision 2, generation 2, trigger api\)$/m);

    const sync = await box('sync', 'service/box');
    assert.equal(sync.code, 0, sync.stderr);
    const queued = sync.stdout.match(/^service\/box sync queued: deployment (d-[0-9a-f]+) \(revision 3\)$/m);
    assert.ok(queued, sync.stdout);
    const status = await box('rollout', 'status', 'service/box', '--timeout', '60s');
    assert.equal(status.code, 0, status.stdout + status.stderr);
    assert.equal(status.stdout.split('\n')[0], `service/box: deployment ${queued[1]} (revision 3, generation 2, trigger user)`);

    const named = await box('rollout', 'status', 'service/box', '--deployment', webDeployment);
    assert.equal(named.code, 1);
    assert.equal(named.stderr, `error: deployment ${webDeployment} belongs to service/web in project shop, not service/box in project rollcli\n`);
  });

  it('after rollout undo the Service says it was rolled back; drift says so and exits 1; sync shows the difference and needs --yes', async () => {
    const undo = await box('rollout', 'undo', 'service/box', '--to-revision', '1', '--wait', '--timeout', '90s', '--yes');
    assert.equal(undo.code, 0, undo.stdout + undo.stderr);
    const undone = undo.stdout.match(/^service\/box rolled back: deployment (d-[0-9a-f]+) \(revision 4\) redeploys revision 1$/m);
    assert.ok(undone, undo.stdout);
    const rolledBack = await until('the RolledBack condition', async () => {
      const c = await conditionOf('RolledBack');
      return c?.status === 'True' ? c : undefined;
    });
    assert.equal(rolledBack.reason, 'RolledBack');
    assert.match(rolledBack.message, new RegExp(`^declared differs from the running revision: rolled back to revision 1 by token:admin at \\S+ \\(deployment ${undone[1]}, revision 4\\)`));

    const drift = await until('declared-vs-frozen drift', async () => {
      const res = await box('drift', 'service/box');
      return res.code === 1 ? res : undefined;
    });
    assert.equal(drift.stdout.split('\n')[0], `service/box: ${rolledBack.message}`);
    assert.match(drift.stdout, /declared-vs-frozen +containers\[\S+\]\.env\.GREETING +changed +\{"value":"two"\} +\{"value":"one"\}/);
    const all = await holdfast('drift', '-A');
    assert.equal(all.code, 1, 'drift -A exits 1 when a service drifted');
    assert.match(all.stdout, /^rollcli +service\/box +\d+/m);

    const refused = await box('sync', 'service/box');
    assert.equal(refused.code, 1);
    assert.match(refused.stdout, /^service\/box: declared differs from the running revision: rolled back to revision 1/);
    assert.match(refused.stdout, /^sync rolls out the declared spec \(generation 2\) again, undoing that rollback:$/m);
    assert.match(refused.stdout, /env\.GREETING +changed +\{"value":"two"\} +\{"value":"one"\}/);
    assert.equal(refused.stderr, 'error: service/box in project rollcli was rolled back to revision 1; stdin is not a terminal to confirm the sync: pass --yes to roll out the declared spec again\n');
    // In a terminal (a pseudo-terminal made by script(1)) it asks; "n" deploys nothing.
    const cli = ['sync', 'service/box', '-n', 'rollcli'].join(' ');
    const asked = await new Promise<{ code: number | null; out: string }>((ok) => {
      const child = spawn('script', ['-qec', `'${process.execPath}' '${CLI_PATH}' ${cli}`, '/dev/null'], { env: { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', ...env } });
      let out = '';
      child.stdout.on('data', (d) => (out += d));
      child.once('close', (code) => ok({ code, out }));
      child.stdin.end('n\n');
    });
    assert.equal(asked.code, 1, asked.out);
    assert.match(asked.out, /sync rolls out the declared spec \(generation 2\) again, undoing that rollback:/);
    assert.match(asked.out, /Roll out the declared spec again\? \[y\/N\] /);
    assert.match(asked.out, /sync canceled: nothing was deployed/);
    const history = JSON.parse((await box('rollout', 'history', 'service/box', '-o', 'json')).stdout) as { items: unknown[] };
    assert.equal(history.items.length, 4, 'the refused and the declined sync queued nothing');

    const synced = await box('sync', 'service/box', '--yes', '--wait', '--timeout', '90s');
    assert.equal(synced.code, 0, synced.stdout + synced.stderr);
    assert.match(synced.stdout, /^service\/box sync queued: deployment d-[0-9a-f]+ \(revision 5\)$/m);
    const cleared = await until('RolledBack to turn False', async () => {
      const c = await conditionOf('RolledBack');
      return c?.status === 'False' ? c : undefined;
    });
    assert.equal(cleared.reason, 'DeclaredSpecDeployed');
  });

  it('apply --wait prints progress at least every 5 s; Ctrl-C exits 130 saying how to follow or cancel the rollout', async () => {
    const waiting = startCli(['apply', '-f', boxFile('box-3.yaml', boxManifests('three', true)), '--wait', '--timeout', '3m'], env);
    try {
      await until('the rollout to probe for a while', async () => {
        const lines = waiting.lines().filter((l) => l.text.startsWith('service/box: '));
        const probing = lines.findIndex((l) => l.text.startsWith('service/box: deploy (health)'));
        const heartbeat = lines.some((l) => / for \d+s; last: health: /.test(l.text));
        return probing >= 0 && lines.length - probing >= 3 && heartbeat ? true : undefined;
      }, 60_000);
      waiting.child.kill('SIGINT');
      const res = await waiting.done;
      assert.equal(res.code, 130, res.stdout + res.stderr);
      const lines = waiting.lines().filter((l) => l.text.startsWith('service/box: '));
      const probing = lines.findIndex((l) => l.text.startsWith('service/box: deploy (health)'));
      for (let i = probing + 1; i < lines.length; i++) {
        assert.ok(lines[i].at - lines[i - 1].at <= 6_500, `more than 5 s without a line before "${lines[i].text}"`);
      }
      assert.match(res.stdout, /^service\/box: deploy \(health\) for \d+s; last: health: .*; deployment deadline in \S+/m);
      const id = res.stdout.match(/^service\/box: deployment (d-[0-9a-f]+) \(revision 6,/m)?.[1];
      assert.ok(id, res.stdout);
      assert.equal(
        res.stderr,
        `service/box: stopped waiting; deployment ${id} goes on.\n` +
          `  follow it: holdfast rollout status service/box -n rollcli --deployment ${id}\n` +
          `  cancel it: holdfast cancel --deployment ${id}\n`,
      );

      // rollout status stops waiting on Ctrl-C the same way.
      const status = startCli(['rollout', 'status', 'service/box', '-n', 'rollcli'], env);
      await until('rollout status to follow the deployment', async () => (status.lines().some((l) => l.text.startsWith(`service/box: deployment ${id} `)) ? true : undefined), 30_000);
      status.child.kill('SIGINT');
      const stopped = await status.done;
      assert.equal(stopped.code, 130, stopped.stdout + stopped.stderr);
      assert.match(stopped.stderr, new RegExp(`^  cancel it: holdfast cancel --deployment ${id}$`, 'm'));

      const cancel = await holdfast('cancel', '--deployment', id);
      assert.equal(cancel.code, 0, cancel.stderr);
      const followed = await box('rollout', 'status', 'service/box', '--deployment', id, '--timeout', '60s');
      assert.equal(followed.code, 1, followed.stdout + followed.stderr);
      assert.match(followed.stdout, /^service\/box: canceled/m);
    } finally {
      waiting.child.kill('SIGKILL');
    }
  });
});
