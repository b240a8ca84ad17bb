// Checks that a Git host's webhook request carries the shared token: GitHub's (and Gitea's)
// X-Hub-Signature-256 (HMAC-SHA256 of the body), GitLab's X-Gitlab-Token (the token itself), or a
// generic X-Signature-256 in GitHub's format. Comparisons take constant time. Pure.
import { createHmac, timingSafeEqual } from 'node:crypto';

export type WebhookHeaders = Record<string, string | string[] | undefined>;

/** Which scheme verified the request, or undefined when none did. */
export function verifyWebhook(headers: WebhookHeaders, body: Buffer, token: string): 'github' | 'gitlab' | 'hmac' | undefined {
  const header = (name: string) => {
    const v = headers[name];
    return Array.isArray(v) ? v[0] : v;
  };
  const github = header('x-hub-signature-256');
  if (github !== undefined) return hmacMatches(github, body, token) ? 'github' : undefined;
  const gitlab = header('x-gitlab-token');
  if (gitlab !== undefined) return equal(Buffer.from(gitlab), Buffer.from(token)) ? 'gitlab' : undefined;
  const generic = header('x-signature-256');
  if (generic !== undefined) return hmacMatches(generic, body, token) ? 'hmac' : undefined;
  return undefined;
}

function hmacMatches(signature: string, body: Buffer, token: string): boolean {
  const expected = `sha256=${createHmac('sha256', token).update(body).digest('hex')}`;
  return equal(Buffer.from(signature.trim().toLowerCase()), Buffer.from(expected));
}

function equal(a: Buffer, b: Buffer): boolean {
  return a.length === b.length && timingSafeEqual(a, b);
}
