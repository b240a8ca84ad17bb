import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { YAMLException } from 'js-yaml';
import { loadAllBoundedYaml, loadBoundedYaml, MAX_YAML_BYTES, YamlLimitError } from '../../../core/bounded-yaml.js';
import { exceededLimit } from '../../../core/input-limits.js';
import { aliasBomb } from '../../support/hostile-input.js';

describe('loadBoundedYaml', () => {
  const refused: Array<[string, string, RegExp]> = [
    ['an alias bomb (10^9 strings)', aliasBomb(9, 10), /more than 1000000 nodes once aliases are expanded/],
    ['a smaller bomb just past the budget (2^21 strings)', aliasBomb(21, 2), /more than 1000000 nodes/],
    ['aliases nested past the depth limit', ['a: &a ' + '['.repeat(60) + '1' + ']'.repeat(60), 'b: ' + '['.repeat(60) + '*a' + ']'.repeat(60)].join('\n'), /nesting deeper than 100 levels/],
    ['flow nesting past the depth limit', '['.repeat(5000) + ']'.repeat(5000), /nesting exceeded maxDepth \(100\)/],
    ['more aliases than allowed', 'a: &a 1\nb: [' + Array(10_001).fill('*a').join(', ') + ']\n', /aliases exceeded maxAliases/],
    ['a source over the size limit', 'x: "' + 'a'.repeat(MAX_YAML_BYTES) + '"\n', new RegExp(`the limit is ${MAX_YAML_BYTES}`)],
  ];
  for (const [name, text, message] of refused) {
    it(`refuses ${name} with a YAMLException`, () => {
      assert.throws(() => loadBoundedYaml(text), (err: unknown) => err instanceof YAMLException && message.test(err.message));
    });
  }

  it('marks refusals for size as YamlLimitError, syntax errors not', () => {
    assert.throws(() => loadBoundedYaml(aliasBomb()), YamlLimitError);
    assert.throws(() => loadBoundedYaml('a: [unclosed'), (err: unknown) => err instanceof YAMLException && !(err instanceof YamlLimitError));
  });

  it('accepts ordinary anchors and aliases, as compose files use them', () => {
    const text = 'x-defaults: &defaults\n  restart: always\n  labels: [a, b]\nservices:\n  web:\n    <<: *defaults\n    image: web\n  worker: *defaults\n';
    const doc = loadBoundedYaml(text) as { services: { worker: { restart: string } } };
    assert.equal(doc.services.worker.restart, 'always');
  });

  it('takes the node budget over the whole stream, not per document', () => {
    const doc = aliasBomb(6, 10); // 10^6 strings: a million and a few nodes alone
    assert.throws(() => loadAllBoundedYaml(doc), /more than 1000000 nodes/);
    const small = aliasBomb(5, 10); // about 235,000 nodes each
    assert.equal(loadAllBoundedYaml(Array(3).fill(small).join('---\n')).length, 3);
    assert.throws(() => loadAllBoundedYaml(Array(5).fill(small).join('---\n')), /more than 1000000 nodes/);
  });
});

describe('exceededLimit', () => {
  const shared = { a: [1, 2, 3] };
  const cases: Array<[string, unknown, { maxDepth: number; maxNodes: number }, string | undefined]> = [
    ['a scalar', 'x', { maxDepth: 1, maxNodes: 1 }, undefined],
    ['an object within both limits', { a: { b: [1] } }, { maxDepth: 3, maxNodes: 4 }, undefined],
    ['an object one level too deep', { a: { b: [1] } }, { maxDepth: 2, maxNodes: 100 }, 'nesting deeper than 2 levels'],
    ['an object one node too many', { a: { b: [1] } }, { maxDepth: 10, maxNodes: 3 }, 'more than 3 nodes once aliases are expanded'],
    ['a shared value counted at each place', [shared, shared], { maxDepth: 10, maxNodes: 11 }, undefined],
    ['a shared value counted at each place (past the budget)', [shared, shared, shared], { maxDepth: 10, maxNodes: 15 }, 'more than 15 nodes once aliases are expanded'],
    ['a shared value deeper at its second place', [shared, [[shared]]], { maxDepth: 4, maxNodes: 100 }, 'nesting deeper than 4 levels'],
  ];
  for (const [name, value, limits, expected] of cases) it(name, () => assert.equal(exceededLimit(value, limits), expected));

  it('measures a 10^9 expansion without walking it', () => {
    let node: unknown = 'lol';
    for (let i = 0; i < 9; i++) node = Array(10).fill(node);
    const started = performance.now();
    assert.match(exceededLimit(node) ?? '', /more than 1000000 nodes/);
    // Measured once per distinct object, this is instant; walking the expansion would take minutes.
    assert.ok(performance.now() - started < 10_000);
  });
});
