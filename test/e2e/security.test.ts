// The security baseline as a user meets it: the built `holdfast` CLI against `holdfast serve`, both
// child processes, on the embedded database and on PostgreSQL.
//  - tokens: create (shown once), list (prefix only), use, revoke; unknown scopes; audit.
//  - the canary: a secret value set with `secret set`, referenced by a Service, then apply, diff,
//    dry run, get -o yaml, describe, events, audit, an export and the server's own log are searched
//    for it, and so is the database (pg_dump, or the embedded database's files): zero hits.
//  - key rotation killed halfway (the server exits after N rows), then run again after a restart:
//    every value opens under the new key, unchanged, with its hash unchanged.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { load } from 'js-yaml';
import { runCli } from '../support/cli-process.js';
import { loadSealer, sealedValueAad } from '../../security/sealing.js';
import { openDatabase } from '../../store/database.js';
import { resources, sealedValues } from '../../store/schema.js';
import { eq } from 'drizzle-orm';
import { createDatabase, startPostgres, type PostgresServer } from '../support/postgres.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

const CANARY = `canary-${randomBytes(9).toString('base64url')}`;
const FORMS = [CANARY, Buffer.from(CANARY).toString('base64').replace(/=+$/, ''), Buffer.from(CANARY).toString('base64url')];
const leaks = (text: string) => FORMS.filter((f) => text.includes(f));

const manifests = (dir: string) => {
  writeFileSync(
    join(dir, 'shop.yaml'),
    `apiVersion: holdfast.dev/v1alpha1
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
  server: edge-1
  source: { image: holdfast-test/busybox:1 }
  env:
    - { name: DB_PASSWORD, valueFrom: { secretKeyRef: { name: db, key: password } } }
    - { name: DB_URL, value: "postgres://app:\${secret:db/password}@db:5432/shop" }
`,
  );
  // A Secret manifest carrying the value in clear, as users keep them in private repositories.
  writeFileSync(
    join(dir, 'secret.yaml'),
    `apiVersion: holdfast.dev/v1alpha1
kind: Secret
metadata: { name: api, namespace: shop }
spec:
  stringData: { token: "${CANARY}-api" }
`,
  );
};

/** Files under `dir` that hold the canary in any form: the embedded database's data and log. */
function rawFileHits(dir: string): string[] {
  return readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile())
    .map((e) => join(e.parentPath ?? e.path, e.name))
    .filter((f) => statSync(f).size > 0 && leaks(readFileSync(f).toString('latin1')).length > 0);
}

/** A PostgreSQL database for one serve process, or none for the embedded one. */
async function databaseFor(driver: 'pglite' | 'postgres'): Promise<{ env: Record<string, string>; url?: string; server?: PostgresServer }> {
  if (driver === 'pglite') return { env: {} };
  const server = await startPostgres();
  const url = await createDatabase(server.url, 'hf_e2e_' + randomBytes(5).toString('hex'));
  return { env: { DATABASE_URL: url }, url, server };
}

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`security from the command line on ${driver}`, () => {
    let serve: ServeProcess;
    let db: Awaited<ReturnType<typeof databaseFor>>;
    let env: Record<string, string>;
    let work: string;
    let serveDir: string;
    const outputs: Array<[string, string]> = [];
    const cli = async (args: string[], extraEnv: Record<string, string> = {}) => {
      const run = await runCli(args, { ...env, ...extraEnv });
      outputs.push([`holdfast ${args.join(' ')}`, run.stdout + run.stderr]);
      return run;
    };

    before(async () => {
      db = await databaseFor(driver);
      work = mkdtempSync(join(tmpdir(), 'hf-e2e-sec-'));
      serveDir = mkdtempSync(join(tmpdir(), 'hf-e2e-serve-'));
      serve = await startServeProcess({ dataDir: serveDir, env: db.env, args: ['--log-level', 'debug'] });
      env = { HOLDFAST_URL: serve.url, HOLDFAST_TOKEN: serve.token };
      manifests(work);
    });
    after(async () => {
      await serve?.stop();
      await db?.server?.stop();
      rmSync(work, { recursive: true, force: true });
      rmSync(serveDir, { recursive: true, force: true });
    });

    it('creates, lists, uses and revokes tokens, and audits each step', async () => {
      const created = await cli(['token', 'create', '--name', 'ci', '--scopes', 'project:read,audit:read', '--expires', '30d']);
      assert.equal(created.code, 0, created.stderr);
      const token = created.stdout.trim();
      assert.match(token, /^hft_[A-Za-z0-9_-]{40}$/, 'stdout is the token alone');
      assert.match(created.stderr, /only time its value is shown/);

      const list = await cli(['token', 'list']);
      assert.equal(list.code, 0, list.stderr);
      assert.match(list.stdout, /^NAME\s+ID\s+PREFIX\s+SCOPES\s+CREATED\s+EXPIRES\s+LAST USED\s+REVOKED/);
      assert.match(list.stdout, new RegExp(`ci\\s+\\S+\\s+${token.slice(0, 12).replace(/[-]/g, '\\-')}…\\s+project:read,audit:read\\s+\\S+\\s+in 29d`));
      assert.ok(!list.stdout.includes(token), 'the value is never listed');

      const asCi = await cli(['get', 'projects'], { HOLDFAST_TOKEN: token });
      assert.equal(asCi.code, 0, asCi.stderr);
      const denied = await cli(['apply', '-f', join(work, 'shop.yaml')], { HOLDFAST_TOKEN: token });
      assert.equal(denied.code, 1);
      assert.match(denied.stderr, /Forbidden.*needs project:write/);

      const bad = await cli(['token', 'create', '--name', 'bad', '--scopes', 'deploy:everything']);
      assert.equal(bad.code, 1);
      assert.match(bad.stderr, /unknown scope "deploy:everything"; valid scopes: .*deploy:read, deploy:start/);

      const revoked = await cli(['token', 'revoke', 'ci']);
      assert.equal(revoked.code, 0, revoked.stderr);
      const after = await cli(['get', 'projects'], { HOLDFAST_TOKEN: token });
      assert.equal(after.code, 1);
      assert.match(after.stderr, /was not accepted/);
      assert.match((await cli(['token', 'list'])).stdout, /ci\s+.*ago\s*$/m, 'the revoked token shows when it was revoked');

      const audit = await cli(['audit', '--since', '1h', '--kind', 'Token', '-o', 'json']);
      assert.equal(audit.code, 0, audit.stderr);
      const events = JSON.parse(audit.stdout).items as Array<{ verb: string; name: string; outcome: string; actor: string }>;
      assert.deepEqual(
        events.filter((e) => e.actor === 'token:admin').map((e) => [e.verb, e.name, e.outcome]),
        [['create', 'ci', 'Success'], ['create', 'bad', 'Failure'], ['revoke', 'ci', 'Success']],
      );
      const table = await cli(['audit', '--since', '1h']);
      assert.match(table.stdout, /^TIME\s+ACTOR\s+VERB\s+OBJECT\s+OUTCOME\s+MESSAGE/);
      assert.match(table.stdout, /token:admin\s+revoke\s+token\/ci\s+Success/);
    });

    it('never shows a secret value: apply, secret set, diff, dry run, get, describe, events, audit, export, server log, database', async () => {
      assert.equal((await cli(['apply', '-f', join(work, 'shop.yaml')])).code, 0);
      writeFileSync(join(work, 'cert.pem'), `-----BEGIN-----\n${CANARY}-file\n-----END-----\n`);
      const set = await cli(['secret', 'set', 'db', `password=${CANARY}`, 'user=app-user', '--from-file', `tls.crt=${join(work, 'cert.pem')}`, '-n', 'shop']);
      assert.equal(set.code, 0, set.stderr);
      assert.equal(set.stdout, 'secret/db created (set: password, tls.crt, user; keys now: password, tls.crt, user)\n');
      const again = await cli(['secret', 'set', 'db', 'host=db.internal', '-n', 'shop']);
      assert.match(again.stdout, /secret\/db configured \(set: host; keys now: host, password, tls.crt, user\)/);
      const wrong = await cli(['secret', 'set', 'db', CANARY, '-n', 'shop']);
      assert.equal(wrong.code, 1);
      assert.match(wrong.stderr, /not KEY=VALUE/);

      assert.equal((await cli(['apply', '-f', join(work, 'secret.yaml')])).code, 0);
      const diff = await cli(['diff', '-f', work]);
      assert.ok(diff.code === 0 || diff.code === 1, diff.stderr);
      writeFileSync(join(work, 'secret.yaml'), readFileSync(join(work, 'secret.yaml'), 'utf8').replace(`${CANARY}-api`, `${CANARY}-changed`));
      const changed = await cli(['diff', '-f', join(work, 'secret.yaml')]);
      assert.equal(changed.code, 1, changed.stderr);
      assert.match(changed.stdout, /write-only values differ/);
      const dry = await cli(['apply', '--dry-run=server', '-f', work]);
      assert.equal(dry.code, 0, dry.stderr);

      const yaml = await cli(['get', 'secret', 'db', '-n', 'shop', '-o', 'yaml']);
      const secret = load(yaml.stdout) as { status: { keys: string[] } };
      assert.deepEqual(secret.status.keys, ['host', 'password', 'tls.crt', 'user']);
      await cli(['get', 'services', '-n', 'shop', '-o', 'yaml']);
      await cli(['describe', 'secret', 'db', '-n', 'shop']);
      await cli(['describe', 'service', 'web', '-n', 'shop']);
      await cli(['get', 'events', '-A']);
      await cli(['audit', '-o', 'json']);
      await cli(['audit']);
      const exported = await cli(['get', 'all,secrets,sshkeys', '-A', '-o', 'yaml']);
      assert.equal(exported.code, 0, exported.stderr);
      assert.match(exported.stdout, /kind: Service/);
      // A request error that quotes what it was sent.
      const missing = await cli(['get', 'service', CANARY, '-n', 'shop']);
      assert.equal(missing.code, 1);
      assert.match(missing.stderr, /NotFound.*"\[REDACTED\]" not found/);

      const found = outputs.flatMap(([what, text]) => leaks(text).map((f) => `${what}: ${f}`));
      assert.deepEqual(found, [], 'CLI output');
      assert.ok(serve.output().length > 0, 'the server logged at debug level');
      assert.deepEqual(leaks(serve.output()), [], 'server log');

      if (db.url) {
        const dump = execFileSync('pg_dump', ['--no-owner', db.url], { encoding: 'utf8', timeout: 60_000, maxBuffer: 64 * 1024 * 1024 });
        assert.match(dump, /COPY public\.sealed_values/);
        assert.deepEqual(leaks(dump), [], 'pg_dump');
      } else {
        // The embedded database's files on disk, write-ahead log included, once the server has stopped.
        await serve.stop();
        assert.ok(readdirSync(join(serveDir, 'pgdata')).length > 5);
        assert.deepEqual(rawFileHits(join(serveDir, 'pgdata')), [], 'PGlite data files');
      }
    });

    it('finishes a key rotation killed halfway, after a restart, with every value and hash unchanged', async () => {
      const dataDir = mkdtempSync(join(tmpdir(), 'hf-e2e-rotate-'));
      const rotateDb = await databaseFor(driver);
      const values = new Map<string, string>();
      let server: ServeProcess | undefined;
      try {
        server = await startServeProcess({ dataDir, env: { ...rotateDb.env, HOLDFAST_FAILPOINT_ROTATION_EXIT_AFTER: '4' } });
        const userEnv = { HOLDFAST_URL: server.url, HOLDFAST_TOKEN: server.token };
        assert.equal((await runCli(['apply', '-f', join(work, 'shop.yaml')], userEnv)).code, 0);
        for (let i = 0; i < 5; i++) {
          const pairs = ['a', 'b'].map((k) => {
            const v = `rotate-${i}-${k}-${randomBytes(6).toString('hex')}`;
            values.set(`s${i}/${k}`, v);
            return `${k}=${v}`;
          });
          const set = await runCli(['secret', 'set', `s${i}`, ...pairs, '-n', 'shop'], userEnv);
          assert.equal(set.code, 0, set.stderr);
        }
        const originalKeyFile = readFileSync(join(dataDir, 'encryption.key'), 'utf8');
        const hashKeySealer = loadSealer(dataDir);

        const killed = await runCli(['secrets', 'rotate-key'], userEnv);
        assert.equal(killed.code, 1, 'the server died under the request');
        await new Promise<void>((ok) => (server!.child.exitCode !== null ? ok() : server!.child.once('exit', () => ok())));
        assert.equal(server.child.exitCode, 137);
        assert.notEqual(readFileSync(join(dataDir, 'encryption.key'), 'utf8'), originalKeyFile, 'the new key was saved before any row moved');
        assert.equal(readFileSync(join(dataDir, 'encryption.key.previous'), 'utf8'), originalKeyFile);
        await server.stop();

        server = await startServeProcess({ dataDir, env: rotateDb.env });
        const resumed = await runCli(['secrets', 'rotate-key', '-o', 'json'], { HOLDFAST_URL: server.url, HOLDFAST_TOKEN: server.token });
        assert.equal(resumed.code, 0, resumed.stderr);
        const result = JSON.parse(resumed.stdout);
        assert.equal(result.resumed, true);
        assert.equal(result.resealed, values.size - 4);
        const get = await runCli(['get', 'secret', 's0', '-n', 'shop', '-o', 'json'], { HOLDFAST_URL: server.url, HOLDFAST_TOKEN: server.token });
        assert.deepEqual(JSON.parse(get.stdout).status.keys, ['a', 'b'], 'the server keeps serving');
        await server.stop();
        server = undefined;

        // Offline check, with the key files alone: everything opens under the new key, unchanged.
        const sealer = loadSealer(dataDir);
        assert.equal(sealer.activeKeyId, result.keyId);
        const database = await openDatabase(rotateDb.url ? { databaseUrl: rotateDb.url } : { dataDir });
        try {
          const rows = await database.db
            .select({ name: resources.name, key: sealedValues.key, ciphertext: sealedValues.ciphertext, valueHash: sealedValues.valueHash })
            .from(sealedValues)
            .innerJoin(resources, eq(resources.uid, sealedValues.ownerUid))
            .where(eq(resources.kind, 'Secret'));
          const mine = rows.filter((r) => values.has(`${r.name}/${r.key}`));
          assert.equal(mine.length, values.size);
          for (const r of mine) {
            assert.equal(sealer.keyIdOf(r.ciphertext), result.keyId);
            const value = values.get(`${r.name}/${r.key}`)!;
            assert.equal(sealer.open(r.ciphertext, sealedValueAad('Secret', 'shop', r.name, r.key)), value);
            assert.equal(r.valueHash, hashKeySealer.hash(value), 'the hash is what it was before the rotation');
          }
        } finally {
          await database.close();
        }
      } finally {
        await server?.stop();
        await rotateDb.server?.stop();
        rmSync(dataDir, { recursive: true, force: true });
      }
    });
  });
}

