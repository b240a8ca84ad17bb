// `holdfast user create`, `login`, `whoami` and `logout` as a user runs them, against the built
// `holdfast serve`: passwords only on standard input, the session kept in the user's config (0600)
// and used without any other token, a wrong password refused with nothing kept, and logout ending
// the session on the server and removing the file. A user with a TOTP second factor signs in with
// --totp, and without it is told to pass one. `login --oidc` on a server without single sign-on says
// so and how to sign in instead.
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, readFileSync, rmSync, statSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { generate } from 'otplib';
import { runCli } from '../support/cli-process.js';
import { startServeProcess, type ServeProcess } from '../support/serve-process.js';

const PASSWORD = 'cobalt-harbor-willow-59';

describe('holdfast login', { timeout: 300_000 }, () => {
  let serve: ServeProcess;
  let home: string;
  let env: Record<string, string>;
  let sessionPath: string;

  before(async () => {
    serve = await startServeProcess();
    home = mkdtempSync(join(tmpdir(), 'holdfast-login-'));
    // No admin token in reach: what the CLI can do below, it does as the signed-in user.
    env = { HOLDFAST_URL: serve.url, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), HOLDFAST_DATA_DIR: join(home, 'data') };
    sessionPath = join(home, 'config', 'holdfast', 'session');
  });

  after(async () => {
    await serve?.stop();
    if (home) rmSync(home, { recursive: true, force: true });
  });

  it('creates a user from a password on standard input, refusing a weak one', async () => {
    const admin = { ...env, HOLDFAST_TOKEN: serve.token };
    const weak = await runCli(['user', 'create', 'alice', '--password-stdin'], admin, { input: 'short\n' });
    assert.equal(weak.code, 1);
    assert.match(weak.stderr, /at least 12 characters/);
    const created = await runCli(['user', 'create', 'alice', '--password-stdin'], admin, { input: `${PASSWORD}\n` });
    assert.equal(created.code, 0, created.stderr);
    assert.match(created.stderr, /user "alice" created: bind it to a role/);
  });

  it('says when the server has no single sign-on to sign in with', async () => {
    const oidc = await runCli(['login', '--oidc', '--no-browser'], env);
    assert.equal(oidc.code, 1);
    assert.match(oidc.stderr, /has no single sign-on configured \(holdfast serve --oidc-issuer …\): sign in with a password, holdfast login NAME --password-stdin/);
    assert.equal(existsSync(sessionPath), false);
    const both = await runCli(['login', 'alice', '--oidc'], env);
    assert.equal(both.code, 1);
    assert.match(both.stderr, /--oidc takes no user name/);
  });

  it('refuses a wrong password and keeps nothing', async () => {
    const wrong = await runCli(['login', 'alice', '--password-stdin'], env, { input: 'not-the-password-at-all\n' });
    assert.equal(wrong.code, 1);
    assert.match(wrong.stderr, /wrong user name or password/);
    assert.doesNotMatch(wrong.stderr, /not-the-password/);
    assert.equal(existsSync(sessionPath), false);
  });

  it('signs in, keeps the session readable by the user only, and acts as the user with it', async () => {
    const login = await runCli(['login', 'alice', '--password-stdin'], env, { input: `${PASSWORD}\n` });
    assert.equal(login.code, 0, login.stderr);
    assert.match(login.stderr, /signed in as alice until \S+ \(session kept in .*session\)/);
    assert.equal(statSync(sessionPath).mode & 0o777, 0o600);
    assert.doesNotMatch(login.stdout + login.stderr, /hfs_/, 'the session value is never printed');
    const whoami = await runCli(['whoami'], env);
    assert.equal(whoami.code, 0, whoami.stderr);
    assert.equal(whoami.stdout, 'user:alice\n');
    // Signed in, but without a role binding: refused, and told why.
    const get = await runCli(['get', 'services', '-A'], env);
    assert.equal(get.code, 1);
    assert.match(get.stderr, /user:alice has no role binding/);
  });

  it('signs out: the session ends on the server and the file goes', async () => {
    const token = readFileSync(sessionPath, 'utf8').trim();
    const logout = await runCli(['logout'], env);
    assert.equal(logout.code, 0, logout.stderr);
    assert.equal(existsSync(sessionPath), false);
    const res = await fetch(`${serve.url}/auth/whoami`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(res.status, 401, 'the old session value no longer works');
    const whoami = await runCli(['whoami'], env);
    assert.equal(whoami.code, 1);
    assert.match(whoami.stderr, /no token was found/);
  });

  it('enables a second factor, then signs in only with its one-time code', async () => {
    const admin = { ...env, HOLDFAST_TOKEN: serve.token };
    assert.equal((await runCli(['user', 'create', 'tomas', '--password-stdin'], admin, { input: `${PASSWORD}\n` })).code, 0);
    const enable = await runCli(['user', 'totp', 'enable', 'tomas'], admin);
    assert.equal(enable.code, 0, enable.stderr);
    const secret = new URL(enable.stdout.trim()).searchParams.get('secret')!;
    assert.match(enable.stdout, /^otpauth:\/\/totp\/Holdfast:tomas\?secret=[A-Z2-7]+&issuer=Holdfast\n$/);
    assert.match(enable.stderr, /shown only this once/);

    const without = await runCli(['login', 'tomas', '--password-stdin'], env, { input: `${PASSWORD}\n` });
    assert.equal(without.code, 1);
    assert.match(without.stderr, /user "tomas" has a second factor: pass the one-time code .* with --totp CODE/);
    assert.equal(existsSync(sessionPath), false);

    const login = await runCli(['login', 'tomas', '--password-stdin', '--totp', await generate({ secret })], env, { input: `${PASSWORD}\n` });
    assert.equal(login.code, 0, login.stderr);
    assert.equal((await runCli(['whoami'], env)).stdout, 'user:tomas\n');
  });
});
