// The CLI's side of a browser sign-in (holdfast login --oidc), as RFC 8252 has native apps do it:
// the CLI listens on a loopback address, opens /auth/oidc/login with where to come back, a state and a
// PKCE challenge; once the provider has vouched for the user, the browser is sent back to that
// listener with a one-time code (or the reason of a refusal) and the CLI's state.
import { HoldfastError } from '../core/errors.js';

export interface CliHandOff {
  /** http://127.0.0.1:PORT/… (or localhost, [::1]): the CLI's listener, never another host. */
  redirectUri: string;
  state: string;
  /** base64url(SHA-256(verifier)) of a verifier only the CLI knows. */
  codeChallenge: string;
}

const LOOPBACK_HOSTS = new Set(['127.0.0.1', 'localhost', '[::1]']);
const STATE = /^[A-Za-z0-9_-]{16,128}$/;
const CHALLENGE = /^[A-Za-z0-9_-]{43}$/;

/**
 * The hand-off a sign-in URL asks for (`redirect_uri`, `state`, `code_challenge`), or undefined for a
 * dashboard sign-in (none of them); BadRequest naming the parameter when one is missing or unfit.
 */
export function cliHandOffRequest(query: Record<string, unknown>): CliHandOff | undefined {
  const { redirect_uri: redirectUri, state, code_challenge: codeChallenge } = query;
  if (redirectUri === undefined && state === undefined && codeChallenge === undefined) return undefined;
  const bad = (message: string) => new HoldfastError('BadRequest', `sign-in for the CLI: ${message}`);
  if (typeof redirectUri !== 'string' || !loopback(redirectUri)) {
    throw bad('redirect_uri must be an http://127.0.0.1:PORT/ (or localhost) address of the CLI on this machine');
  }
  if (typeof state !== 'string' || !STATE.test(state)) throw bad('state must be 16 to 128 characters of A-Z a-z 0-9 - _');
  if (typeof codeChallenge !== 'string' || !CHALLENGE.test(codeChallenge)) throw bad('code_challenge must be the base64url SHA-256 of a PKCE verifier (43 characters)');
  return { redirectUri, state, codeChallenge };
}

function loopback(text: string): boolean {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    return false;
  }
  return url.protocol === 'http:' && LOOPBACK_HOSTS.has(url.hostname) && url.port !== '' && !url.username && !url.password && !url.hash;
}

/** Where the browser goes back to the CLI: its listener with the code, or with an OAuth error and its description. */
export function handOffRedirect(handOff: CliHandOff, answer: { code: string } | { error: string; description: string }): string {
  const url = new URL(handOff.redirectUri);
  if ('code' in answer) url.searchParams.set('code', answer.code);
  else {
    url.searchParams.set('error', answer.error);
    url.searchParams.set('error_description', answer.description);
  }
  url.searchParams.set('state', handOff.state);
  return url.href;
}
