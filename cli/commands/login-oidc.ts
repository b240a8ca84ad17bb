// `holdfast login --oidc`: sign-in in a browser through the server's OpenID Provider, as kubelogin and
// `gcloud auth login` do it. The CLI listens on 127.0.0.1 on a free port and opens (or prints) the
// server's /auth/oidc/login with that address, a state and a PKCE challenge; the server sends the
// browser back with a one-time code, which only this process's verifier turns into a session.
import { spawn } from 'node:child_process';
import { createHash, randomBytes } from 'node:crypto';
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { HoldfastError } from '../../core/errors.js';
import { parseDuration } from '../config.js';
import { EXIT_OK, type CommandContext } from '../context.js';
import { keepSession, type SessionAnswer } from './login.js';

export const DEFAULT_SIGN_IN_TIMEOUT = '5m';

export async function runLoginOidc(ctx: CommandContext, flags: { browser?: boolean; timeout?: string }): Promise<number> {
  const timeoutMs = parseDuration(flags.timeout ?? DEFAULT_SIGN_IN_TIMEOUT, '--timeout');
  const client = await ctx.client();
  const methods = (await client.request({ method: 'GET', path: '/auth/methods' })) as { oidc?: boolean };
  if (methods.oidc !== true) {
    throw new HoldfastError('BadRequest', `${client.server} has no single sign-on configured (holdfast serve --oidc-issuer …): sign in with a password, holdfast login NAME --password-stdin`);
  }
  const state = randomBytes(24).toString('base64url');
  const verifier = randomBytes(32).toString('base64url');
  const listener = createServer();
  await new Promise<void>((ok, fail) => listener.once('error', fail).listen(0, '127.0.0.1', ok));
  try {
    const redirectUri = `http://127.0.0.1:${(listener.address() as AddressInfo).port}/callback`;
    const url = new URL('/auth/oidc/login', client.server);
    url.search = new URLSearchParams({ redirect_uri: redirectUri, state, code_challenge: createHash('sha256').update(verifier).digest('base64url') }).toString();
    ctx.err(`Open this address in a browser to sign in (waiting up to ${flags.timeout ?? DEFAULT_SIGN_IN_TIMEOUT}):\n\n    ${url.href}\n\n`);
    if (flags.browser !== false) openBrowser(url.href);
    const session = await answerCallback(listener, state, timeoutMs, redirectUri, async (code) =>
      (await client.request({ method: 'POST', path: '/auth/oidc/token', body: { code, codeVerifier: verifier }, signIn: true })) as SessionAnswer,
    );
    await keepSession(ctx, session);
    return EXIT_OK;
  } finally {
    listener.closeAllConnections();
    listener.close();
  }
}

/**
 * Waits for the browser at the listener: a code is redeemed (and the page says as whom), a refusal
 * is thrown with the server's reason (and shown on the page). An answer with another state is not
 * this sign-in's and is turned away without ending the wait.
 */
function answerCallback(
  listener: Server,
  state: string,
  timeoutMs: number,
  redirectUri: string,
  redeem: (code: string) => Promise<SessionAnswer>,
): Promise<SessionAnswer> {
  return new Promise((resolve, reject) => {
    const timer =
      timeoutMs > 0
        ? setTimeout(
            () => reject(new HoldfastError('Timeout', `no browser came back to ${redirectUri} within ${timeoutMs / 1000}s: open the address above (on this machine), or run holdfast login --oidc again`)),
            timeoutMs,
          )
        : undefined;
    const finish = (outcome: () => void) => {
      clearTimeout(timer);
      listener.removeAllListeners('request');
      outcome();
    };
    listener.on('request', (req: IncomingMessage, res: ServerResponse) => {
      const query = new URL(req.url ?? '/', 'http://127.0.0.1').searchParams;
      if (!req.url?.startsWith('/callback') || query.get('state') !== state) {
        void page(res, 400, 'Not this sign-in', 'This address answers only the holdfast login waiting in your terminal.');
        return;
      }
      const error = query.get('error');
      const code = query.get('code');
      if (error || !code) {
        const why = query.get('error_description') || error || 'the server sent no sign-in code';
        void page(res, 403, 'Sign-in refused', `${why}. The terminal says the same; run holdfast login --oidc again when it is fixed.`).then(() =>
          finish(() => reject(new HoldfastError(error === 'access_denied' ? 'Forbidden' : 'Unauthorized', why))),
        );
        return;
      }
      redeem(code).then(
        (session) => page(res, 200, 'Signed in', `Signed in to Holdfast as ${session.user}. You can close this tab and go back to the terminal.`).then(() => finish(() => resolve(session))),
        (err: unknown) => page(res, 401, 'Sign-in failed', `${(err as Error).message}. Run holdfast login --oidc again.`).then(() => finish(() => reject(err))),
      );
    });
  });
}

/** Answers the browser; resolves once the page is sent (the listener closes after the last one). */
function page(res: ServerResponse, status: number, title: string, text: string): Promise<void> {
  const escape = (s: string) => s.replace(/[&<>"']/g, (c) => `&#${c.charCodeAt(0)};`);
  res.writeHead(status, { 'content-type': 'text/html; charset=utf-8', 'cache-control': 'no-store', connection: 'close' });
  return new Promise((sent) => res.end(`<!doctype html><meta charset="utf-8"><title>Holdfast: ${escape(title)}</title><h1>${escape(title)}</h1><p>${escape(text)}</p>\n`, sent));
}

/**
 * Tries the desktop's opener; the printed address is the fallback, so a missing opener is no error.
 * Without a display, xdg-open would start a text browser in this very terminal: not tried.
 */
function openBrowser(url: string) {
  const opener = process.platform === 'darwin' ? 'open' : process.platform === 'linux' && (process.env.DISPLAY || process.env.WAYLAND_DISPLAY) ? 'xdg-open' : undefined;
  if (!opener) return;
  const child = spawn(opener, [url], { stdio: 'ignore', detached: true });
  child.on('error', () => undefined);
  child.unref();
}
