// The session's access-review answers: asked once per question, shared while pending, kept once
// known, and asked again after a failure.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { AccessReviews, questionKey, type AccessQuestion } from '../../../dashboard/src/model/access-reviews.js';

function counting(answer: (q: AccessQuestion) => boolean | Error) {
  const asked: string[] = [];
  const reviews = new AccessReviews(async (q) => {
    asked.push(questionKey(q));
    const a = answer(q);
    if (a instanceof Error) throw a;
    return a;
  });
  return { reviews, asked };
}

describe('AccessReviews', () => {
  it('asks each question once, shares a pending answer and keeps it', async () => {
    const { reviews, asked } = counting((q) => q.verb === 'deploy');
    const sync = { verb: 'deploy', resource: 'services', namespace: 'shop' };
    assert.equal(reviews.known(sync), undefined);
    const [a, b] = await Promise.all([reviews.may(sync), reviews.may({ ...sync })]);
    assert.deepEqual([a, b], [true, true]);
    assert.equal(reviews.known(sync), true);
    assert.equal(await reviews.may({ verb: 'restore', resource: 'backuppolicies', namespace: 'shop' }), false);
    assert.equal(await reviews.may(sync), true);
    assert.equal(asked.length, 2);
  });

  it('tells questions apart by verb, resource, project and name', async () => {
    const { reviews, asked } = counting(() => true);
    const questions: AccessQuestion[] = [
      { verb: 'deploy', resource: 'services' },
      { verb: 'deploy', resource: 'services', namespace: 'shop' },
      { verb: 'deploy', resource: 'services', namespace: 'shop', name: 'web' },
      { verb: 'cancel', resource: 'services', namespace: 'shop', name: 'web' },
      { verb: 'exec', resource: 'servers', name: 'web' },
    ];
    for (const q of questions) await reviews.may(q);
    assert.equal(new Set(asked).size, questions.length);
  });

  it('asks again after a failed question', async () => {
    let fail = true;
    const { reviews, asked } = counting(() => (fail ? new Error('Cannot reach the Holdfast server.') : true));
    const q = { verb: 'run', resource: 'backuppolicies', namespace: 'shop' };
    await assert.rejects(reviews.may(q), /Cannot reach/);
    assert.equal(reviews.known(q), undefined);
    fail = false;
    assert.equal(await reviews.may(q), true);
    assert.equal(asked.length, 2);
  });
});
