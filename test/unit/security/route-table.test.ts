// The route table: which row a request matches, and what that row requires.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HoldfastError } from '../../../core/errors.js';
import { API_BASE, matchRoute, requiredAccess, ROUTES, scopes, type RouteRule } from '../../../api/scopes.js';
import { allows } from '../../../security/scopes.js';

const B = API_BASE;

describe('matchRoute + requiredAccess', () => {
  const cases: Array<[string, string, Record<string, string>, string | string[] | undefined]> = [
    ['GET', '/healthz', {}, 'public'],
    ['GET', '/readyz/', {}, 'public'],
    ['POST', '/healthz', {}, undefined],
    ['GET', '/apis', {}, 'authenticated'],
    ['GET', B, {}, 'authenticated'],
    ['GET', '/metrics', {}, ['metrics:read']],
    ['GET', `${B}/tokens`, {}, ['token:admin']],
    ['POST', `${B}/tokens`, {}, ['token:admin']],
    ['DELETE', `${B}/tokens/abc`, {}, ['token:admin']],
    ['GET', `${B}/auditlog`, {}, ['audit:read']],
    ['GET', `${B}/services`, {}, ['service:read']],
    ['GET', `${B}/namespaces/shop/services`, {}, ['service:read']],
    ['POST', `${B}/namespaces/shop/services`, {}, ['service:write']],
    ['POST', `${B}/namespaces/shop/services`, { dryRun: 'All' }, ['service:plan', 'service:write']],
    // Only the exact dry-run value lowers the lane.
    ['POST', `${B}/namespaces/shop/services`, { dryRun: 'all' }, ['service:write']],
    ['PUT', `${B}/servers/edge-1`, {}, ['server:write']],
    ['DELETE', `${B}/sshkeys/deploy-key`, { dryRun: 'All' }, ['server:plan', 'server:write']],
    ['PATCH', `${B}/namespaces/shop/secrets/db`, {}, ['secret:write']],
    ['GET', `${B}/namespaces/shop/secrets/db/status`, {}, ['secret:read']],
    ['PUT', `${B}/projects/shop/status`, {}, ['project:write']],
    ['GET', `${B}/namespaces/shop/services/web/views`, {}, ['service:read']],
    ['GET', `${B}/namespaces/shop/backuppolicies/nightly/other`, {}, ['backup:read']],
    ['POST', `${B}/namespaces/shop/backuppolicies/nightly/run`, {}, ['backup:run']],
    ['POST', `${B}/namespaces/shop/backuppolicies/nightly/restore`, {}, ['backup:restore']],
    ['POST', `${B}/namespaces/shop/backuppolicies/nightly/restore`, { dryRun: 'All' }, ['backup:restore']],
    ['POST', `${B}/namespaces/shop/backuppolicies/nightly/other`, {}, undefined],
    ['POST', `${B}/events`, {}, ['event:write']],
    ['GET', `${B}/namespaces/shop/buildcontexts/sha256:${'a'.repeat(64)}`, {}, ['service:read', 'service:write']],
    ['PUT', `${B}/namespaces/shop/buildcontexts/sha256:${'a'.repeat(64)}`, {}, ['service:write']],
    ['GET', '/nowhere', {}, undefined],
    ['GET', `${B}/namespaces/shop/services/web/views/extra`, {}, undefined],
    ['PUT', `${B}/namespaces/shop/services`, {}, undefined],
  ];
  for (const [method, path, query, expected] of cases) {
    it(`${method} ${path}${Object.keys(query).length ? '?' + new URLSearchParams(query) : ''}`, () => {
      const match = matchRoute(method, path);
      if (expected === undefined) return assert.equal(match, undefined);
      assert.ok(match, 'a row matches');
      assert.deepEqual(requiredAccess(match, query), expected);
    });
  }

  it('answers NotFound for an unknown kind instead of guessing a scope', () => {
    const match = matchRoute('GET', `${B}/widgets`)!;
    assert.throws(() => requiredAccess(match, {}), (err: unknown) => err instanceof HoldfastError && err.reason === 'NotFound');
  });

  it('has no DELETE for build contexts: the generic row takes it, and no kind is called buildcontexts', () => {
    const match = matchRoute('DELETE', `${B}/namespaces/shop/buildcontexts/sha256:${'a'.repeat(64)}`)!;
    assert.equal(match.rule.access.kind, 'resource');
    assert.throws(() => requiredAccess(match, {}), (err: unknown) => err instanceof HoldfastError && err.reason === 'NotFound');
  });

  it('prefers the most specific row, wherever it sits in the table', () => {
    const rules: RouteRule[] = [
      { method: 'GET', path: '/a/:x/:y', access: scopes('generic') },
      { method: 'GET', path: '/a/:x/views', access: scopes('specific') },
      { method: 'GET', path: '/a/b/:y', access: scopes('more-specific') },
    ];
    assert.deepEqual(requiredAccess(matchRoute('GET', '/a/q/views', rules)!, {}), ['specific']);
    assert.deepEqual(requiredAccess(matchRoute('GET', '/a/b/views', rules)!, {}), ['more-specific']);
    assert.deepEqual(requiredAccess(matchRoute('GET', '/a/q/r', rules)!, {}), ['generic']);
    assert.deepEqual(matchRoute('GET', '/a/q%2Fz/r', rules)!.params, { x: 'q/z', y: 'r' });
    assert.equal(matchRoute('GET', '/a/%E0%A4%A/r', rules), undefined, 'a malformed escape matches nothing');
    assert.equal(matchRoute('GET', '/a//r', rules), undefined, 'an empty parameter matches nothing');
  });

  it('has no two rows for the same method and path', () => {
    const seen = new Set<string>();
    for (const r of ROUTES) {
      const key = `${r.method} ${r.path}`;
      assert.ok(!seen.has(key), `duplicate row ${key}`);
      seen.add(key);
    }
  });
});

describe('allows', () => {
  const cases: Array<[string[], string[], boolean]> = [
    [['service:read'], ['service:read'], true],
    [['service:read'], ['service:write'], false],
    [['service:write'], ['service:plan', 'service:write'], true],
    [['*'], ['token:admin'], true],
    [['*'], [], false],
    [[], ['service:read'], false],
  ];
  for (const [granted, anyOf, expected] of cases) {
    it(`${JSON.stringify(granted)} for ${JSON.stringify(anyOf)} → ${expected}`, () => assert.equal(allows(granted, anyOf), expected));
  }
});
