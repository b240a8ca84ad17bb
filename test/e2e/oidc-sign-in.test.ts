// Single sign-on in Debian's Chromium against the built `holdfast serve` and a real OpenID Provider
// (oidc-provider, started here with its own signing key and a client for Holdfast): a user signs in
// through the provider's pages (authorization code + PKCE), is made on first sign-in with the
// provider's groups, and may do what the role bound to the group allows and nothing else. An email
// outside the allowed domains, ID tokens with a wrong audience, a wrong issuer, an expiry in the
// past or no signature (the provider's token answer altered on its way out), an error from the
// provider, a callback with another state and one with no sign-in in progress are refused, audited,
// leave no session, and show the browser a page that says what went wrong and what to do (a client
// asking for JSON gets the Status). `holdfast login --oidc` signs the CLI in through the same
// pages, the browser driven to the address it prints, and tells a refusal and a browser that never
// came back.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { createServer, type Server, type ServerResponse } from 'node:http';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { decodeJwt, exportJWK, generateKeyPair, SignJWT, type JWTPayload } from 'jose';
import Provider from 'oidc-provider';
import { chromium, type Browser, type Page } from 'playwright-core';
import { packageRoot } from '../../core/package-root.js';
import { runCli, startCli } from '../support/cli-process.js';
import { freePort, serveApi, startServeProcess, type ServeApi, type ServeProcess } from '../support/serve-process.js';
import { until } from '../support/until.js';

const CHROMIUM = '/usr/bin/chromium';
const CLIENT_ID = 'holdfast';
const CLIENT_SECRET = 'provider-issued-client-secret-5d1c';
const KEY_ID = 'test-signing-key';

/** How the provider's token answer is altered on its way out: a misbehaving or hostile provider. */
type Tamper = (idToken: string) => Promise<string>;

describe('single sign-on through an OpenID Provider', { timeout: 600_000 }, () => {
  let serve: ServeProcess;
  let api: ServeApi;
  let provider: Server;
  let browser: Browser;
  let tamper: Tamper | undefined;
  let resign: (claims: JWTPayload) => Promise<string>;
  let secretDir: string;
  let issuer: string;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), `${CHROMIUM} is missing: install Debian's chromium package (scripts/setup.sh test)`);
    execFileSync('npm', ['run', '--silent', 'build:dashboard'], { cwd: packageRoot(), stdio: 'pipe', timeout: 120_000 });
    const [providerPort, servePort] = [await freePort(), await freePort()];
    issuer = `http://127.0.0.1:${providerPort}`;
    const redirect = `http://127.0.0.1:${servePort}/auth/oidc/callback`;

    const { privateKey } = await generateKeyPair('RS256', { extractable: true });
    const jwk = { ...(await exportJWK(privateKey)), kid: KEY_ID, alg: 'RS256', use: 'sig' };
    resign = (claims) => new SignJWT(claims).setProtectedHeader({ alg: 'RS256', kid: KEY_ID }).sign(privateKey);
    const oidc = new Provider(issuer, {
      clients: [{ client_id: CLIENT_ID, client_secret: CLIENT_SECRET, redirect_uris: [redirect], grant_types: ['authorization_code'], response_types: ['code'] }],
      jwks: { keys: [jwk] },
      claims: { openid: ['sub', 'groups'], email: ['email', 'email_verified'] },
      conformIdTokenClaims: false,
      cookies: { keys: ['provider-cookie-key-for-the-test'] },
      // The account id typed into the provider's login page is the email (…@shop.example unless it names another domain).
      findAccount: async (_ctx, id) => ({
        accountId: id,
        claims: async () => ({ sub: id, email: id.includes('@') ? id : `${id}@shop.example`, email_verified: true, groups: id === 'rita' ? ['shop-viewers'] : ['nobody'] }),
      }),
    });
    const handle = oidc.callback();
    provider = createServer((req, res) => {
      if (tamper && req.method === 'POST' && req.url?.startsWith('/token')) alterTokenAnswer(res, tamper);
      handle(req, res);
    });
    await new Promise<void>((ok) => provider.listen(providerPort, '127.0.0.1', ok));

    secretDir = mkdtempSync(join(tmpdir(), 'holdfast-oidc-'));
    writeFileSync(join(secretDir, 'client-secret'), `${CLIENT_SECRET}\n`, { mode: 0o600 });
    serve = await startServeProcess({
      port: servePort,
      args: ['--oidc-issuer', issuer, '--oidc-client-id', CLIENT_ID, '--oidc-client-secret-file', join(secretDir, 'client-secret'), '--oidc-redirect-url', redirect],
      env: { HOLDFAST_OIDC_SCOPES: 'openid email', HOLDFAST_OIDC_ALLOWED_DOMAINS: 'shop.example' },
    });
    api = serveApi(serve);
    for (const project of ['shop', 'other']) {
      await api.create('/projects', { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: project }, spec: { environments: [{ name: 'production' }] } });
      await api.create(`/namespaces/${project}/services`, {
        apiVersion: 'holdfast.dev/v1alpha1',
        kind: 'Service',
        metadata: { name: 'web', namespace: project },
        spec: { environment: 'production', server: 'nowhere', source: { image: 'holdfast-test/busybox:1' }, replicas: 1 },
      });
    }
    await api.create('/namespaces/shop/rolebindings', {
      apiVersion: 'holdfast.dev/v1alpha1',
      kind: 'RoleBinding',
      metadata: { name: 'shop-viewers', namespace: 'shop' },
      spec: { roleRef: { kind: 'Role', name: 'viewer' }, subjects: [{ kind: 'Group', name: 'shop-viewers' }] },
    });
    browser = await chromium.launch({
      executablePath: CHROMIUM,
      headless: true,
      args: ['--headless', '--no-sandbox', '--disable-gpu', '--no-first-run', '--disable-background-networking', '--disable-component-update', '--disable-sync'],
      timeout: 60_000,
    });
  });

  after(async () => {
    await browser?.close().catch(() => {});
    await serve?.stop();
    provider?.closeAllConnections();
    await new Promise((ok) => provider?.close(ok));
    if (secretDir) rmSync(secretDir, { recursive: true, force: true });
  });

  /** Through the provider's own pages: its login form (any password) and its consent page; from the dashboard's sign-in page unless `start` is given. */
  async function signInAtProvider(page: Page, login: string, start?: string) {
    if (start) await page.goto(start);
    else {
      await page.goto(serve.url + '/');
      await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
    }
    await page.locator('input[name="login"]').fill(login);
    await page.locator('input[name="password"]').fill('any password the provider accepts');
    await page.getByRole('button', { name: 'Sign-in' }).click();
    await page.getByRole('button', { name: 'Continue' }).click();
  }

  const auditOf = async (pattern: RegExp) => {
    const log = (await api.call('GET', '/auditlog?limit=500')).body as { items: Array<{ actor: string; verb: string; outcome: string; message?: string }> };
    return log.items.filter((e) => e.verb === 'login' && pattern.test(e.message ?? ''));
  };

  it('signs a user in through the provider, with the groups it reports, seeing only what the group\'s role allows', async () => {
    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await signInAtProvider(page, 'rita');
    // Back on the dashboard, signed in (the overview itself lists servers, which a project's viewer may not read).
    await page.getByRole('button', { name: 'Sign out' }).waitFor();
    const session = (await context.cookies()).find((c) => c.name === 'holdfast_session');
    assert.ok(session?.httpOnly, 'an HttpOnly session cookie');
    // No named functions inside: the page does not have the helpers tsx would wrap them with.
    const answers = await page.evaluate(async () => {
      const whoami = (await (await fetch('/auth/whoami')).json()) as { status: { userInfo: { username: string; groups: string[] } } };
      const paths = ['/apis/holdfast.dev/v1alpha1/namespaces/shop/services/web', '/apis/holdfast.dev/v1alpha1/namespaces/other/services/web', '/apis/holdfast.dev/v1alpha1/servers'];
      return { user: whoami.status.userInfo, statuses: await Promise.all(paths.map(async (p) => (await fetch(p)).status)) };
    });
    assert.deepEqual(answers.user, { username: 'user:rita@shop.example', groups: ['shop-viewers'] });
    assert.deepEqual(answers.statuses, [200, 403, 403], 'the shop project\'s service, not the other project\'s, not the servers');
    assert.equal((await auditOf(/^through single sign-on \(http:\/\/127\.0\.0\.1:\d+\/\), groups shop-viewers; from /)).length, 1);
    await context.close();
  });

  const refusals: Array<{
    name: string;
    login?: string;
    tamper?: () => Tamper;
    /** How the browser gets to the refusal, when not by signing in at the provider as `login`. */
    reach?: (page: Page) => Promise<unknown>;
    status: number;
    message: RegExp;
    /** The audit row's message; by default that of a refused sign-in. */
    audit?: RegExp;
  }> = [
    { name: 'an email outside the allowed domains', login: 'eve@outsider.example', status: 403, message: /eve@outsider\.example is not in an allowed domain \(shop\.example\)/ },
    { name: 'a wrong audience', login: 'rita', tamper: () => alter({ aud: 'another-client' }), status: 401, message: /single sign-on refused: .*"aud"/ },
    { name: 'a wrong issuer', login: 'rita', tamper: () => alter({ iss: 'https://issuer.invalid' }), status: 401, message: /single sign-on refused: .*"iss"/ },
    {
      name: 'an expired token',
      login: 'rita',
      tamper: () => alter({ iat: Math.floor(Date.now() / 1000) - 7200, exp: Math.floor(Date.now() / 1000) - 3600 }),
      status: 401,
      message: /single sign-on refused: .*"exp"/,
    },
    { name: 'an unsigned token', login: 'rita', tamper: () => async (idToken) => `${b64({ alg: 'none' })}.${idToken.split('.')[1]}.`, status: 401, message: /single sign-on refused: .*alg/ },
    {
      name: 'an error from the provider (the user cancelled there)',
      reach: async (page) => {
        await page.goto(serve.url + '/');
        await page.getByRole('link', { name: 'Sign in with single sign-on' }).click();
        await page.getByRole('link', { name: '[ Cancel ]' }).click();
      },
      status: 401,
      message: /single sign-on refused: the provider answered access_denied \(End-User aborted interaction\)/,
    },
    {
      name: 'a callback with another state than the sign-in started',
      reach: async (page) => {
        await page.goto(`${serve.url}/auth/oidc/login`);
        await page.locator('input[name="login"]').waitFor();
        await page.goto(`${serve.url}/auth/oidc/callback?code=forged-code&state=not-the-state-of-this-sign-in&iss=${encodeURIComponent(issuer)}`);
      },
      status: 401,
      message: /single sign-on refused: .*"state"/,
    },
    {
      name: 'a callback with no sign-in in progress',
      reach: (page) => page.goto(`${serve.url}/auth/oidc/callback?code=forged-code&state=forged-state`),
      status: 400,
      message: /no single sign-on in progress in this browser/,
      audit: /no single sign-on in progress/,
    },
  ];
  const titles: Record<number, string> = { 400: 'Sign-in not in progress', 401: 'Single sign-on failed', 403: 'Single sign-on refused' };
  const alter = (changes: JWTPayload): Tamper => async (idToken) => resign({ ...decodeJwt(idToken), ...changes });

  for (const refusal of refusals) {
    it(`refuses ${refusal.name} with a page that says why and what to do, audited, and no session`, async () => {
      const context = await browser.newContext();
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      const auditPattern = refusal.audit ?? /single sign-on refused/;
      const before = (await auditOf(auditPattern)).length;
      const answer = page.waitForResponse((res) => res.url().startsWith(`${serve.url}/auth/oidc/callback`));
      tamper = refusal.tamper?.();
      try {
        await (refusal.reach ? refusal.reach(page) : signInAtProvider(page, refusal.login!));
        const res = await answer;
        assert.equal(res.status(), refusal.status);
        assert.match(res.headers()['content-type'] ?? '', /^text\/html/);
      } finally {
        tamper = undefined;
      }
      assert.equal(await page.getByRole('heading', { level: 1 }).textContent(), titles[refusal.status]);
      assert.match((await page.getByRole('alert').textContent()) ?? '', refusal.message);
      assert.equal(await page.getByRole('link', { name: 'Back to the sign-in page' }).getAttribute('href'), '/');
      assert.equal((await context.cookies(serve.url)).some((c) => c.name === 'holdfast_session' && c.value), false, 'no session');
      const audited = await auditOf(auditPattern);
      assert.equal(audited.length, before + 1);
      assert.equal(audited.at(-1)!.outcome, 'Failure');
      assert.ok(!JSON.stringify(audited).includes(CLIENT_SECRET));
      await context.close();
    });
  }

  it('keeps answering a Status to a client that asks for JSON, and the page leads back to signing in', async () => {
    const res = await fetch(`${serve.url}/auth/oidc/callback?code=forged-code&state=forged-state`, { headers: { accept: 'application/json' } });
    assert.equal(res.status, 400);
    const status = (await res.json()) as { kind: string; reason: string; message: string };
    assert.equal(status.kind, 'Status');
    assert.equal(status.reason, 'BadRequest');
    assert.match(status.message, /no single sign-on in progress/);

    const context = await browser.newContext();
    const page = await context.newPage();
    page.setDefaultTimeout(15_000);
    await page.goto(`${serve.url}/auth/oidc/callback?code=forged-code&state=forged-state`);
    await page.getByRole('link', { name: 'Back to the sign-in page' }).click();
    await page.getByRole('link', { name: 'Sign in with single sign-on' }).waitFor();
    await context.close();
  });

  describe('holdfast login --oidc', () => {
    let cliEnv: Record<string, string>;
    let sessionPath: string;
    before(() => {
      const home = join(secretDir, 'home');
      mkdirSync(home);
      // No admin token in reach: what the CLI does after signing in, it does as the user.
      cliEnv = { HOLDFAST_URL: serve.url, HOME: home, XDG_CONFIG_HOME: join(home, 'config'), HOLDFAST_DATA_DIR: join(home, 'data') };
      sessionPath = join(home, 'config', 'holdfast', 'session');
    });

    /** Starts the CLI's sign-in and answers the address it prints in Chromium, as `login` at the provider; resolves with the page the browser ends on. */
    async function cliSignIn(login: string) {
      const cli = startCli(['login', '--oidc', '--no-browser'], cliEnv);
      const url = await until('the sign-in address on stderr', async () => cli.stderr().match(/^ {4}(http:\/\/\S+\/auth\/oidc\/login\?\S+)$/m)?.[1], 30_000);
      const context = await browser.newContext();
      const page = await context.newPage();
      page.setDefaultTimeout(15_000);
      await signInAtProvider(page, login, url);
      await page.waitForURL(/^http:\/\/127\.0\.0\.1:\d+\/callback\?/);
      const heading = await page.locator('h1').textContent();
      const text = await page.locator('p').textContent();
      await context.close();
      return { page: { heading, text }, run: await cli.done };
    }

    it('signs the CLI in through the provider in a browser, keeps the session (0600), and acts as the user', async () => {
      const { page, run } = await cliSignIn('rita');
      assert.equal(run.code, 0, run.stderr);
      assert.match(run.stderr, /signed in as rita@shop\.example until \S+ \(session kept in .*session\)/);
      assert.doesNotMatch(run.stdout + run.stderr, /hfs_|hfc_/, 'neither the session nor the code is printed');
      assert.equal(page.heading, 'Signed in');
      assert.match(page.text ?? '', /as rita@shop\.example/);
      assert.equal(statSync(sessionPath).mode & 0o777, 0o600);
      const whoami = await runCli(['whoami'], cliEnv);
      assert.equal(whoami.stdout, 'user:rita@shop.example (groups: shop-viewers)\n', whoami.stderr);
      assert.equal((await runCli(['get', 'services', '-n', 'shop'], cliEnv)).code, 0);
      const other = await runCli(['get', 'services', '-n', 'other'], cliEnv);
      assert.equal(other.code, 1);
      assert.match(other.stderr, /forbidden/);
      rmSync(sessionPath);
    });

    it('tells the terminal and the browser why the provider\'s answer was refused, and keeps nothing', async () => {
      const { page, run } = await cliSignIn('eve@outsider.example');
      assert.equal(run.code, 1);
      assert.match(run.stderr, /single sign-on refused: eve@outsider\.example is not in an allowed domain \(shop\.example\)/);
      assert.equal(page.heading, 'Sign-in refused');
      assert.match(page.text ?? '', /not in an allowed domain/);
      assert.equal(existsSync(sessionPath), false);
    });

    it('gives up when no browser comes back', async () => {
      const run = await runCli(['login', '--oidc', '--no-browser', '--timeout', '2s'], cliEnv);
      assert.equal(run.code, 1);
      assert.match(run.stderr, /no browser came back to http:\/\/127\.0\.0\.1:\d+\/callback within 2s/);
      assert.equal(existsSync(sessionPath), false);
    });
  });
});

const b64 = (value: unknown) => Buffer.from(JSON.stringify(value)).toString('base64url');

/** Rewrites the id_token of the token endpoint's JSON answer as the provider is about to send it. */
function alterTokenAnswer(res: ServerResponse, tamper: Tamper) {
  const end = res.end.bind(res) as (chunk?: unknown) => ServerResponse;
  res.end = ((chunk?: unknown) => {
    const body = JSON.parse(Buffer.isBuffer(chunk) ? chunk.toString('utf8') : String(chunk)) as { id_token?: string };
    if (!body.id_token) return end(chunk);
    void tamper(body.id_token).then((idToken) => {
      const text = JSON.stringify({ ...body, id_token: idToken });
      res.setHeader('content-length', Buffer.byteLength(text));
      end(text);
    });
    return res;
  }) as typeof res.end;
}
