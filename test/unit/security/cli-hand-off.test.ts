// The hand-off a CLI sign-in asks for: only a loopback http address with a port, a state and a
// PKCE challenge of the right shape; each unfit part refused with the parameter it concerns.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cliHandOffRequest, handOffRedirect } from '../../../security/cli-hand-off.js';

const STATE = 'Zm9vYmFyYmF6cXV4cXV1eA';
const CHALLENGE = 'E9Melhoa2OwvFrEMTJguCHaoeK1t8URWbuGJSstw-cM';
const ok = (redirect_uri: string) => ({ redirect_uri, state: STATE, code_challenge: CHALLENGE });

describe('cliHandOffRequest', () => {
  it('is no hand-off for a dashboard sign-in', () => {
    assert.equal(cliHandOffRequest({}), undefined);
  });

  for (const uri of ['http://127.0.0.1:53111/callback', 'http://localhost:8000/', 'http://[::1]:9/cb']) {
    it(`accepts ${uri}`, () => {
      assert.deepEqual(cliHandOffRequest(ok(uri)), { redirectUri: uri, state: STATE, codeChallenge: CHALLENGE });
    });
  }

  const refused: Array<[string, Record<string, unknown>, RegExp]> = [
    ['another host', ok('http://evil.example:8000/callback'), /redirect_uri/],
    ['https to loopback (no listener has a certificate)', ok('https://127.0.0.1:8000/callback'), /redirect_uri/],
    ['no port', ok('http://127.0.0.1/callback'), /redirect_uri/],
    ['credentials in the address', ok('http://user:pw@127.0.0.1:8000/callback'), /redirect_uri/],
    ['a fragment', ok('http://127.0.0.1:8000/callback#x'), /redirect_uri/],
    ['a host that only starts like loopback', ok('http://127.0.0.1.evil.example:8000/'), /redirect_uri/],
    ['not a URL', ok('127.0.0.1:8000'), /redirect_uri/],
    ['no redirect_uri', { state: STATE, code_challenge: CHALLENGE }, /redirect_uri/],
    ['a short state', { ...ok('http://127.0.0.1:8000/'), state: 'abc' }, /state must be/],
    ['a state of two values', { ...ok('http://127.0.0.1:8000/'), state: [STATE, STATE] }, /state must be/],
    ['no challenge', { ...ok('http://127.0.0.1:8000/'), code_challenge: undefined }, /code_challenge/],
    ['a plain challenge', { ...ok('http://127.0.0.1:8000/'), code_challenge: 'plain-verifier' }, /code_challenge/],
  ];
  for (const [what, query, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(() => cliHandOffRequest(query), (err: Error & { reason?: string }) => err.reason === 'BadRequest' && message.test(err.message));
    });
  }
});

describe('handOffRedirect', () => {
  const handOff = { redirectUri: 'http://127.0.0.1:8000/callback?keep=1', state: STATE, codeChallenge: CHALLENGE };
  it('sends the code and the state back to the listener, keeping its own query', () => {
    assert.equal(handOffRedirect(handOff, { code: 'hfc_x' }), `http://127.0.0.1:8000/callback?keep=1&code=hfc_x&state=${STATE}`);
  });
  it('sends a refusal as an OAuth error with its description', () => {
    const url = new URL(handOffRedirect(handOff, { error: 'access_denied', description: 'single sign-on refused: & more' }));
    assert.equal(url.searchParams.get('error'), 'access_denied');
    assert.equal(url.searchParams.get('error_description'), 'single sign-on refused: & more');
    assert.equal(url.searchParams.get('state'), STATE);
  });
});
