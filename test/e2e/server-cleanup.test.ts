// `holdfast server cleanup` with the built CLI against the built `holdfast serve`, on test host 2, for
// one project's objects (-n): the dry run lists what would go and removes nothing, keeps the image a
// rollback would need, and never touches a foreign container or image; the run removes exactly what
// its preview listed (something new since is reported and stays); it is audited and on the Server's
// events; scopes: server:plan previews, server:cleanup runs; a Server's spec.cleanup runs it on its
// schedule by the same rules.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { runCli } from '../support/cli-process.js';
import { declareTestServer, serveApi, startServeProcess, type ServeApi, type ServeProcess } from '../support/serve-process.js';
import { hostDocker, loadTestHosts, testHost, type TestHost } from '../support/testhosts.js';
import { until } from '../support/until.js';

const PROJECT = 'opsclean';
const labels = (service?: string) =>
  ['--label', 'holdfast.dev/managed-by=holdfast', '--label', `holdfast.dev/project=${PROJECT}`, ...(service ? ['--label', 'holdfast.dev/environment=production', '--label', `holdfast.dev/service=${service}`, '--label', 'holdfast.dev/replica=1'] : [])];

/** `KIND NAME` of each row of the cleanup table. */
const listed = (stdout: string) =>
  stdout
    .split('\n')
    .map((line) => /^(container|image|network|buildCache)\s+(\S+)/.exec(line))
    .filter((m): m is RegExpExecArray => m !== null)
    .map((m) => `${m[1]} ${m[2]}`)
    .sort();

describe('holdfast server cleanup against holdfast serve', () => {
  let serve: ServeProcess;
  let api: ServeApi['call'];
  let create: ServeApi['create'];
  let host: TestHost;
  let env: Record<string, string>;
  let danglingId = '';
  const holdfast = (...args: string[]) => runCli(args, env);
  const exists = async (kind: 'container' | 'image' | 'network', name: string) =>
    (await hostDocker(host, kind, 'inspect', '--format', '{{.Id}}', name).then(() => true, () => false));

  before(async () => {
    serve = await startServeProcess();
    ({ call: api, create } = serveApi(serve));
    env = { HOLDFAST_URL: serve.url, HOLDFAST_DATA_DIR: serve.dataDir };
    host = testHost(await loadTestHosts({ count: 2 }), 2);
    // A foreign stopped container and image (no labels), and the images the test deploys and leaves behind.
    await hostDocker(host, 'create', '--name', `${PROJECT}-foreign`, 'holdfast-test/busybox:1', 'true');
    await hostDocker(host, 'commit', `${PROJECT}-foreign`, `${PROJECT}-foreign/tool:1`);
    await hostDocker(host, 'commit', `${PROJECT}-foreign`, `holdfast/${PROJECT}-production-keeper:v1`);
    await hostDocker(host, 'commit', `${PROJECT}-foreign`, `holdfast/${PROJECT}-production-old:v1`);
    danglingId = await hostDocker(host, 'commit', '--change', 'LABEL holdfast.dev/managed-by=holdfast', '--change', `LABEL holdfast.dev/project=${PROJECT}`, `${PROJECT}-foreign`);
    // What a deleted Service left: its stopped container, and a network nothing is attached to.
    await hostDocker(host, 'create', '--name', `hf_${PROJECT}_production_old_1`, ...labels('old'), `holdfast/${PROJECT}-production-old:v1`, 'true');
    await hostDocker(host, 'network', 'create', ...labels(), `hf_${PROJECT}_unused`);

    await declareTestServer(serve, 'edge', host);
    await create('/projects', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: PROJECT }, spec: { environments: [{ name: 'production' }] } });
    // keeper runs v1, then moves on to busybox: v1 is unused, but a rollback would need it.
    await create(`/namespaces/${PROJECT}/services`, {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'Service',
      metadata: { name: 'keeper', namespace: PROJECT },
      spec: { environment: 'production', server: 'edge', source: { image: `holdfast/${PROJECT}-production-keeper:v1` }, command: ['sleep', '3600'] },
    });
    const runs = (image: string) => async () => {
      const out = await hostDocker(host, 'ps', '--filter', `name=^hf_${PROJECT}_production_keeper_1$`, '--format', '{{.Image}}');
      return out === image ? true : undefined;
    };
    await until('keeper on v1', runs(`holdfast/${PROJECT}-production-keeper:v1`));
    const patched = await api('PATCH', `/namespaces/${PROJECT}/services/keeper`, { spec: { source: { image: 'holdfast-test/busybox:1' } } });
    assert.equal(patched.status, 200);
    await until('keeper on busybox', runs('holdfast-test/busybox:1'));
  });

  after(async () => {
    await serve?.stop();
    if (!host) return;
    const ids = (await hostDocker(host, 'ps', '-aq', '--filter', `label=holdfast.dev/project=${PROJECT}`).catch(() => '')).split('\n').filter(Boolean);
    for (const name of [...ids, `${PROJECT}-foreign`, `hf_${PROJECT}_production_newcomer_1`]) await hostDocker(host, 'rm', '-f', name).catch(() => undefined);
    for (const image of [`${PROJECT}-foreign/tool:1`, `holdfast/${PROJECT}-production-keeper:v1`, `holdfast/${PROJECT}-production-old:v1`, danglingId]) {
      if (image) await hostDocker(host, 'rmi', image).catch(() => undefined);
    }
    await hostDocker(host, 'network', 'rm', `hf_${PROJECT}_unused`).catch(() => undefined);
  });

  it('dry run: lists what would go with sizes and a total, keeps the image a rollback needs, removes nothing', async () => {
    const run = await holdfast('server', 'cleanup', 'edge', '-n', PROJECT, '--dry-run');
    assert.equal(run.code, 0, run.stderr);
    assert.deepEqual(listed(run.stdout), [
      `container hf_${PROJECT}_production_old_1`,
      `image ${danglingId.replace(/^sha256:/, '').slice(0, 12)}`,
      `image holdfast/${PROJECT}-production-old:v1`,
      `network hf_${PROJECT}_unused`,
    ]);
    assert.match(run.stdout, /^total: 4 objects, [\d.]+ (B|KiB|MiB) would be freed \(dry run\)$/m);
    assert.match(run.stdout, new RegExp(`^  image holdfast/${PROJECT}-production-keeper:v1: a recent deployment runs it: a rollback would need it$`, 'm'));
    assert.ok(await exists('container', `hf_${PROJECT}_production_old_1`), 'a dry run removes nothing');
    assert.ok(await exists('network', `hf_${PROJECT}_unused`));
  });

  it('removes exactly what the preview listed; something new since is reported and stays; foreign objects stay', async () => {
    const preview = await api('GET', `/servers/edge/cleanup?project=${PROJECT}`);
    assert.equal(preview.status, 200, JSON.stringify(preview.body));
    const previewed = (preview.body.remove as Array<{ id: string; name: string }>).map((i) => i.name).sort();
    await hostDocker(host, 'create', '--name', `hf_${PROJECT}_production_newcomer_1`, ...labels('newcomer'), 'holdfast-test/busybox:1', 'true');

    const run = await api('POST', '/servers/edge/cleanup', { project: PROJECT, items: preview.body.remove.map((i: { id: string }) => i.id) });
    assert.equal(run.status, 200, JSON.stringify(run.body));
    assert.deepEqual((run.body.removed as Array<{ name: string }>).map((i) => i.name).sort(), previewed);
    assert.deepEqual(run.body.failed, []);
    assert.deepEqual((run.body.notPreviewed as Array<{ name: string }>).map((i) => i.name), [`hf_${PROJECT}_production_newcomer_1`]);

    assert.equal(await exists('container', `hf_${PROJECT}_production_old_1`), false);
    assert.equal(await exists('image', `holdfast/${PROJECT}-production-old:v1`), false);
    assert.equal(await exists('image', danglingId), false);
    assert.equal(await exists('network', `hf_${PROJECT}_unused`), false);
    assert.ok(await exists('container', `hf_${PROJECT}_production_newcomer_1`), 'not in the preview: stays');
    assert.ok(await exists('image', `holdfast/${PROJECT}-production-keeper:v1`), 'a rollback would need it');
    assert.ok(await exists('container', `${PROJECT}-foreign`), 'foreign container stays');
    assert.ok(await exists('image', `${PROJECT}-foreign/tool:1`), 'foreign image stays');
  });

  it('the CLI run removes what its own preview listed', async () => {
    const dry = await holdfast('server', 'cleanup', 'edge', '-n', PROJECT, '--dry-run');
    assert.deepEqual(listed(dry.stdout), [`container hf_${PROJECT}_production_newcomer_1`]);
    const run = await holdfast('server', 'cleanup', 'server/edge', '-n', PROJECT);
    assert.equal(run.code, 0, run.stderr);
    assert.match(run.stdout, new RegExp(`^container hf_${PROJECT}_production_newcomer_1 removed$`, 'm'));
    assert.match(run.stdout, /^freed [\d.]+ (B|KiB|MiB) on server edge$/m);
    assert.equal(await exists('container', `hf_${PROJECT}_production_newcomer_1`), false);
    assert.ok(await exists('container', `${PROJECT}-foreign`));

    const again = await holdfast('server', 'cleanup', 'edge', '-n', PROJECT, '--dry-run');
    assert.match(again.stdout, /^nothing to clean up on server edge$/m);
  });

  it('is audited and on the Server events', async () => {
    const audit = await api('GET', '/auditlog?kind=Server&name=edge');
    const rows = (audit.body.items as Array<{ verb: string; actor: string; message?: string }>).filter((r) => r.verb === 'cleanup');
    assert.equal(rows.length, 2, JSON.stringify(rows));
    assert.match(rows[0]!.message!, new RegExp(`^removed 4 objects \\([\\d.]+ \\w+\\): container hf_${PROJECT}_production_old_1, .*; 1 new since the preview, kept: container hf_${PROJECT}_production_newcomer_1; project ${PROJECT} only$`));
    const events = await api('GET', '/namespaces/default/events');
    const cleanups = (events.body.items as Array<{ reason: string; involvedObject: { kind: string; name: string } }>).filter((e) => e.reason === 'Cleanup');
    assert.equal(cleanups.length, 2);
    assert.ok(cleanups.every((e) => e.involvedObject.kind === 'Server' && e.involvedObject.name === 'edge'));
  });

  it('needs server:plan (or server:cleanup) to preview and server:cleanup to run', async () => {
    const token = async (name: string, scopes: string) => {
      const made = await holdfast('token', 'create', '--name', name, '--scopes', scopes);
      assert.equal(made.code, 0, made.stderr);
      return made.stdout.trim();
    };
    const reader = await token('reader', 'server:read');
    const planner = await token('planner', 'server:plan');
    assert.equal((await api('GET', '/servers/edge/cleanup', undefined, reader)).status, 403);
    assert.equal((await api('GET', '/servers/edge/cleanup', undefined, planner)).status, 200);
    const refused = await api('POST', '/servers/edge/cleanup', { items: [] }, planner);
    assert.equal(refused.status, 403);
    assert.match(refused.body.message, /needs server:cleanup/);
    // Something to remove, so the CLI gets as far as the run: it previews, then is refused, and nothing goes.
    await hostDocker(host, 'create', '--name', `hf_${PROJECT}_production_late_1`, ...labels('late'), 'holdfast-test/busybox:1', 'true');
    const cli = await runCli(['server', 'cleanup', 'edge', '-n', PROJECT], { ...env, HOLDFAST_TOKEN: planner });
    assert.equal(cli.code, 1);
    assert.match(cli.stdout, new RegExp(`^container\\s+hf_${PROJECT}_production_late_1\\s`, 'm'));
    assert.match(cli.stderr, /Forbidden.*server:cleanup/);
    assert.ok(await exists('container', `hf_${PROJECT}_production_late_1`));
  });
  it("runs on the Server's schedule (spec.cleanup) by the same rules, audited and on the events", async () => {
    // What the refused run above left behind is the one object of this project to go.
    const late = `hf_${PROJECT}_production_late_1`;
    const patched = await api('PATCH', '/servers/edge', { spec: { cleanup: { schedule: '* * * * *', project: PROJECT } } });
    assert.equal(patched.status, 200, patched.text);
    const cleanupStatus = async () => (await api('GET', '/servers/edge')).body as { status?: { cleanup?: { nextScheduleTime?: string; lastScheduleTime?: string; lastResult?: string } } };
    const next = await until('the next scheduled time in status', async () => (await cleanupStatus()).status?.cleanup?.nextScheduleTime);
    assert.ok(Date.parse(next) - Date.now() <= 60_000, next);
    const ran = await until('the scheduled cleanup to run', async () => {
      const cleanup = (await cleanupStatus()).status?.cleanup;
      return cleanup?.lastScheduleTime ? cleanup : undefined;
    }, 150_000);
    assert.match(ran.lastResult!, new RegExp(`^removed 1 object \\([\\d.]+ \\w+\\): container ${late}; project ${PROJECT} only$`));
    assert.ok(Date.parse(ran.nextScheduleTime!) > Date.parse(ran.lastScheduleTime!), 'the next run is after this one');
    assert.equal(await exists('container', late), false);
    assert.ok(await exists('container', `${PROJECT}-foreign`), 'foreign container stays');
    assert.ok(await exists('image', `holdfast/${PROJECT}-production-keeper:v1`), 'a rollback would need it');

    const audit = await api('GET', '/auditlog?kind=Server&name=edge');
    const rows = (audit.body.items as Array<{ verb: string; actor: string; message?: string }>).filter((r) => r.verb === 'cleanup' && r.actor === 'system:controller:server');
    assert.ok(rows.length >= 1 && rows.every((r) => r.message!.startsWith('scheduled (spec.cleanup): ')), JSON.stringify(rows));
    const events = await api('GET', '/namespaces/default/events');
    const scheduled = (events.body.items as Array<{ reason: string; message: string }>).filter((e) => e.reason === 'Cleanup' && e.message.startsWith('scheduled (spec.cleanup): '));
    assert.ok(scheduled.some((e) => e.message.includes(`container ${late}`)), JSON.stringify(scheduled));

    const unscheduled = await api('PATCH', '/servers/edge', { spec: { cleanup: null } });
    assert.equal(unscheduled.status, 200, unscheduled.text);
    await until('status.cleanup to go with the schedule', async () => ((await cleanupStatus()).status?.cleanup ? undefined : true));
  });
});
