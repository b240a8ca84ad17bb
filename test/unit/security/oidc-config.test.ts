// Single sign-on configuration: flags before environment, each missing or bad part refused with the
// flag and variable to set, the client secret read from its file and never from a flag.
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { resolveOidcConfig } from '../../../security/oidc.js';

const dir = mkdtempSync(join(tmpdir(), 'holdfast-oidc-config-'));
const secretFile = join(dir, 'secret');
writeFileSync(secretFile, 'the-client-secret\n');
writeFileSync(join(dir, 'empty'), '\n');
const complete = {
  HOLDFAST_OIDC_ISSUER: 'https://login.example',
  HOLDFAST_OIDC_CLIENT_ID: 'holdfast',
  HOLDFAST_OIDC_CLIENT_SECRET_FILE: secretFile,
  HOLDFAST_OIDC_REDIRECT_URL: 'https://holdfast.example/auth/oidc/callback',
};

describe('resolveOidcConfig', () => {
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('is off without an issuer', () => {
    assert.equal(resolveOidcConfig({}, {}), undefined);
  });

  it('reads the environment, the secret from its file, and the defaults', () => {
    const config = resolveOidcConfig({}, { ...complete, HOLDFAST_OIDC_ALLOWED_DOMAINS: ' Shop.example, ops.example ,' })!;
    assert.equal(config.issuer.href, 'https://login.example/');
    assert.equal(config.clientSecret, 'the-client-secret');
    assert.equal(config.scopes, 'openid email profile');
    assert.equal(config.groupsClaim, 'groups');
    assert.deepEqual(config.allowedDomains, ['shop.example', 'ops.example']);
  });

  it('takes flags before the environment', () => {
    const config = resolveOidcConfig({ oidcClientId: 'from-flag', oidcGroupsClaim: 'roles' }, complete)!;
    assert.equal(config.clientId, 'from-flag');
    assert.equal(config.groupsClaim, 'roles');
  });

  const refusals: Array<[string, Record<string, string>, RegExp]> = [
    ['no client id', { HOLDFAST_OIDC_CLIENT_ID: '' }, /needs --oidc-client-id \(env HOLDFAST_OIDC_CLIENT_ID\)/],
    ['no secret file', { HOLDFAST_OIDC_CLIENT_SECRET_FILE: '' }, /needs --oidc-client-secret-file/],
    ['an unreadable secret file', { HOLDFAST_OIDC_CLIENT_SECRET_FILE: join(dir, 'missing') }, /cannot read the client secret file .*missing/],
    ['an empty secret file', { HOLDFAST_OIDC_CLIENT_SECRET_FILE: join(dir, 'empty') }, /client secret file .*empty is empty/],
    ['no redirect URL', { HOLDFAST_OIDC_REDIRECT_URL: '' }, /needs --oidc-redirect-url/],
    ['a redirect that is no URL', { HOLDFAST_OIDC_REDIRECT_URL: 'callback' }, /--oidc-redirect-url is not a URL: "callback"/],
    ['plain http to another host', { HOLDFAST_OIDC_ISSUER: 'http://login.example' }, /must use https \(http only on a loopback address\)/],
    ['scopes without openid', { HOLDFAST_OIDC_SCOPES: 'email' }, /--oidc-scopes must include openid/],
  ];
  for (const [what, change, message] of refusals) {
    it(`refuses ${what}`, () => {
      assert.throws(() => resolveOidcConfig({}, { ...complete, ...change }), message);
    });
  }

  it('allows plain http on a loopback address (a provider on the same machine)', () => {
    assert.equal(resolveOidcConfig({}, { ...complete, HOLDFAST_OIDC_ISSUER: 'http://127.0.0.1:9000' })!.issuer.protocol, 'http:');
  });
});
