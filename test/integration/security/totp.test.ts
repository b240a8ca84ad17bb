// The TOTP second factor on PGlite and PostgreSQL: enabling it shows the secret once (stored sealed,
// masked everywhere else, audited); sign-in then needs a code, a missing or wrong one is a 401 that
// names the field and counts toward the lockout, a code is accepted once (also when sent twice at
// the same moment), and only codes of the neighbouring time steps pass.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { generate } from 'otplib';
import { UserStore } from '../../../security/users.js';
import { auditLog, users } from '../../../store/schema.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PASSWORD = 'ember-tundra-violet-73';

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`TOTP second factor on ${driver}`, () => {
    let cp: TestControlPlane;
    let secret: string;
    const login = (body: Record<string, unknown>) =>
      fetch(`${cp.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'carol', password: PASSWORD, ...body }) });
    const codeAt = (at: Date) => generate({ secret, epoch: Math.floor(at.getTime() / 1000) });
    /** The store the API uses, on a clock of the test's choosing, from an address of its own (so the lockouts do not mix). */
    const storeAt = (at: Date) => new UserStore(cp.plane.database.db, { sealer: cp.plane.sealer, clock: () => at });

    before(async () => {
      cp = await startTestControlPlane(driver);
      assert.equal((await cp.call('POST', `${G}/users`, { name: 'carol', password: PASSWORD })).status, 201);
    });
    after(async () => cp.stop());

    it('enables a second factor: the secret is shown once, stored sealed, masked elsewhere and audited', async () => {
      assert.equal((await cp.call('POST', `${G}/users/nobody/totp`)).status, 404);
      const res = await cp.call('POST', `${G}/users/carol/totp`);
      assert.equal(res.status, 201, JSON.stringify(res.body));
      secret = res.body.secret;
      assert.match(secret, /^[A-Z2-7]{16,}$/);
      assert.equal(res.body.uri, `otpauth://totp/Holdfast:carol?secret=${secret}&issuer=Holdfast`);
      const [row] = await cp.plane.database.db.select().from(users).where(eq(users.name, 'carol'));
      assert.match(row.totpSecret!, /^hfs1:/);
      assert.ok(!row.totpSecret!.includes(secret), 'stored sealed');
      assert.ok(!cp.plane.redactor.redactText(`secret=${secret}`).includes(secret), 'logs and other answers mask it');
      const audit = await cp.plane.database.db.select().from(auditLog).where(eq(auditLog.name, 'carol'));
      assert.ok(audit.some((r) => r.verb === 'update' && r.message === 'TOTP second factor enabled' && r.actor === 'token:admin'));
      assert.ok(audit.every((r) => !r.message?.includes(secret)));
    });

    it('asks for the code, refuses a wrong one, and accepts the right one once', async () => {
      const missing = await login({});
      assert.equal(missing.status, 401);
      const missingBody = (await missing.json()) as { message: string; details: { causes: Array<{ field: string; reason: string }> } };
      assert.match(missingBody.message, /one-time code is required/);
      assert.deepEqual(missingBody.details.causes.map((c) => [c.field, c.reason]), [['totp', 'FieldValueRequired']]);

      const code = await codeAt(new Date());
      const wrong = await login({ totp: code === '000000' ? '111111' : '000000' });
      assert.equal(wrong.status, 401);
      assert.deepEqual(((await wrong.json()) as typeof missingBody).details.causes.map((c) => [c.field, c.reason]), [['totp', 'FieldValueInvalid']]);
      assert.equal((await login({ totp: 'abc' })).status, 401, 'not six digits');
      assert.equal((await login({ totp: 123456 })).status, 400, 'not a string');

      const ok = await login({ totp: code });
      assert.equal(ok.status, 200, await ok.clone().text());
      assert.ok(ok.headers.getSetCookie().some((c) => c.startsWith('holdfast_session=hfs_')));
      const replay = await login({ totp: code });
      assert.equal(replay.status, 401, 'a used code is not accepted again');
      assert.match(((await replay.json()) as { message: string }).message, /wrong or already used one-time code/);

      const rows = await cp.plane.database.db.select().from(auditLog).where(eq(auditLog.verb, 'login'));
      assert.ok(rows.some((r) => r.outcome === 'Failure' && r.message?.startsWith('a one-time code is required')));
      assert.ok(rows.filter((r) => r.outcome === 'Failure' && r.message?.startsWith('wrong or already used one-time code')).length >= 3);
      assert.ok(rows.every((r) => !r.message?.includes(code) && !r.message?.includes(PASSWORD)), 'codes and passwords never reach the audit log');
      const byPerson = await cp.call('GET', `${G}/auditlog?actor=user:carol&verb=login`);
      assert.equal(byPerson.status, 200);
      const items = byPerson.body.items as Array<{ actor: string; verb: string; outcome: string }>;
      assert.deepEqual([...new Set(items.map((e) => `${e.actor} ${e.verb}`))], ['user:carol login'], 'filtered by person and verb');
      assert.deepEqual([...new Set(items.map((e) => e.outcome))].sort(), ['Failure', 'Success']);
    });

    it('accepts the neighbouring time steps only, and a code sent twice at once only once', async () => {
      // Steps ahead of the one used above, so none of them is a replay.
      const now = new Date(Date.now() + 10 * 60_000);
      const early = new Date(now.getTime() - 30_000);
      assert.equal((await storeAt(now).signIn('carol', PASSWORD, '192.0.2.10', await codeAt(early))).name, 'carol', 'the previous step passes');
      const stale = new Date(now.getTime() + 2 * 60_000 - 90_000);
      await assert.rejects(storeAt(new Date(now.getTime() + 2 * 60_000)).signIn('carol', PASSWORD, '192.0.2.11', await codeAt(stale)), /wrong or already used/);

      const later = new Date(now.getTime() + 4 * 60_000);
      const code = await codeAt(later);
      const both = await Promise.allSettled([0, 1].map((i) => storeAt(later).signIn('carol', PASSWORD, `192.0.2.2${i}`, code)));
      assert.deepEqual(both.map((r) => r.status).sort(), ['fulfilled', 'rejected']);
    });

    it('counts missing and wrong codes toward the lockout of the user', async () => {
      const at = new Date(Date.now() + 20 * 60_000);
      const store = storeAt(at);
      for (let i = 0; i < 5; i++) await assert.rejects(store.signIn('carol', PASSWORD, `198.51.100.${i}`, i % 2 ? undefined : '000000'), { reason: 'Unauthorized' });
      await assert.rejects(store.signIn('carol', PASSWORD, '198.51.100.99', await codeAt(at)), /too many failed sign-ins for user "carol"/);
    });
  });
}
