// A refused single sign-on as a browser should see it: a small page that says what went wrong and
// what to do, with the refusal's own status code. A client that asks for JSON keeps the Status.
import type { Request } from 'express';
import type { ErrorReason, HoldfastError } from '../core/errors.js';

/** The page's own policy: nothing but its inline style loads, and it is never framed. */
const PAGE_CSP = "default-src 'none'; style-src 'unsafe-inline'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'";

const ADVICE: Partial<Record<ErrorReason, { title: string; todo: string }>> = {
  Forbidden: { title: 'Single sign-on refused', todo: 'Sign in with an account this server allows, or ask its administrator to let yours in.' },
  Unauthorized: {
    title: 'Single sign-on failed',
    todo: "Try again. If it keeps failing, ask the administrator to check the provider's settings for this server (client, issuer, keys) and the server's clock.",
  },
  BadRequest: { title: 'Sign-in not in progress', todo: 'Start again from the sign-in page, in this browser, and finish within 10 minutes.' },
  ServiceUnavailable: { title: 'Sign-in provider unreachable', todo: 'Try again in a moment. If it keeps failing, ask the administrator to check the provider and --oidc-issuer.' },
  NotFound: { title: 'No single sign-on here', todo: 'This server has no single sign-on: sign in with a user name and password.' },
};
const FALLBACK = { title: 'Sign-in failed', todo: 'Start again from the sign-in page.' };

/** A browser's navigation asks for HTML first; API clients, and those that take anything, get JSON. */
export const prefersHtml = (req: Request) => req.accepts(['application/json', 'text/html']) === 'text/html';

export function signInRefusalPage(err: HoldfastError): { status: number; csp: string; html: string } {
  const { title, todo } = ADVICE[err.reason] ?? FALLBACK;
  const html = `<!doctype html>
<html lang="en">
<meta charset="utf-8">
<meta name="viewport" content="width=device-width, initial-scale=1">
<title>Holdfast: ${escapeHtml(title)}</title>
<style>
  body { font: 15px/1.5 system-ui, sans-serif; margin: 0; min-height: 100vh; display: grid; place-items: center; background: #f4f5f7; color: #1d2330; }
  main { max-width: 34rem; margin: 1rem; padding: 1.5rem 2rem; background: #fff; border-radius: 8px; box-shadow: 0 1px 3px #0002; }
  h1 { font-size: 1.3rem; margin: 0 0 .75rem; }
  .reason { padding: .6rem .8rem; background: #fdf0f0; border-left: 3px solid #c0392b; overflow-wrap: anywhere; }
  a { color: #1f5fbf; }
</style>
<main>
  <h1>${escapeHtml(title)}</h1>
  <p class="reason" role="alert">${escapeHtml(err.message)}</p>
  <p>${escapeHtml(todo)}</p>
  <p><a href="/">Back to the sign-in page</a></p>
</main>
</html>
`;
  return { status: err.code, csp: PAGE_CSP, html };
}

const escapeHtml = (text: string) => text.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
