import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { HoldfastError } from '../../../core/errors.js';
import { pageLimit, queryFlag, queryString } from '../../../api/list-paging.js';

describe('query parameters', () => {
  const flags: Array<[unknown, boolean | undefined]> = [
    [undefined, undefined],
    [null, undefined],
    ['', undefined],
    ['true', true],
    ['1', true],
    ['false', false],
    ['0', false],
    [true, true],
    [false, false],
  ];
  for (const [value, want] of flags) {
    it(`reads the flag ${JSON.stringify(value)} as ${want}`, () => assert.equal(queryFlag(value, 'follow'), want));
  }

  for (const value of ['yes', 'TRUE', '2', ['true', 'false'], { a: 1 }]) {
    it(`refuses the flag ${JSON.stringify(value)} with a 400 naming the parameter`, () => {
      assert.throws(() => queryFlag(value, 'follow'), (err: unknown) => err instanceof HoldfastError && err.reason === 'BadRequest' && /^follow must be true or false/.test(err.message));
    });
  }

  it('reads strings and page limits', () => {
    assert.equal(queryString('shop'), 'shop');
    assert.equal(queryString(''), undefined);
    assert.equal(queryString(['a']), undefined);
    assert.equal(pageLimit(undefined, 50), 50);
    assert.equal(pageLimit('9999', 50), 500);
    assert.throws(() => pageLimit('-1', 50), /positive integer/);
  });
});
