// The redactor cannot be turned against the API, on PGlite and PostgreSQL: Secret values equal to
// words the API emits (its apiVersion, a field name, "Bearer") mask nothing, so responses, discovery
// and the CLI keep working; a deleted Secret's values stop being masked at once; and neither a
// dry run of a Secret nor one of a Service tells a caller whether a guessed value is a stored one.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { packageRoot } from '../../../core/package-root.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';

const run = promisify(execFile);
const G = '/apis/holdfast.dev/v1alpha1';
const project = (name: string) => ({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name }, spec: { environments: [{ name: 'production' }] } });
const secret = (namespace: string, name: string, stringData: Record<string, string>) => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Secret',
  metadata: { name, namespace },
  spec: { stringData },
});
const service = (namespace: string, value: string) => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Service',
  metadata: { name: 'web', namespace },
  spec: { environment: 'production', server: 'edge-1', source: { image: 'busybox:1' }, env: [{ name: 'GUESS', value }] },
});

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`the redactor cannot be turned against responses on ${driver}`, () => {
    let cp: TestControlPlane;
    const as = async (token: string, method: string, path: string, body?: unknown) => {
      const res = await fetch(cp.url + path, {
        method,
        headers: { authorization: `Bearer ${token}`, ...(body !== undefined ? { 'content-type': 'application/json' } : {}) },
        body: body === undefined ? undefined : JSON.stringify(body),
      });
      return { status: res.status, text: await res.text() };
    };
    const tokenWith = async (name: string, scopes: string[]) => (await cp.call('POST', `${G}/tokens`, { name, scopes })).body.token as string;
    /** The CLI from source, against this control plane with `token`. */
    const holdfast = async (token: string, ...args: string[]) => {
      const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: process.env.HOME ?? '/tmp', HOLDFAST_URL: cp.url, HOLDFAST_TOKEN: token };
      try {
        const { stdout } = await run(process.execPath, ['--import', 'tsx', 'cli/main.ts', ...args], { cwd: packageRoot(), env, timeout: 60_000 });
        return { code: 0, stdout };
      } catch (err) {
        const e = err as { code?: number; stdout?: string; stderr?: string };
        return { code: e.code ?? 1, stdout: `${e.stdout ?? ''}${e.stderr ?? ''}` };
      }
    };

    before(async () => {
      cp = await startTestControlPlane(driver, { parts: { startControllers: false } });
      for (const name of ['shop', 'other']) assert.equal((await cp.call('POST', `${G}/projects`, project(name))).status, 201);
    });
    after(async () => cp.stop());

    it('masks nothing of the API with values equal to its own words', async () => {
      const words = { apiVersion: 'holdfast.dev/v1alpha1', field: 'metadata', scheme: 'Bearer' };
      assert.equal((await cp.call('POST', `${G}/namespaces/shop/secrets`, secret('shop', 'words', words))).status, 201);
      assert.equal((await cp.call('POST', `${G}/namespaces/shop/services`, service('shop', 'plain'))).status, 201);
      for (const path of [`${G}/namespaces/shop/services/web`, `${G}/services`, `${G}/namespaces/shop/secrets/words`, G, '/apis', '/api']) {
        const res = await as(cp.token, 'GET', path);
        assert.equal(res.status, 200, `${path}: ${res.text}`);
        assert.doesNotMatch(res.text, /REDACTED/, path);
      }
      const got = JSON.parse((await as(cp.token, 'GET', `${G}/namespaces/shop/services/web`)).text);
      assert.equal(got.apiVersion, 'holdfast.dev/v1alpha1');
      assert.equal(got.metadata.name, 'web');
      const cli = await holdfast(cp.token, 'get', 'services', '-n', 'shop', '-o', 'json');
      assert.equal(cli.code, 0, cli.stdout);
      assert.equal(JSON.parse(cli.stdout).items[0].apiVersion, 'holdfast.dev/v1alpha1');
      const discovery = await holdfast(cp.token, 'api-resources');
      assert.equal(discovery.code, 0, discovery.stdout);
      assert.match(discovery.stdout, /services/);
    });

    it('stops masking a deleted Secret\'s values at once', async () => {
      const value = 'deleted-secret-value-7f3a';
      assert.equal((await cp.call('POST', `${G}/namespaces/shop/secrets`, secret('shop', 'short-lived', { token: value }))).status, 201);
      const quoted = { type: 'Ready', status: 'False', reason: 'Quoted', message: `saw ${value}`, lastTransitionTime: new Date().toISOString() };
      const web = (await cp.call('GET', `${G}/namespaces/shop/services/web`)).body;
      const masked = await cp.call('PUT', `${G}/namespaces/shop/services/web/status`, { ...web, status: { conditions: [quoted] } });
      assert.equal(masked.body.status.conditions[0].message, 'saw [REDACTED]');
      assert.equal((await cp.call('DELETE', `${G}/namespaces/shop/secrets/short-lived`)).status, 200);
      assert.equal(cp.plane.redactor.redactText(value), value);
      const after = (await cp.call('GET', `${G}/namespaces/shop/services/web`)).body;
      const plain = await cp.call('PUT', `${G}/namespaces/shop/services/web/status`, { ...after, status: { conditions: [quoted] } });
      assert.equal(plain.body.status.conditions[0].message, `saw ${value}`);
    });

    it('answers a dry-run Secret write the same for a right and a wrong guess, and learns neither', async () => {
      const stored = 'stored-password-91c2';
      assert.equal((await cp.call('POST', `${G}/namespaces/shop/secrets`, secret('shop', 'db', { password: stored }))).status, 201);
      const planner = await tokenWith('secret-planner', ['secret:plan']);
      const current = (await cp.call('GET', `${G}/namespaces/shop/secrets/db`)).body;
      const guess = async (value: string) => {
        const res = await as(planner, 'PUT', `${G}/namespaces/shop/secrets/db?dryRun=All`, { ...secret('shop', 'db', { password: value }), metadata: current.metadata });
        assert.equal(res.status, 200, res.text);
        const body = JSON.parse(res.text);
        return { generation: body.metadata.generation, spec: body.spec, status: body.status };
      };
      const right = await guess(stored);
      const wrong = await guess('wrong-guess-0000');
      assert.deepEqual(right, wrong);
      assert.equal(right.generation, current.metadata.generation + 1, 'every given value counts as changed');
      assert.equal(cp.plane.redactor.redactText('wrong-guess-0000'), 'wrong-guess-0000', 'a dry run registers nothing with the redactor');

      // holdfast diff with that token: the same answer for both guesses.
      const diff = async (value: string) => {
        const dir = mkdtempSync(join(tmpdir(), 'hf-diff-'));
        try {
          writeFileSync(join(dir, 'db.yaml'), JSON.stringify(secret('shop', 'db', { password: value })));
          const reader = await tokenWith(`diff-${value.slice(0, 5)}`, ['secret:read', 'secret:plan']);
          return await holdfast(reader, 'diff', '-f', join(dir, 'db.yaml'));
        } finally {
          rmSync(dir, { recursive: true, force: true });
        }
      };
      const [diffRight, diffWrong] = [await diff(stored), await diff('wrong-guess-0000')];
      assert.equal(diffRight.code, 1, diffRight.stdout);
      assert.deepEqual(diffRight, diffWrong);

      // A caller who may write the values (and could replace them anyway) keeps the comparison.
      const asWriter = await as(cp.token, 'PUT', `${G}/namespaces/shop/secrets/db?dryRun=All`, { ...secret('shop', 'db', { password: stored }), metadata: current.metadata });
      assert.equal(JSON.parse(asWriter.text).metadata.generation, current.metadata.generation);
    });

    it('does not answer a dry-run Service for another namespace\'s secret values', async () => {
      const elsewhere = 'other-namespace-secret-55d1';
      assert.equal((await cp.call('POST', `${G}/namespaces/other/secrets`, secret('other', 'key', { value: elsewhere }))).status, 201);
      const planner = await tokenWith('service-planner', ['service:plan']);
      const dry = await as(planner, 'POST', `${G}/namespaces/shop/services?dryRun=All`, { ...service('shop', elsewhere), metadata: { name: 'probe', namespace: 'shop' } });
      assert.equal(dry.status, 201, dry.text);
      assert.equal(JSON.parse(dry.text).spec.env[0].value, elsewhere);
      // Where resolved values can reach (a status message), the value is still masked.
      assert.equal(cp.plane.redactor.redactText(`saw ${elsewhere}`), 'saw [REDACTED]');
    });
  });
}
