// Users and sign-in over HTTP on PGlite and PostgreSQL: password rules, the session cookie and its
// attributes, CSRF on cookie-signed writes, roles applied to a signed-in user, sign-out (here and
// everywhere) effective on the next request, lockout after five failures per user and per address,
// each audited; a session handed to the CLI by a one-time code.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { eq } from 'drizzle-orm';
import { HAND_OFF_TTL_MS, pkceChallenge, SessionStore } from '../../../security/sessions.js';
import { UserStore } from '../../../security/users.js';
import { auditLog } from '../../../store/schema.js';
import { startTestControlPlane, type TestControlPlane } from '../../support/control-plane.js';

const G = '/apis/holdfast.dev/v1alpha1';
const PASSWORD = 'plum-ladder-orbit-42';

interface Browser {
  cookies: Record<string, string>;
}

function cookiesOf(res: Response, into: Browser = { cookies: {} }): Browser {
  for (const line of res.headers.getSetCookie()) {
    const [pair] = line.split(';');
    const i = pair.indexOf('=');
    into.cookies[pair.slice(0, i)] = pair.slice(i + 1);
  }
  return into;
}

const cookieHeader = (b: Browser) => Object.entries(b.cookies).filter(([, v]) => v).map(([k, v]) => `${k}=${v}`).join('; ');

for (const driver of ['pglite', 'postgres'] as const) {
  describe(`sign-in on ${driver}`, () => {
    let cp: TestControlPlane;
    const login = (username: string, password: string, headers: Record<string, string> = {}) =>
      fetch(`${cp.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify({ username, password }) });
    const as = (b: Browser, method: string, path: string, body?: unknown, extra: Record<string, string> = {}) =>
      fetch(cp.url + path, {
        method,
        headers: { cookie: cookieHeader(b), ...(body !== undefined ? { 'content-type': 'application/json' } : {}), ...extra },
        body: body === undefined ? undefined : JSON.stringify(body),
      });

    before(async () => {
      cp = await startTestControlPlane(driver);
      assert.equal((await cp.call('POST', `${G}/projects`, { kind: 'Project', metadata: { name: 'shop' }, spec: { environments: [{ name: 'production' }] } })).status, 201);
    });
    after(async () => cp.stop());

    it('refuses weak passwords and creates users, --admin with a ClusterRoleBinding', async () => {
      for (const [password, why] of [['short', /at least 12 characters/], ['password1234', /common passwords/], ['alice-is-my-name', /contains the user name/]] as const) {
        const res = await cp.call('POST', `${G}/users`, { name: 'alice', password });
        assert.equal(res.status, 400, JSON.stringify(res.body));
        assert.match(res.body.message, why);
      }
      assert.equal((await cp.call('POST', `${G}/users`, { name: 'alice', password: PASSWORD })).status, 201);
      assert.equal((await cp.call('POST', `${G}/users`, { name: 'alice', password: PASSWORD })).status, 409);
      const root = await cp.call('POST', `${G}/users`, { name: 'root', password: PASSWORD, admin: true });
      assert.equal(root.status, 201);
      assert.equal(root.body.passwordHash, undefined, 'the hash is never returned');
      assert.equal((await cp.call('GET', `${G}/clusterrolebindings/root-admin`)).body.spec.roleRef.name, 'admin');
    });

    it('signs in with a session cookie, applies the user\'s roles, and needs the CSRF value on writes', async () => {
      const res = await login('alice', PASSWORD);
      assert.equal(res.status, 200);
      const setCookies = res.headers.getSetCookie();
      const session = setCookies.find((c) => c.startsWith('holdfast_session='))!;
      assert.match(session, /HttpOnly/);
      assert.match(session, /SameSite=Strict/);
      assert.match(session, /Path=\//);
      assert.doesNotMatch(session, /Secure/, 'not Secure over plain HTTP');
      const body = (await res.json()) as { user: string };
      assert.equal(body.user, 'alice');
      assert.ok(!JSON.stringify(body).includes('hfs_'), 'the session value is only in the cookie');
      const browser = cookiesOf(res);

      const who = await (await as(browser, 'GET', '/auth/whoami')).json();
      assert.equal(who.status.userInfo.username, 'user:alice');

      // Signed in, but without any binding: sees nothing, and is told why.
      const none = await as(browser, 'GET', `${G}/namespaces/shop/services`);
      assert.equal(none.status, 403);
      assert.match(((await none.json()) as { message: string }).message, /user:alice has no role binding/);

      assert.equal((await cp.call('POST', `${G}/namespaces/shop/rolebindings`, { kind: 'RoleBinding', metadata: { name: 'alice' }, spec: { roleRef: { kind: 'Role', name: 'deployer' }, subjects: [{ kind: 'User', name: 'alice' }] } })).status, 201);
      assert.equal((await as(browser, 'GET', `${G}/namespaces/shop/services`)).status, 200);
      assert.equal((await as(browser, 'GET', `${G}/servers`)).status, 403, 'a project binding does not reach servers');

      const sa = { kind: 'ServiceAccount', metadata: { name: 'x' } };
      const noCsrf = await as(browser, 'POST', `${G}/namespaces/shop/secrets?dryRun=All`, { kind: 'Secret', metadata: { name: 'x' }, spec: { stringData: { a: 'b' } } });
      assert.equal(noCsrf.status, 403);
      assert.match(((await noCsrf.json()) as { message: string }).message, /X-CSRF-Token/);
      const wrongCsrf = await as(browser, 'POST', `${G}/namespaces/shop/serviceaccounts`, sa, { 'x-csrf-token': 'forged' });
      assert.equal(wrongCsrf.status, 403);
      const planned = await as(browser, 'POST', `${G}/namespaces/shop/secrets?dryRun=All`, { kind: 'Secret', metadata: { name: 'x' }, spec: { stringData: { a: 'b' } } }, { 'x-csrf-token': browser.cookies.holdfast_csrf });
      assert.equal(planned.status, 201, 'a deployer may plan a secret');
      const refused = await as(browser, 'POST', `${G}/namespaces/shop/serviceaccounts`, sa, { 'x-csrf-token': browser.cookies.holdfast_csrf });
      assert.equal(refused.status, 403, 'but not write service accounts');
      const crossSite = await as(browser, 'POST', `${G}/namespaces/shop/secrets?dryRun=All`, { kind: 'Secret', metadata: { name: 'x' }, spec: { stringData: { a: 'b' } } }, { 'x-csrf-token': browser.cookies.holdfast_csrf, origin: 'https://evil.example' });
      assert.equal(crossSite.status, 403, 'another origin is refused even with the CSRF value');
      assert.match(((await crossSite.json()) as { message: string }).message, /must come from the dashboard's origin, not https:\/\/evil\.example/);
      assert.equal((await as(browser, 'GET', `${G}/namespaces/shop/services`, undefined, { origin: 'https://evil.example' })).status, 403, 'reads too');
      assert.equal((await as(browser, 'GET', `${G}/namespaces/shop/services`, undefined, { origin: cp.url })).status, 200, 'its own origin is fine');

      const [row] = await cp.plane.database.db.select().from(auditLog).where(eq(auditLog.name, 'x'));
      assert.equal(row.actor, 'user:alice', 'audit rows name the user');
      assert.ok(row.tokenId, 'and the session');
    });

    it('gives the CLI its session as a bearer token (no cookie, no CSRF value needed)', async () => {
      const res = await fetch(`${cp.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ username: 'alice', password: PASSWORD, sessionInBody: true }) });
      assert.equal(res.status, 200);
      assert.deepEqual(res.headers.getSetCookie(), []);
      const { token } = (await res.json()) as { token: string };
      assert.match(token, /^hfs_/);
      const bearer = { authorization: `Bearer ${token}` };
      assert.equal((await cp.call('GET', '/auth/whoami', undefined, bearer)).body.status.userInfo.username, 'user:alice');
      const planned = await cp.call('POST', `${G}/namespaces/shop/secrets?dryRun=All`, { kind: 'Secret', metadata: { name: 'y' }, spec: { stringData: { a: 'b' } } }, bearer);
      assert.equal(planned.status, 201);
      assert.equal((await cp.call('POST', '/auth/logout', {}, bearer)).status, 200);
      assert.equal((await cp.call('GET', '/auth/whoami', undefined, bearer)).status, 401);
    });

    it('hands a session to the CLI by a one-time code: bound to its verifier, used once, good for a minute', async () => {
      const alice = (await new UserStore(cp.plane.database.db).get('alice'))!;
      let now = new Date();
      const sessions = new SessionStore(cp.plane.database.db, undefined, () => now);
      const verifier = randomBytes(32).toString('base64url');
      const redeem = (code: unknown, codeVerifier: unknown) =>
        fetch(`${cp.url}/auth/oidc/token`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ code, codeVerifier }) });

      const code = await sessions.createHandOff(alice, '127.0.0.1', pkceChallenge(verifier));
      assert.equal((await cp.call('GET', '/auth/whoami', undefined, { authorization: `Bearer ${code}` })).status, 401, 'the code itself is no session');
      const wrong = await redeem(code, randomBytes(32).toString('base64url'));
      assert.equal(wrong.status, 401);
      assert.match(((await wrong.json()) as { message: string }).message, /sign in again with holdfast login --oidc/);
      const res = await redeem(code, verifier);
      assert.equal(res.status, 200);
      const session = (await res.json()) as { user: string; token: string };
      assert.equal(session.user, 'alice');
      assert.equal((await cp.call('GET', '/auth/whoami', undefined, { authorization: `Bearer ${session.token}` })).body.status.userInfo.username, 'user:alice');
      assert.equal((await redeem(code, verifier)).status, 401, 'a code is used once');

      const late = await sessions.createHandOff(alice, '127.0.0.1', pkceChallenge(verifier));
      now = new Date(now.getTime() + HAND_OFF_TTL_MS + 1000);
      assert.equal(await sessions.redeemHandOff(late, verifier), undefined, 'a code older than a minute is refused');
      assert.equal((await redeem(code, 42)).status, 400);
    });

    it('signs out on the next request, and signs out everywhere', async () => {
      const a = cookiesOf(await login('alice', PASSWORD));
      const b = cookiesOf(await login('alice', PASSWORD));
      assert.equal((await as(a, 'GET', '/auth/whoami')).status, 200);
      const out = await as(a, 'POST', '/auth/logout', {}, { 'x-csrf-token': a.cookies.holdfast_csrf });
      assert.equal(out.status, 200);
      const gone = await as(a, 'GET', '/auth/whoami');
      assert.equal(gone.status, 401);
      assert.match(((await gone.json()) as { message: string }).message, /session has ended/);
      assert.equal((await as(b, 'GET', '/auth/whoami')).status, 200, 'the other session goes on');

      const c = cookiesOf(await login('alice', PASSWORD));
      const everywhere = await as(c, 'POST', '/auth/logout', { everywhere: true }, { 'x-csrf-token': c.cookies.holdfast_csrf });
      assert.equal(everywhere.status, 200);
      assert.equal((await as(b, 'GET', '/auth/whoami')).status, 401, 'another browser is signed out within one request');
      assert.equal((await as(c, 'GET', '/auth/whoami')).status, 401);

      const forged = { cookies: { holdfast_session: `hfs_${'A'.repeat(40)}` } };
      assert.equal((await as(forged, 'GET', '/auth/whoami')).status, 401, 'a forged cookie');
    });

    it('says 401 without naming which part was wrong, and locks out after five failures per address and per user, audited', async () => {
      const unknown = await login('nobody', PASSWORD);
      assert.equal(unknown.status, 401);
      const wrong = await login('alice', 'not-the-password');
      assert.equal(wrong.status, 401);
      assert.equal(((await unknown.json()) as { message: string }).message, ((await wrong.json()) as { message: string }).message);
      for (let i = 0; i < 3; i++) assert.equal((await login('alice', 'not-the-password')).status, 401);
      const locked = await login('root', PASSWORD);
      assert.equal(locked.status, 429, 'the right password is refused while the address is locked out');
      assert.match(((await locked.json()) as { message: string }).message, /too many failed sign-ins for address [\d.:a-f]+; try again in \d+s/);

      // Per user, whatever the address: the same store the API uses.
      const users = new UserStore(cp.plane.database.db);
      for (let i = 0; i < 5; i++) await assert.rejects(users.signIn('root', 'not-the-password', `192.0.2.${i}`), /wrong user name or password/);
      await assert.rejects(users.signIn('root', PASSWORD, '192.0.2.99'), /too many failed sign-ins for user "root"/);

      const rows = await cp.plane.database.db.select().from(auditLog).where(eq(auditLog.verb, 'login'));
      assert.ok(rows.filter((r) => r.outcome === 'Failure' && r.message?.startsWith('wrong user name or password')).length >= 10);
      assert.ok(rows.some((r) => r.message?.startsWith('locked out: address')));
      assert.ok(rows.some((r) => r.message?.startsWith('locked out: user "root"')));
      assert.ok(rows.every((r) => !r.message?.includes('not-the-password')), 'passwords never reach the audit log');
    });

    it('refuses a malformed sign-in with 400', async () => {
      const res = await fetch(`${cp.url}/auth/login`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{"username": 1}' });
      assert.equal(res.status, 400);
    });
  });
}
