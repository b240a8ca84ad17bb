// Whether the signed-in subject may do something, asked with an access review
// (SelfSubjectAccessReview, as `holdfast auth can-i`) once per session: a page shows an action only
// when the answer is yes.
import { useEffect, useState } from 'react';
import type { ApiClient } from '../api/client.js';
import { AccessReviews, questionKey, type Access } from '../model/access-reviews.js';
import { useSession } from './session.js';

const reviewsByClient = new WeakMap<ApiClient, AccessReviews>();

function reviewsOf(client: ApiClient): AccessReviews {
  let reviews = reviewsByClient.get(client);
  if (!reviews) {
    reviews = new AccessReviews((q) => client.may(q));
    reviewsByClient.set(client, reviews);
  }
  return reviews;
}

/** May the signed-in subject do `verb` on `resource` (in project `namespace`, on object `name`)? */
export function useCan(verb: string, resource: string, namespace?: string, name?: string): Access {
  const { client } = useSession();
  const reviews = reviewsOf(client);
  const question = { verb, resource, ...(namespace ? { namespace } : {}), ...(name ? { name } : {}) };
  const key = questionKey(question);
  const [state, setState] = useState<{ key: string; access: Access }>(() => ({ key, access: fromKnown(reviews.known(question)) }));
  useEffect(() => {
    let current = true;
    const known = reviews.known(question);
    setState({ key, access: fromKnown(known) });
    if (known !== undefined) return;
    reviews.may(question).then(
      (allowed) => current && setState({ key, access: allowed ? 'allowed' : 'refused' }),
      (err: Error) => current && setState({ key, access: { unknown: err.message } }),
    );
    return () => {
      current = false;
    };
  }, [reviews, key]);
  return state.key === key ? state.access : fromKnown(reviews.known(question));
}

const fromKnown = (known: boolean | undefined): Access => (known === undefined ? 'asking' : known ? 'allowed' : 'refused');
