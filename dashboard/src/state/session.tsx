// The signed-in session: an API token, kept in sessionStorage (gone when the tab closes, never in a
// URL), or a password sign-in's HttpOnly session cookie, which the script never sees; the client
// built from it and the resource caches that client feeds.
import { createContext, useContext, useEffect, useMemo, type ReactNode } from 'react';
import { ApiClient, csrfCookie, type Credential } from '../api/client.js';
import { ResourceCache } from './resources.js';

const TOKEN_KEY = 'holdfast.token';

interface Session {
  client: ApiClient;
  cache: ResourceCache;
  signOut: (reason?: string) => void;
}

const SessionContext = createContext<Session | undefined>(undefined);

export function useSession(): Session {
  const session = useContext(SessionContext);
  if (!session) throw new Error('useSession outside a signed-in session');
  return session;
}

/** The credential this tab signed in with: a stored token, else a session cookie the server set. */
export function readStoredCredential(): Credential | undefined {
  let token: string | undefined;
  try {
    token = sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    token = undefined;
  }
  if (token) return { token };
  return csrfCookie() ? { session: true } : undefined;
}

export function storeToken(token: string | undefined) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token lives in memory for this page only.
  }
}

export function SessionProvider({ credential, onSignOut, children }: { credential: Credential; onSignOut: (reason?: string) => void; children: ReactNode }) {
  const session = useMemo(() => {
    const ended = 'token' in credential ? 'The server no longer accepts this token. Sign in with a valid one.' : 'Your session has ended (signed out, revoked or timed out). Sign in again.';
    const client = new ApiClient(credential, () => onSignOut(ended));
    return { client, cache: new ResourceCache(client), signOut: onSignOut };
  }, [credential, onSignOut]);
  useEffect(() => () => session.cache.stopAll(), [session]);
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}
