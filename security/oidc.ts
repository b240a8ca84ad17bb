// Single sign-on with an OpenID Provider: the authorization code flow with PKCE, the provider found
// by discovery. openid-client checks the ID token (signature by the provider's published keys,
// issuer, audience, expiry, nonce); this module turns its claims into a Holdfast user name (the
// verified email) and groups, and refuses an email outside the allowed domains.
import { readFileSync } from 'node:fs';
import * as client from 'openid-client';
import { HoldfastError } from '../core/errors.js';
import type { CliHandOff } from './cli-hand-off.js';

export interface OidcConfig {
  issuer: URL;
  clientId: string;
  clientSecret: string;
  /** Where the provider sends the browser back: this server's /auth/oidc/callback as its users reach it. */
  redirectUrl: URL;
  scopes: string;
  /** The ID token claim that lists the user's groups (subjects `Group` of role bindings). */
  groupsClaim: string;
  /** Email domains allowed to sign in; empty allows every domain. */
  allowedDomains: string[];
}

export interface OidcFlags {
  oidcIssuer?: string;
  oidcClientId?: string;
  oidcClientSecretFile?: string;
  oidcRedirectUrl?: string;
  oidcScopes?: string;
  oidcGroupsClaim?: string;
  oidcAllowedDomains?: string;
}

/** Flags → environment (HOLDFAST_OIDC_*); undefined when no issuer is configured. */
export function resolveOidcConfig(flags: OidcFlags, env: NodeJS.ProcessEnv): OidcConfig | undefined {
  const issuer = flags.oidcIssuer ?? env.HOLDFAST_OIDC_ISSUER;
  if (!issuer) return undefined;
  const need = (value: string | undefined, flag: string, variable: string) => {
    if (!value) throw new Error(`single sign-on: --oidc-issuer needs ${flag} (env ${variable})`);
    return value;
  };
  const clientId = need(flags.oidcClientId ?? env.HOLDFAST_OIDC_CLIENT_ID, '--oidc-client-id', 'HOLDFAST_OIDC_CLIENT_ID');
  const secretFile = need(flags.oidcClientSecretFile ?? env.HOLDFAST_OIDC_CLIENT_SECRET_FILE, '--oidc-client-secret-file', 'HOLDFAST_OIDC_CLIENT_SECRET_FILE');
  const redirect = need(flags.oidcRedirectUrl ?? env.HOLDFAST_OIDC_REDIRECT_URL, '--oidc-redirect-url', 'HOLDFAST_OIDC_REDIRECT_URL');
  let clientSecret: string;
  try {
    clientSecret = readFileSync(secretFile, 'utf8').trim();
  } catch (err) {
    throw new Error(`single sign-on: cannot read the client secret file ${secretFile}: ${(err as Error).message}`);
  }
  if (!clientSecret) throw new Error(`single sign-on: the client secret file ${secretFile} is empty`);
  const config: OidcConfig = {
    issuer: parseUrl(issuer, '--oidc-issuer'),
    clientId,
    clientSecret,
    redirectUrl: parseUrl(redirect, '--oidc-redirect-url'),
    scopes: flags.oidcScopes ?? env.HOLDFAST_OIDC_SCOPES ?? 'openid email profile',
    groupsClaim: flags.oidcGroupsClaim ?? env.HOLDFAST_OIDC_GROUPS_CLAIM ?? 'groups',
    allowedDomains: (flags.oidcAllowedDomains ?? env.HOLDFAST_OIDC_ALLOWED_DOMAINS ?? '')
      .split(',')
      .map((d) => d.trim().toLowerCase())
      .filter(Boolean),
  };
  if (!config.scopes.split(/\s+/).includes('openid')) throw new Error('single sign-on: --oidc-scopes must include openid');
  if (config.issuer.protocol === 'http:' && !isLoopback(config.issuer)) throw new Error(`single sign-on: the issuer ${issuer} must use https (http only on a loopback address)`);
  return config;
}

function parseUrl(value: string, flag: string): URL {
  try {
    return new URL(value);
  } catch {
    throw new Error(`single sign-on: ${flag} is not a URL: "${value}"`);
  }
}

const isLoopback = (url: URL) => ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);

/** What the browser must bring back to the callback: kept in a signed HttpOnly cookie between the two. */
export interface PendingSignIn {
  state: string;
  nonce: string;
  verifier: string;
  /** Set when the sign-in is for the CLI: where its code goes instead of the dashboard's cookies. */
  cli?: CliHandOff;
}

/** Who the provider says signed in, as Holdfast names them. */
export interface OidcIdentity {
  /** The verified email, lower-cased: the Holdfast user name. */
  name: string;
  groups: string[];
  subject: string;
}

export class OidcSignIn {
  private discovered?: Promise<client.Configuration>;

  constructor(readonly config: OidcConfig) {}

  /** The provider's authorization URL for a new sign-in, and what its callback must match. */
  async start(): Promise<{ url: URL; pending: PendingSignIn }> {
    const pending = { state: client.randomState(), nonce: client.randomNonce(), verifier: client.randomPKCECodeVerifier() };
    const url = client.buildAuthorizationUrl(await this.provider(), {
      redirect_uri: this.config.redirectUrl.href,
      scope: this.config.scopes,
      state: pending.state,
      nonce: pending.nonce,
      code_challenge: await client.calculatePKCECodeChallenge(pending.verifier),
      code_challenge_method: 'S256',
    });
    return { url, pending };
  }

  /**
   * Exchanges the code the provider sent back for tokens and checks the ID token; throws
   * Unauthorized (the token or the answer is not acceptable) or Forbidden (a domain not allowed).
   */
  async finish(callbackUrl: URL, pending: PendingSignIn): Promise<OidcIdentity> {
    let claims: client.IDToken | undefined;
    try {
      const tokens = await client.authorizationCodeGrant(await this.provider(), callbackUrl, {
        pkceCodeVerifier: pending.verifier,
        expectedState: pending.state,
        expectedNonce: pending.nonce,
        idTokenExpected: true,
      });
      claims = tokens.claims();
    } catch (err) {
      if (err instanceof HoldfastError) throw err;
      throw new HoldfastError('Unauthorized', `single sign-on refused: ${describe(err)}`);
    }
    if (!claims) throw new HoldfastError('Unauthorized', 'single sign-on refused: the provider sent no ID token');
    const email = typeof claims.email === 'string' ? claims.email.toLowerCase() : undefined;
    if (!email) throw new HoldfastError('Unauthorized', `single sign-on refused: the ID token has no email claim (ask for the "email" scope with --oidc-scopes)`);
    if (claims.email_verified === false) throw new HoldfastError('Forbidden', `single sign-on refused: the provider has not verified the email ${email}`);
    const domain = email.slice(email.lastIndexOf('@') + 1);
    if (this.config.allowedDomains.length && !this.config.allowedDomains.includes(domain)) {
      throw new HoldfastError('Forbidden', `single sign-on refused: ${email} is not in an allowed domain (${this.config.allowedDomains.join(', ')})`, { details: { kind: 'User', name: email } });
    }
    const raw = claims[this.config.groupsClaim];
    const groups = Array.isArray(raw) ? raw.filter((g): g is string => typeof g === 'string') : [];
    return { name: email, groups, subject: claims.sub };
  }

  /** Discovery, once it has succeeded; a failed one is tried again on the next sign-in. */
  private provider(): Promise<client.Configuration> {
    this.discovered ??= client
      .discovery(this.config.issuer, this.config.clientId, undefined, client.ClientSecretBasic(this.config.clientSecret), {
        ...(this.config.issuer.protocol === 'http:' ? { execute: [client.allowInsecureRequests] } : {}),
        timeout: 10,
      })
      .catch((err: unknown) => {
        this.discovered = undefined;
        throw new HoldfastError('ServiceUnavailable', `single sign-on: the provider ${this.config.issuer.href} cannot be discovered: ${describe(err)}`);
      });
    return this.discovered;
  }
}

/**
 * openid-client's errors wrap oauth4webapi's, which say what was wrong (e.g. 'unexpected JWT "aud"
 * (audience) claim value'); an error the provider sent back instead of a code names itself.
 */
function describe(err: unknown): string {
  if (err instanceof client.AuthorizationResponseError) {
    return `the provider answered ${err.error}${err.error_description ? ` (${err.error_description})` : ''}`;
  }
  if (!(err instanceof Error)) return String(err);
  const cause = (err as { cause?: unknown }).cause;
  return cause instanceof Error && cause.message ? cause.message : err.message;
}
