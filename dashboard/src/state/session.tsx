// The signed-in session: the API token, kept in sessionStorage (gone when the tab closes, never in a
// URL), the client built from it and the resource caches that client feeds.
import { createContext, useContext, useEffect, useMemo, type ReactNode } from 'react';
import { ApiClient } from '../api/client.js';
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

export function readStoredToken(): string | undefined {
  try {
    return sessionStorage.getItem(TOKEN_KEY) ?? undefined;
  } catch {
    return undefined;
  }
}

export function storeToken(token: string | undefined) {
  try {
    if (token) sessionStorage.setItem(TOKEN_KEY, token);
    else sessionStorage.removeItem(TOKEN_KEY);
  } catch {
    // Storage disabled: the token lives in memory for this page only.
  }
}

export function SessionProvider({ token, onSignOut, children }: { token: string; onSignOut: (reason?: string) => void; children: ReactNode }) {
  const session = useMemo(() => {
    const client = new ApiClient(token, () => onSignOut('The server no longer accepts this token. Sign in with a valid one.'));
    return { client, cache: new ResourceCache(client), signOut: onSignOut };
  }, [token, onSignOut]);
  useEffect(() => () => session.cache.stopAll(), [session]);
  return <SessionContext.Provider value={session}>{children}</SessionContext.Provider>;
}
