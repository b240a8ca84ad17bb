// The deployment routes on PGlite and PostgreSQL: a Service's history, one record, its log (whole,
// per step, as NDJSON, and followed while it is written), sync / rollback / cancel with their scopes
// and exactly one audit row each, and errors as Kubernetes Status objects.
//
// The service controller is not part of this test (its controllers do not run here): sync, rollback
// and cancel go to a small DeploymentActions that makes records with the DeploymentStore, which is
// all the routes depend on. The real rollouts are tested with the controller.
import assert from 'node:assert/strict';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { and, asc, eq } from 'drizzle-orm';
import { Admission } from '../../../controllers/admission.js';
import { createApp } from '../../../api/app.js';
import { HoldfastClient } from '../../../cli/client.js';
import { runLogs } from '../../../cli/commands/logs.js';
import type { CommandContext } from '../../../cli/context.js';
import type { DeploymentActions } from '../../../controllers/deployment-actions.js';
import { HoldfastError } from '../../../core/errors.js';
import type { FrozenInput } from '../../../core/deploy/container-spec.js';
import type { Service } from '../../../core/schema/types.generated.js';
import { silentLogger } from '../../../observability/logger.js';
import type { DeploymentStore } from '../../../store/deployments.js';
import { auditLog } from '../../../store/schema.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { until } from '../../support/until.js';
import { partialFrozen } from '../../support/frozen.js';

const G = '/apis/holdfast.dev/v1alpha1';
const SECRET_VALUE = 'pw-Zq8!rT4#deploy';
const project = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: 'shop' }, spec: { environments: [{ name: 'production' }] } };
const service = (name: string) => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name, namespace: 'shop' },
  spec: { environment: 'production', server: 'edge-1', source: { image: 'holdfast-test/busybox:1' } },
});

/** Records made as the service controller would queue them; rollback redeploys an earlier frozen input. */
function recordingActions(deployments: DeploymentStore): DeploymentActions {
  const queue = (svc: Service, actor: string, frozen: FrozenInput, trigger: 'user' | 'rollback', rollbackOf?: number) =>
    deployments.create({
      service: { uid: svc.metadata.uid!, namespace: svc.metadata.namespace!, name: svc.metadata.name },
      generation: svc.metadata.generation ?? 1,
      trigger,
      actor,
      server: String((svc.spec as { server?: string }).server),
      frozen,
      specHash: 'sha256:test',
      rollbackOf,
      deadlineMs: 60_000,
    });
  return {
    sync: (svc, actor) => queue(svc, actor, partialFrozen({ containers: [{ name: `${svc.metadata.name}-1`, env: { DB_PASSWORD: { sha256: 'hash-of-password' } } }] }), 'user'),
    async rollback(svc, toRevision, actor) {
      const latest = await deployments.latest(svc.metadata.uid!);
      const target = toRevision !== undefined ? await deployments.byRevision(svc.metadata.uid!, toRevision) : await deployments.lastCompleted(svc.metadata.uid!, latest?.revision);
      if (!target) throw new HoldfastError('BadRequest', `service "${svc.metadata.name}" has no revision ${toRevision ?? 'to roll back to'}`);
      return queue(svc, actor, target.frozen, 'rollback', target.revision);
    },
    async cancel(id) {
      return deployments.requestCancel(id);
    },
  };
}

async function readUntil(reader: ReadableStreamDefaultReader<Uint8Array>, have: { text: string }, done: (text: string) => boolean, ms = 10_000): Promise<void> {
  const deadline = Date.now() + ms;
  while (!done(have.text)) {
    if (Date.now() > deadline) throw new Error(`the stream did not deliver in ${ms} ms; got so far:\n${have.text}`);
    const { value, done: ended } = await reader.read();
    if (ended) throw new Error(`the stream ended early; got:\n${have.text}`);
    have.text += Buffer.from(value).toString('utf8');
  }
}

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`deployment API on ${driver}`, () => {
    let cp: TestControlPlane;
    let deployments: DeploymentStore;
    const tokens: Record<string, string> = {};
    const as = async (scope: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(cp.url + path, {
        method,
        headers: { authorization: `Bearer ${tokens[scope]}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, body: (await res.json()) as any };
    };
    const auditRows = (verb: string, name: string) =>
      cp.plane.database.db.select().from(auditLog).where(and(eq(auditLog.verb, verb), eq(auditLog.name, name))).orderBy(asc(auditLog.id));

    before(async () => {
      cp = await startTestControlPlane(driver, { parts: { startControllers: false, deploymentActions: ({ deployments: d }) => recordingActions(d) } });
      deployments = cp.plane.deployments;
      assert.equal((await cp.call('POST', `${G}/projects`, project)).status, 201);
      for (const name of ['web', 'api', 'quiet']) assert.equal((await cp.call('POST', `${G}/namespaces/shop/services`, service(name))).status, 201);
      for (const scope of ['deploy:read', 'deploy:start', 'deploy:cancel', 'deploy:rollback', 'service:read']) {
        tokens[scope] = (await cp.plane.tokens.create(scope.replace(':', '-'), [scope])).token;
      }
    });
    after(async () => cp.stop());

    it('answers an empty history for a service never deployed, and 404 Status for an unknown service', async () => {
      const empty = await cp.call('GET', `${G}/namespaces/shop/services/quiet/deployments`);
      assert.equal(empty.status, 200);
      assert.deepEqual(empty.body, { apiVersion: 'holdfast.dev/v1alpha1', kind: 'DeploymentList', metadata: {}, items: [] });
      const missing = await cp.call('GET', `${G}/namespaces/shop/services/nope/deployments`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.kind, 'Status');
      assert.equal(missing.body.reason, 'NotFound');
      assert.match(missing.body.message, /services\.holdfast\.dev "nope" not found/);
    });

    it('syncs (deploy:start), lists newest first without frozen inputs, and serves one record with its frozen input', async () => {
      const first = await as('deploy:start', 'POST', `${G}/namespaces/shop/services/web/sync`);
      assert.equal(first.status, 201, JSON.stringify(first.body));
      assert.equal(first.body.kind, 'Deployment');
      assert.equal(first.body.revision, 1);
      assert.equal(first.body.trigger, 'user');
      assert.equal(first.body.actor, 'token:deploy-start');
      assert.equal(first.body.frozen, undefined, 'the answer leaves the frozen input out');
      await deployments.setPhase(first.body.id, 'completed');
      const second = await cp.call('POST', `${G}/namespaces/shop/services/web/sync`);
      assert.equal(second.status, 201);

      const list = await as('deploy:read', 'GET', `${G}/namespaces/shop/services/web/deployments`);
      assert.equal(list.status, 200);
      assert.equal(list.body.kind, 'DeploymentList');
      assert.deepEqual(list.body.items.map((d: { revision: number }) => d.revision), [2, 1]);
      assert.deepEqual(list.body.items.map((d: { phase: string }) => d.phase), ['queued', 'completed']);
      for (const item of list.body.items) assert.ok(!('frozen' in item), 'list items carry no frozen input');
      const limited = await cp.call('GET', `${G}/namespaces/shop/services/web/deployments?limit=1`);
      assert.deepEqual(limited.body.items.map((d: { revision: number }) => d.revision), [2]);

      const one = await as('deploy:read', 'GET', `${G}/deployments/${first.body.id}`);
      assert.equal(one.status, 200);
      assert.equal(one.body.id, first.body.id);
      assert.deepEqual(one.body.frozen.containers[0].env.DB_PASSWORD, { sha256: 'hash-of-password' });
      assert.equal(one.body.steps.length, 7);

      const missing = await cp.call('GET', `${G}/deployments/d-000000000000`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.kind, 'Status');
      assert.equal(missing.body.message, 'deployment "d-000000000000" not found');
      assert.deepEqual(missing.body.details, { name: 'd-000000000000', kind: 'Deployment', group: 'holdfast.dev' });
    });

    it('refuses each route without its scope, and writes nothing when refused', async () => {
      const web = `${G}/namespaces/shop/services/web`;
      const [d] = await deployments.listForService('shop', 'web', 1);
      const before = (await auditRows('sync', 'web')).length;
      const cases: Array<[string, string, string, number]> = [
        ['service:read', 'GET', `${web}/deployments`, 403],
        ['service:read', 'GET', `${G}/deployments/${d.id}`, 403],
        ['deploy:read', 'POST', `${web}/sync`, 403],
        ['deploy:cancel', 'POST', `${web}/sync`, 403],
        ['deploy:start', 'POST', `${web}/rollback`, 403],
        ['deploy:start', 'POST', `${G}/deployments/${d.id}/cancel`, 403],
        ['deploy:read', 'GET', `${G}/deployments/${d.id}/logs`, 200],
      ];
      for (const [scope, method, path, want] of cases) {
        const res = await fetch(cp.url + path, { method, headers: { authorization: `Bearer ${tokens[scope]}` } });
        assert.equal(res.status, want, `${method} ${path} with ${scope}`);
        if (want === 403) {
          const body = await res.json();
          assert.equal(body.kind, 'Status');
          assert.match(body.message, /needs deploy:|needs service:/);
        } else await res.arrayBuffer();
      }
      assert.equal((await auditRows('sync', 'web')).length, before, 'a refused sync is no sync');
      assert.equal((await deployments.listForService('shop', 'web')).length, 2);
    });

    it('writes exactly one audit row per action, success or failure', async () => {
      const ok = await as('deploy:start', 'POST', `${G}/namespaces/shop/services/api/sync`);
      assert.equal(ok.status, 201);
      const synced = await auditRows('sync', 'api');
      assert.equal(synced.length, 1);
      assert.equal(synced[0].outcome, 'Success');
      assert.equal(synced[0].kind, 'Service');
      assert.equal(synced[0].namespace, 'shop');
      assert.equal(synced[0].actor, 'token:deploy-start');
      assert.equal(synced[0].message, `deployment ${ok.body.id} (revision 1)`);

      const unknown = await as('deploy:start', 'POST', `${G}/namespaces/shop/services/ghost/sync`);
      assert.equal(unknown.status, 404);
      assert.equal(unknown.body.kind, 'Status');
      const ghost = await auditRows('sync', 'ghost');
      assert.equal(ghost.length, 1);
      assert.equal(ghost[0].outcome, 'Failure');
      assert.match(ghost[0].message ?? '', /^NotFound: /);

      const canceled = await as('deploy:cancel', 'POST', `${G}/deployments/${ok.body.id}/cancel`);
      assert.equal(canceled.status, 200, JSON.stringify(canceled.body));
      assert.equal(canceled.body.cancelRequested, true);
      await deployments.setPhase(ok.body.id, 'canceled', { reason: 'Canceled', message: 'canceled by token:deploy-cancel' });
      const again = await as('deploy:cancel', 'POST', `${G}/deployments/${ok.body.id}/cancel`);
      assert.equal(again.status, 409);
      assert.equal(again.body.reason, 'Conflict');
      assert.match(again.body.message, /already ended \(canceled\)/);
      const cancels = await auditRows('cancel', ok.body.id);
      assert.deepEqual(cancels.map((r) => [r.outcome, r.kind, r.namespace]), [['Success', 'Deployment', 'shop'], ['Failure', 'Deployment', 'shop']]);

      const nothing = await as('deploy:cancel', 'POST', `${G}/deployments/d-nothing/cancel`);
      assert.equal(nothing.status, 404);
      assert.equal((await auditRows('cancel', 'd-nothing')).length, 1);
    });

    it('rolls back (deploy:rollback) to the last completed revision or a named one, and rejects bad bodies', async () => {
      const rb = await as('deploy:rollback', 'POST', `${G}/namespaces/shop/services/web/rollback`);
      assert.equal(rb.status, 201, JSON.stringify(rb.body));
      assert.equal(rb.body.trigger, 'rollback');
      assert.equal(rb.body.rollbackOf, 1);
      assert.equal(rb.body.revision, 3);
      const named = await as('deploy:rollback', 'POST', `${G}/namespaces/shop/services/web/rollback`, { toRevision: 2 });
      assert.equal(named.status, 201);
      assert.equal(named.body.rollbackOf, 2);

      const bad: Array<[unknown, RegExp]> = [
        [{ toRevision: 0 }, /toRevision must be a revision number/],
        [{ toRevision: '2' }, /toRevision must be a revision number/],
        [{ revision: 2 }, /unknown field "revision"/],
        [[2], /must be a JSON object/],
      ];
      for (const [body, message] of bad) {
        const res = await cp.call('POST', `${G}/namespaces/shop/services/web/rollback`, body);
        assert.equal(res.status, 400, JSON.stringify(body));
        assert.equal(res.body.kind, 'Status');
        assert.match(res.body.message, message);
      }
      const missing = await cp.call('POST', `${G}/namespaces/shop/services/web/rollback`, { toRevision: 99 });
      assert.equal(missing.status, 400);
      assert.match(missing.body.message, /no revision 99/);
      const rows = await auditRows('rollback', 'web');
      assert.deepEqual(rows.map((r) => r.outcome), ['Success', 'Success', 'Failure', 'Failure', 'Failure', 'Failure', 'Failure']);
    });

    it('serves the log as text, per step, and as NDJSON; with secret values masked', async () => {
      // A Secret makes its value known to the redactor; a log line that quotes it must not show it.
      const secret = { kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, spec: { stringData: { password: SECRET_VALUE } } };
      assert.equal((await cp.call('POST', `${G}/namespaces/shop/secrets`, secret)).status, 201);
      const d = await deployments.create({
        service: { uid: 'uid-logs', namespace: 'shop', name: 'logs' }, generation: 1, trigger: 'user', actor: 'test', server: 'edge-1', frozen: partialFrozen(), specHash: 'x', deadlineMs: 60_000,
      });
      await deployments.appendLog(d.id, 'pull', ['Pulling holdfast-test/busybox:1', 'Status: Image is up to date']);
      await deployments.appendLog(d.id, 'build', ['Step 1/2 : FROM busybox', `Step 2/2 : RUN echo ${SECRET_VALUE}`]);
      await deployments.setPhase(d.id, 'completed');

      const text = await fetch(`${cp.url}${G}/deployments/${d.id}/logs`, { headers: { authorization: `Bearer ${tokens['deploy:read']}` } });
      assert.equal(text.status, 200);
      assert.match(text.headers.get('content-type') ?? '', /^text\/plain/);
      const body = await text.text();
      assert.equal(
        body,
        'pull      Pulling holdfast-test/busybox:1\npull      Status: Image is up to date\nbuild     Step 1/2 : FROM busybox\nbuild     Step 2/2 : RUN echo [REDACTED]\n',
      );

      const build = await cp.call('GET', `${G}/deployments/${d.id}/logs?step=build`);
      assert.equal(build.body, 'build     Step 1/2 : FROM busybox\nbuild     Step 2/2 : RUN echo [REDACTED]\n');

      const json = await fetch(`${cp.url}${G}/deployments/${d.id}/logs?format=json&step=pull`, { headers: { authorization: `Bearer ${cp.token}` } });
      assert.match(json.headers.get('content-type') ?? '', /^application\/x-ndjson/);
      const lines = (await json.text()).trim().split('\n').map((l) => JSON.parse(l));
      assert.deepEqual(lines.map((l) => [l.step, l.line]), [['pull', 'Pulling holdfast-test/busybox:1'], ['pull', 'Status: Image is up to date']]);
      assert.ok(lines.every((l) => typeof l.id === 'number' && typeof l.at === 'string'));
      const after = await fetch(`${cp.url}${G}/deployments/${d.id}/logs?format=json&after=${lines[0].id}`, { headers: { authorization: `Bearer ${cp.token}` } });
      assert.deepEqual(
        (await after.text()).trim().split('\n').map((l) => (JSON.parse(l) as { line: string }).line),
        ['Status: Image is up to date', 'Step 1/2 : FROM busybox', 'Step 2/2 : RUN echo [REDACTED]'],
        'after=ID gives only the lines written after that one',
      );
      const badAfter = await cp.call('GET', `${G}/deployments/${d.id}/logs?after=-1`);
      assert.equal(badAfter.status, 400);
      assert.equal(badAfter.body.message, 'invalid after value "-1": use the id of a log line (a whole number, as format=json gives)');

      const badStep = await cp.call('GET', `${G}/deployments/${d.id}/logs?step=biuld`);
      assert.equal(badStep.status, 400);
      assert.match(badStep.body.message, /unknown step "biuld": a deployment's steps are clone, build, pull/);
      const missing = await cp.call('GET', `${G}/deployments/d-gone/logs?follow=true`);
      assert.equal(missing.status, 404);
      assert.equal(missing.body.kind, 'Status');
    });

    it('follows a running deployment: lines arrive as they are written, and the stream ends when the deployment does', async () => {
      const d = await deployments.create({
        service: { uid: 'uid-follow', namespace: 'shop', name: 'follow' }, generation: 1, trigger: 'user', actor: 'test', server: 'edge-1', frozen: partialFrozen(), specHash: 'x', deadlineMs: 60_000,
      });
      await deployments.setPhase(d.id, 'prepare');
      await deployments.appendLog(d.id, 'pull', ['before the follow']);
      const res = await fetch(`${cp.url}${G}/deployments/${d.id}/logs?follow=true`, { headers: { authorization: `Bearer ${cp.token}` } });
      assert.equal(res.status, 200);
      const reader = res.body!.getReader();
      const have = { text: '' };
      await readUntil(reader, have, (t) => t.includes('before the follow'));

      // Written after the follow started: it arrives while the deployment still runs.
      const started = Date.now();
      await deployments.appendLog(d.id, 'start', ['container web-1 started']);
      await readUntil(reader, have, (t) => t.includes('container web-1 started'));
      assert.ok(Date.now() - started < 1500, 'a change notice, not the poll, delivered the line');

      await deployments.appendLog(d.id, 'health', ['healthy after 1 probe']);
      await deployments.setPhase(d.id, 'completed');
      for (;;) {
        const { value, done } = await reader.read();
        if (done) break;
        have.text += Buffer.from(value).toString('utf8');
      }
      assert.equal(have.text, 'pull      before the follow\nstart     container web-1 started\nhealth    healthy after 1 probe\n');
    });

    it('streams a followed log through the CLI (holdfast logs --follow) as it is written', async () => {
      const d = await deployments.create({
        service: { uid: 'uid-cli', namespace: 'shop', name: 'cli' }, generation: 1, trigger: 'user', actor: 'test', server: 'edge-1', frozen: partialFrozen(), specHash: 'x', deadlineMs: 60_000,
      });
      await deployments.setPhase(d.id, 'deploy');
      let out = '';
      let wrote: () => void = () => {};
      const ctx: CommandContext = {
        out: (text) => {
          out += text;
          wrote();
        },
        err: (text) => assert.fail(`unexpected error output: ${text}`),
        now: () => new Date(),
        client: async () => new HoldfastClient({ server: cp.url, token: cp.token, tokenSource: 'test', requestTimeoutMs: 5000 }),
        interruptSignal: () => new AbortController().signal,
      };
      const until = (text: string) =>
        new Promise<void>((ok, fail) => {
          const timer = setTimeout(() => fail(new Error(`"${text}" did not arrive; got: ${out}`)), 5000);
          wrote = () => {
            if (out.includes(text)) {
              clearTimeout(timer);
              ok();
            }
          };
          wrote();
        });
      const following = runLogs(ctx, [], { deployment: d.id, follow: true });
      await deployments.appendLog(d.id, 'start', ['first']);
      await until('first');
      await deployments.appendLog(d.id, 'health', ['second']);
      await until('second');
      await deployments.setPhase(d.id, 'completed');
      assert.equal(await following, 0);
      assert.equal(out, 'start     first\nhealth    second\n');
    });

    it('ends a follow at once for a deployment that already ended, and lets go of a follower that hangs up', async () => {
      const d = await deployments.create({
        service: { uid: 'uid-hangup', namespace: 'shop', name: 'hangup' }, generation: 1, trigger: 'user', actor: 'test', server: 'edge-1', frozen: partialFrozen(), specHash: 'x', deadlineMs: 60_000,
      });
      const listeners = () => (deployments as unknown as { listeners: Set<unknown> }).listeners.size;
      const baseline = listeners();
      const abort = new AbortController();
      const res = await fetch(`${cp.url}${G}/deployments/${d.id}/logs?follow=true`, { headers: { authorization: `Bearer ${cp.token}` }, signal: abort.signal });
      assert.equal(res.status, 200);
      assert.equal(listeners(), baseline + 1, 'the follower listens for changes');
      abort.abort();
      const deadline = Date.now() + 5000;
      while (listeners() !== baseline && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 20));
      assert.equal(listeners(), baseline, 'a client that hangs up is let go');

      await deployments.setPhase(d.id, 'failed', { reason: 'DeadlineExceeded', message: 'did not finish in time' });
      const t0 = Date.now();
      const ended = await cp.call('GET', `${G}/deployments/${d.id}/logs?follow=true`);
      assert.equal(ended.status, 200);
      assert.equal(ended.body, '');
      assert.ok(Date.now() - t0 < 1500, 'no wait for a deployment that already ended');
    });
  });
}

describe('deployment actions without a service controller', () => {
  let cp: TestControlPlane;
  let server: Server;
  let url: string;
  before(async () => {
    cp = await startTestControlPlane('pglite', { parts: { startControllers: false } });
    assert.equal((await cp.call('POST', `${G}/projects`, project)).status, 201);
    assert.equal((await cp.call('POST', `${G}/namespaces/shop/services`, service('web'))).status, 201);
    // The same stores served by an app that was given no deployment actions.
    const app = createApp({
      store: cp.plane.store,
      admission: new Admission(cp.plane.store, cp.plane.sealer),
      tokens: cp.plane.tokens,
      log: silentLogger,
      version: 'test',
      ready: async () => true,
      redactor: cp.plane.redactor,
      deployments: cp.plane.deployments,
    });
    server = createServer(app);
    await new Promise<void>((ok) => server.listen(0, '127.0.0.1', ok));
    url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });
  after(async () => {
    await new Promise((ok) => server.close(ok));
    await cp.stop();
  });

  it('answers 503 with a reason for sync, and still serves the (empty) history', async () => {
    const headers = { authorization: `Bearer ${cp.token}` };
    const sync = await fetch(`${url}${G}/namespaces/shop/services/web/sync`, { method: 'POST', headers });
    assert.equal(sync.status, 503);
    const body = await sync.json();
    assert.equal(body.kind, 'Status');
    assert.equal(body.reason, 'ServiceUnavailable');
    assert.match(body.message, /service controller is not running/);
    const history = await fetch(`${url}${G}/namespaces/shop/services/web/deployments`, { headers });
    assert.equal(history.status, 200);
    assert.deepEqual((await history.json()).items, []);
  });
});

describe('deployment actions of the service controller', () => {
  let cp: TestControlPlane;
  before(async () => {
    cp = await startTestControlPlane('pglite');
    assert.equal((await cp.call('POST', `${G}/projects`, project)).status, 201);
    assert.equal((await cp.call('POST', `${G}/namespaces/shop/services`, service('web'))).status, 201);
  });
  after(async () => cp.stop());

  it('refuses a sync while the server is missing: a clear 503, one failure audit row, no deployment', async () => {
    // The controller does not roll out to a server that does not exist: it waits for it, saying ServerNotFound.
    const status = await until('the Service to wait for its server', async () => {
      const svc = (await cp.call('GET', `${G}/namespaces/shop/services/web`)).body;
      const progressing = svc.status?.conditions?.find((c: { type: string }) => c.type === 'Progressing');
      return progressing?.reason === 'ServerNotFound' ? progressing : undefined;
    }, 20_000);
    assert.match(status.message, /server edge-1 does not exist/);
    const sync = await cp.call('POST', `${G}/namespaces/shop/services/web/sync`);
    assert.equal(sync.status, 503, JSON.stringify(sync.body));
    assert.equal(sync.body.kind, 'Status');
    assert.match(sync.body.message, /cannot deploy shop\/web now: server edge-1 does not exist/);
    const rows = await cp.plane.database.db.select().from(auditLog).where(and(eq(auditLog.verb, 'sync'), eq(auditLog.name, 'web')));
    assert.deepEqual(rows.map((r) => r.outcome), ['Failure']);
    const history = await cp.call('GET', `${G}/namespaces/shop/services/web/deployments`);
    assert.deepEqual(history.body.items, []);
  });
});
