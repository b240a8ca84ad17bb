import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MIN_REDACTED_LENGTH, REDACTED, Redactor } from '../../../security/redactor.js';

const SECRET = 'hunter2-canary-Zq9';
const b64 = Buffer.from(SECRET).toString('base64');

describe('Redactor.redactText', () => {
  const r = new Redactor();
  r.register(SECRET);
  r.register('p"w\\d\nline2');
  r.register('short');
  const cases: Array<[string, string, string]> = [
    ['the value itself', `password=${SECRET};`, `password=${REDACTED};`],
    ['every occurrence', `${SECRET} and ${SECRET}`, `${REDACTED} and ${REDACTED}`],
    ['its base64 form', `Basic ${b64}`, `Basic ${REDACTED}`],
    ['its unpadded base64 form', `x${b64.replace(/=+$/, '')}y`, `x${REDACTED}y`],
    ['its base64url form', Buffer.from(SECRET).toString('base64url'), REDACTED],
    ['its JSON-escaped form inside a log line', JSON.stringify({ msg: 'p"w\\d\nline2' }), `{"msg":"${REDACTED}"}`],
    ['not values shorter than the minimum', 'a short note', 'a short note'],
    ['text without secrets unchanged', 'nothing to see', 'nothing to see'],
  ];
  for (const [what, input, expected] of cases) it(what, () => assert.equal(r.redactText(input), expected));

  it('masks a value that contains another known value whole', () => {
    const r2 = new Redactor();
    r2.register('abcdef');
    r2.register('xxabcdefyy');
    assert.equal(r2.redactText('[xxabcdefyy]'), `[${REDACTED}]`);
  });

  it('treats regular expression characters literally', () => {
    const r2 = new Redactor();
    r2.register('a.b*c+d(e)');
    assert.equal(r2.redactText('a.b*c+d(e) aXbbc+d(e)'), `${REDACTED} aXbbc+d(e)`);
  });

  it(`ignores values shorter than ${MIN_REDACTED_LENGTH} characters`, () => {
    const r2 = new Redactor();
    r2.register('yes');
    assert.equal(r2.size, 0);
  });
});

describe('Redactor.redact', () => {
  const r = new Redactor();
  r.register(SECRET);

  it('redacts every string in a structure, keys included, and keeps it valid JSON', () => {
    const input = {
      message: `failed with ${SECRET}`,
      n: 123456,
      ok: true,
      none: null,
      list: [SECRET, { deep: [`x${b64}`] }],
      [SECRET]: 'as a key',
      at: new Date(0),
    };
    const out = r.redact(input);
    assert.deepEqual(out, {
      message: `failed with ${REDACTED}`,
      n: 123456,
      ok: true,
      none: null,
      list: [REDACTED, { deep: [`x${REDACTED}`] }],
      [REDACTED]: 'as a key',
      at: new Date(0),
    });
    assert.ok(JSON.stringify(input).includes(SECRET), 'the input is not modified');
    assert.ok(!JSON.stringify(out).includes(SECRET));
  });

  it('redacts error messages and stacks', () => {
    const err = r.redact(new Error(`connect failed: ${SECRET}`));
    assert.ok(err instanceof Error);
    assert.equal(err.message, `connect failed: ${REDACTED}`);
    assert.ok(!err.stack!.includes(SECRET));
  });

  it('returns the input itself when no value is known', () => {
    const empty = new Redactor();
    const input = { a: SECRET };
    assert.equal(empty.redact(input), input);
  });
});

describe('Redactor: what it never masks, and forgetting', () => {
  it('never registers a reserved word, whatever its case', () => {
    const r = new Redactor({ reserved: ['holdfast.dev/v1alpha1', 'metadata', 'Bearer'] });
    for (const word of ['holdfast.dev/v1alpha1', 'metadata', 'Bearer', 'BEARER']) {
      r.register(word, `Secret/shop/words/${word}`);
      assert.equal(r.refuses(word), true, word);
    }
    assert.equal(r.size, 0);
    assert.equal(r.redactText('{"apiVersion":"holdfast.dev/v1alpha1","metadata":{}} Bearer x'), '{"apiVersion":"holdfast.dev/v1alpha1","metadata":{}} Bearer x');
  });

  it('forgets the values of a deleted owner at once, keeping those another owner still holds', () => {
    const r = new Redactor();
    r.register('only-in-db-1', 'Secret/shop/db/password');
    r.register('shared-value', 'Secret/shop/db/user');
    r.register('shared-value', 'Secret/shop/db-2/user');
    r.register('kept-for-good');
    r.forget('Secret/shop/db/');
    assert.equal(r.redactText('only-in-db-1 shared-value kept-for-good'), `only-in-db-1 ${REDACTED} ${REDACTED}`);
    r.forget('Secret/shop/db-2/');
    assert.equal(r.redactText('only-in-db-1 shared-value kept-for-good'), `only-in-db-1 shared-value ${REDACTED}`);
    assert.equal(r.size, 1);
  });
});

describe('Redactor.mentionsAny: whether a JSON text needs the walk at all', () => {
  const value = 'pa"ss\\word\n9';
  const r = new Redactor();
  r.register(value);
  const cases: Array<[string, unknown, boolean]> = [
    ['a string holding it', { message: `failed: ${value}` }, true],
    ['an object key that is it', { [value]: 1 }, true],
    ['its base64 form', { data: Buffer.from(value).toString('base64') }, true],
    ['deep in a list', { items: [{ status: { log: ['x', `y${value}`] } }] }, true],
    ['nothing of it', { message: 'pa ss word', items: [{ a: 'pa"ss' }] }, false],
  ];
  for (const [what, body, expected] of cases) {
    it(`${expected ? 'finds' : 'does not find'} ${what}`, () => {
      assert.equal(r.mentionsAny(JSON.stringify(body)), expected);
      // The walk agrees: it changes the body exactly when the search found something.
      assert.equal(JSON.stringify(r.redact(body)) !== JSON.stringify(body), expected);
    });
  }
  it('finds nothing when no value is known', () => {
    assert.equal(new Redactor().mentionsAny(JSON.stringify({ message: value })), false);
  });
});
