// The canary test, on PGlite and PostgreSQL: a secret value is planted, referenced by a Service,
// resolved as the deployment executor would, quoted in a controller's Event, in a status condition,
// in a failing request and in log lines; then every API answer (objects, lists, tables, dry runs,
// errors, watch stream, audit log), every log line and a full dump of the database are searched for
// it, in plain and base64 form: zero hits. A deployment record whose step log and failure message
// quote the value stands in for a failing rollout (the rollout itself needs a test host).
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import { after, before, describe, it } from 'node:test';
import { sql } from 'drizzle-orm';
import { StoreEventRecorder } from '../../../controllers/events.js';
import { createLogger } from '../../../observability/logger.js';
import { resolveSecretValue } from '../../../security/secret-values.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';
import { partialFrozen } from '../../support/frozen.js';

const G = '/apis/holdfast.dev/v1alpha1';
const CANARY = 'canary-Q7x!9v$Lk2#pZ';
const FORMS = [CANARY, Buffer.from(CANARY).toString('base64').replace(/=+$/, ''), Buffer.from(CANARY).toString('base64url')];
const leaks = (text: string) => FORMS.filter((f) => text.includes(f));

const service = {
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name: 'web', namespace: 'shop', annotations: { note: 'reads ${secret:db/password}' } },
  spec: {
    environment: 'production',
    server: 'edge-1',
    source: { image: 'holdfast-test/busybox:1' },
    env: [
      { name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } },
      { name: 'DB_URL', value: 'postgres://app:${secret:db/password}@db:5432/shop' },
    ],
  },
};

/** Every file under `dir`, read as bytes. */
function filesUnder(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name));
}

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`no secret value leaves the process on ${driver}`, () => {
    let cp: TestControlPlane;
    const outputs: Array<[string, string]> = [];
    const record = (what: string, body: unknown) => outputs.push([what, typeof body === 'string' ? body : JSON.stringify(body)]);
    const call = async (what: string, method: string, path: string, body?: unknown, headers?: Record<string, string>) => {
      const res = await cp.call(method, path, body, headers);
      record(`${what} (${method} ${path} → ${res.status})`, res.body);
      return res;
    };

    before(async () => {
      // The test writes status and deployments itself, as the controllers would.
      cp = await startTestControlPlane(driver, { parts: { startControllers: false } });
    });
    after(async () => cp.stop());

    it('plants the canary and exercises every way out', async () => {
      assert.equal((await call('project', 'POST', `${G}/projects`, { kind: 'Project', metadata: { name: 'shop' }, spec: { environments: [{ name: 'production' }] } })).status, 201);

      // A watch open across everything that follows.
      const watchAbort = new AbortController();
      const watch = await fetch(`${cp.url}${G}/namespaces/shop/services?watch=true`, { headers: { authorization: `Bearer ${cp.token}` }, signal: watchAbort.signal });
      let watchText = '';
      const watching = (async () => {
        try {
          for await (const chunk of watch.body as unknown as AsyncIterable<Uint8Array>) watchText += Buffer.from(chunk).toString('utf8');
        } catch {
          // aborted at the end
        }
      })();

      assert.equal((await call('secret create', 'POST', `${G}/namespaces/shop/secrets`, { kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, spec: { stringData: { password: CANARY } } })).status, 201);
      await call('secret dry-run replace', 'PUT', `${G}/namespaces/shop/secrets/db?dryRun=All`, { kind: 'Secret', metadata: { name: 'db', namespace: 'shop' }, spec: { data: { password: Buffer.from(CANARY).toString('base64') } } });
      await call('secret get', 'GET', `${G}/namespaces/shop/secrets/db`);
      await call('secret list', 'GET', `${G}/secrets`);
      await call('secret table', 'GET', `${G}/namespaces/shop/secrets`, undefined, { accept: 'application/json;as=Table;v=v1;g=meta.k8s.io' });

      await call('service dry-run', 'POST', `${G}/namespaces/shop/services?dryRun=All`, service);
      assert.equal((await call('service create', 'POST', `${G}/namespaces/shop/services`, service)).status, 201);
      await call('service get', 'GET', `${G}/namespaces/shop/services/web`);

      // The executor resolves the value on its way to the host: the one place it may appear.
      assert.equal(await resolveSecretValue(cp.plane.store, cp.plane.sealer, 'shop', 'db', 'password'), CANARY);

      // A controller quotes it in an Event and in a status condition (as a failing container's output might).
      const web = await cp.plane.store.mustGet('Service', 'shop', 'web');
      await new StoreEventRecorder(cp.plane.store, 'deployment-controller').record(web, 'Warning', 'ContainerFailed', `container exited: DB_PASSWORD=${CANARY} rejected`);
      const status = await call('status update', 'PUT', `${G}/namespaces/shop/services/web/status`, {
        ...web,
        status: { conditions: [{ type: 'Ready', status: 'False', reason: 'ContainerFailed', message: `env DB_URL=postgres://app:${CANARY}@db`, lastTransitionTime: new Date().toISOString() }] },
      });
      assert.equal(status.status, 200, JSON.stringify(status.body));
      assert.match(JSON.stringify(status.body), /\[REDACTED\]/, 'the condition message is masked, not dropped');

      // A failing deployment: its step log and its failure message quote the value.
      const deployment = await cp.plane.deployments.create({
        service: { uid: web.metadata.uid!, namespace: 'shop', name: 'web' }, generation: 1, trigger: 'user', actor: 'test', server: 'edge-1', frozen: partialFrozen(), specHash: 'x', deadlineMs: 60_000,
      });
      await cp.plane.deployments.setPhase(deployment.id, 'deploy');
      await cp.plane.deployments.startStep(deployment.id, 'start');
      await cp.plane.deployments.appendLog(deployment.id, 'start', [`+ exec app --db-password=${CANARY}`, `DB_URL=postgres://app:${CANARY}@db ready? no`]);
      await cp.plane.deployments.finishStep(deployment.id, 'start', 'failed', `container exited 1: bad password ${CANARY}`);
      await cp.plane.deployments.setPhase(deployment.id, 'failed', { reason: 'StartFailed', message: `start failed with DB_PASSWORD=${CANARY}` });
      await call('deployment record', 'GET', `${G}/deployments/${deployment.id}`);
      const stepLog = await call('deployment log', 'GET', `${G}/deployments/${deployment.id}/logs`);
      assert.match(String(stepLog.body), /--db-password=\[REDACTED\]/);
      await call('deployment log json', 'GET', `${G}/deployments/${deployment.id}/logs?format=json`);
      await call('deployment history', 'GET', `${G}/namespaces/shop/services/web/deployments`);

      // Errors that quote what the client sent.
      const bad = await call('invalid service', 'POST', `${G}/namespaces/shop/services`, { ...service, metadata: { name: 'web-bad', namespace: 'shop' }, spec: { ...service.spec, replicas: CANARY } });
      assert.equal(bad.status, 400);
      assert.match(bad.body.message + JSON.stringify(bad.body.details ?? {}), /\[REDACTED\]/);
      const missing = await call('not found', 'GET', `${G}/namespaces/shop/services/${encodeURIComponent(CANARY)}`);
      assert.equal(missing.status, 404);

      await call('events', 'GET', `${G}/namespaces/shop/events`);
      await call('service list', 'GET', `${G}/services`);
      await call('export', 'GET', `${G}/namespaces/shop/services?limit=500`);
      await call('audit log', 'GET', `${G}/auditlog?limit=500`);

      // Log lines, through the same redactor the server's logger uses.
      let logText = '';
      const sink = new Writable({ write: (chunk, _enc, done) => { logText += chunk; done(); } });
      const log = createLogger('debug', sink as never, cp.plane.redactor);
      log.info({ service: 'shop/web', env: { DB_PASSWORD: CANARY } }, `resolved DB_URL=postgres://app:${CANARY}@db`);
      log.error({ err: new Error(`docker: invalid env ${CANARY}`) }, 'create failed');
      log.warn({ header: `Basic ${Buffer.from(CANARY).toString('base64')}` }, 'registry auth');
      await new Promise((ok) => setImmediate(ok));
      assert.equal(logText.trim().split('\n').length, 3);
      for (const line of logText.trim().split('\n')) JSON.parse(line);
      record('log lines', logText);

      // Let the watch see the status change, then close it.
      const deadline = Date.now() + 10_000;
      while (!watchText.includes('ContainerFailed') && Date.now() < deadline) await new Promise((ok) => setTimeout(ok, 50));
      watchAbort.abort();
      await watching;
      assert.match(watchText, /ContainerFailed/, 'the watch saw the status update');
      record('watch stream', watchText);
    });

    it('finds the canary in no output', () => {
      assert.ok(outputs.length >= 15, `${outputs.length} outputs collected`);
      const found = outputs.flatMap(([what, text]) => leaks(text).map((form) => `${what}: ${form}`));
      assert.deepEqual(found, []);
    });

    it('finds the canary nowhere in the database', async () => {
      const db = cp.plane.database.db;
      const tables = (await db.execute(sql`select table_name from information_schema.tables where table_schema = 'public' and table_type = 'BASE TABLE'`)) as unknown as { rows: Array<{ table_name: string }> };
      const names = tables.rows.map((r) => r.table_name);
      for (const expected of ['resources', 'resource_changes', 'sealed_values', 'audit_log', 'api_tokens']) assert.ok(names.includes(expected), `${expected} was dumped`);
      let dump = '';
      for (const name of names) {
        const rows = (await db.execute(sql.raw(`select * from "${name}"`))) as unknown as { rows: unknown[] };
        dump += `${name}\n${JSON.stringify(rows.rows)}\n`;
      }
      assert.match(dump, /ContainerFailed/, 'the dump holds the event');
      assert.match(dump, /StartFailed/, 'the dump holds the deployment');
      assert.match(dump, /\[REDACTED\]/, 'stored messages are masked');
      assert.deepEqual(leaks(dump), [], 'select * of every table');

      if (driver === 'postgres') {
        const pgDump = execFileSync('pg_dump', ['--no-owner', cp.plane.config.databaseUrl!], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
        assert.match(pgDump, /COPY public\.resources/);
        assert.deepEqual(leaks(pgDump), [], 'pg_dump of the database');
      } else {
        // The embedded database's files on disk, write-ahead log included.
        await cp.plane.stop();
        const files = filesUnder(join(cp.dataDir, 'pgdata'));
        assert.ok(files.length > 50);
        const hits = files.filter((f) => statSync(f).size > 0 && leaks(readFileSync(f).toString('latin1')).length > 0);
        assert.deepEqual(hits, [], 'raw PGlite data files');
      }
    });
  });
}
