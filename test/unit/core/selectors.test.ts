import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { matchesFields, matchesLabels, parseFieldSelector, parseLabelSelector } from '../../../core/selectors.js';
import { mergePatch } from '../../../api/resources.js';

describe('label selectors', () => {
  const labels = { app: 'web', tier: 'frontend', env: 'prod' };
  const cases: Array<[selector: string, matches: boolean]> = [
    ['', true],
    ['app=web', true],
    ['app==web', true],
    ['app=db', false],
    ['app!=db', true],
    ['app!=web', false],
    ['missing!=x', true],
    ['env in (prod,staging)', true],
    ['env notin (prod)', false],
    ['app', true],
    ['!app', false],
    ['!missing', true],
    ['app=web,tier=frontend', true],
    ['app=web,tier=backend', false],
    ['env in (a, b),app', false],
  ];
  for (const [selector, expected] of cases) {
    it(`"${selector}" → ${expected}`, () => assert.equal(matchesLabels(parseLabelSelector(selector), labels), expected));
  }
  it('rejects bad syntax with the selector in the message', () => {
    assert.throws(() => parseLabelSelector('app=(x'), /unable to parse requirement/);
  });
});

describe('field selectors', () => {
  const ev = { involvedObject: { kind: 'Service', name: 'web' }, metadata: { name: 'e1' } };
  const cases: Array<[string, boolean]> = [
    ['involvedObject.kind=Service', true],
    ['involvedObject.kind=Service,involvedObject.name=web', true],
    ['involvedObject.name=db', false],
    ['metadata.name!=e1', false],
    ['involvedObject.namespace=', true],
  ];
  for (const [selector, expected] of cases) {
    it(`"${selector}" → ${expected}`, () => assert.equal(matchesFields(parseFieldSelector(selector), ev), expected));
  }
});

describe('JSON merge patch (RFC 7386)', () => {
  const cases: Array<[target: unknown, patch: unknown, result: unknown]> = [
    [{ a: 'b' }, { a: 'c' }, { a: 'c' }],
    [{ a: 'b' }, { b: 'c' }, { a: 'b', b: 'c' }],
    [{ a: 'b' }, { a: null }, {}],
    [{ a: 'b', b: 'c' }, { a: null }, { b: 'c' }],
    [{ a: ['b'] }, { a: 'c' }, { a: 'c' }],
    [{ a: 'c' }, { a: ['b'] }, { a: ['b'] }],
    [{ a: { b: 'c' } }, { a: { b: 'd', c: null } }, { a: { b: 'd' } }],
    [{ a: [{ b: 'c' }] }, { a: [1] }, { a: [1] }],
    [{ e: null }, { a: 1 }, { e: null, a: 1 }],
    [{}, { a: { bb: { ccc: null } } }, { a: { bb: {} } }],
  ];
  cases.forEach(([target, patch, result], i) => {
    it(`RFC 7386 appendix case ${i + 1}`, () => assert.deepEqual(mergePatch(target, patch), result));
  });
});
