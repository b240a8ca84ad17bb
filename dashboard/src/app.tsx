// The application shell: sign-in gate, header with navigation and the live-connection indicator,
// and the page for the current route.
import { useCallback, useEffect, useRef, useState } from 'react';
import { href, type Route } from './model/route.js';
import { Overview } from './pages/overview.js';
import { ServerDetail } from './pages/server-detail.js';
import { Servers } from './pages/servers.js';
import { ServiceDetail } from './pages/service-detail.js';
import { Services } from './pages/services.js';
import { Events } from './pages/events.js';
import { Backups } from './pages/backups.js';
import { Secrets } from './pages/secrets.js';
import { Sources } from './pages/sources.js';
import { Tokens } from './pages/tokens.js';
import { SignIn } from './pages/sign-in.js';
import { useConnection } from './state/hooks.js';
import { useRoute } from './state/route.js';
import type { Credential } from './api/client.js';
import { readStoredCredential, SessionProvider, storeToken, useSession } from './state/session.js';
import { PageErrorBoundary } from './components/error-boundary.js';
import { Empty } from './components/states.js';

export function App() {
  const [credential, setCredential] = useState(readStoredCredential);
  const [notice, setNotice] = useState<string>();
  const signOut = useCallback((reason?: string) => {
    storeToken(undefined);
    setCredential(undefined);
    setNotice(reason);
  }, []);
  const signIn = useCallback((next: Credential) => {
    storeToken('token' in next ? next.token : undefined);
    setNotice(undefined);
    setCredential(next);
  }, []);
  if (!credential) return <SignIn notice={notice} onSignedIn={signIn} />;
  return (
    <SessionProvider credential={credential} onSignOut={signOut}>
      <Shell />
    </SessionProvider>
  );
}

const NAV: Array<{ label: string; href: string; pages: Route['page'][] }> = [
  { label: 'Overview', href: href.overview(), pages: ['overview'] },
  { label: 'Services', href: href.services(), pages: ['services', 'service'] },
  { label: 'Servers', href: href.servers(), pages: ['servers', 'server'] },
  { label: 'Events', href: href.events(), pages: ['events'] },
  { label: 'Backups', href: href.backups(), pages: ['backups'] },
  { label: 'Secrets', href: href.secrets(), pages: ['secrets'] },
  { label: 'Git sources', href: href.sources(), pages: ['sources'] },
  { label: 'Tokens', href: href.tokens(), pages: ['tokens'] },
];

function Shell() {
  const route = useRoute();
  const { client, signOut } = useSession();
  // A password sign-in ends its session on the server; a token stays valid and is only forgotten.
  const endSession = () =>
    void client
      .send('/auth/logout', { method: 'POST', body: {} })
      .catch(() => undefined)
      .finally(() => signOut());
  const main = useRef<HTMLElement>(null);
  // After navigation, move focus to the page so keyboard and screen-reader users start there.
  const firstRender = useRef(true);
  useEffect(() => {
    if (firstRender.current) {
      firstRender.current = false;
      return;
    }
    main.current?.focus({ preventScroll: true });
    window.scrollTo(0, 0);
  }, [route.page, 'name' in route ? route.name : '']);

  return (
    <div className="app">
      <a className="skip-link" href="#main" onClick={(e) => { e.preventDefault(); main.current?.focus(); }}>
        Skip to content
      </a>
      <header className="topbar">
        <a className="brand" href={href.overview()}>
          <span className="brand__mark" aria-hidden="true" />
          Holdfast
        </a>
        <nav className="nav" aria-label="Main">
          {NAV.map((item) => (
            <a key={item.label} href={item.href} className="nav__link" aria-current={item.pages.includes(route.page) ? 'page' : undefined}>
              {item.label}
            </a>
          ))}
        </nav>
        <div className="topbar__end">
          <ConnectionIndicator />
          <button type="button" className="button button--quiet" onClick={client.signedInWithSession ? endSession : () => signOut()}>
            Sign out
          </button>
        </div>
      </header>
      <main id="main" ref={main} tabIndex={-1} className="main">
        <PageErrorBoundary key={window.location.hash.split('?')[0]}>
          <Page route={route} />
        </PageErrorBoundary>
      </main>
    </div>
  );
}

function Page({ route }: { route: Route }) {
  switch (route.page) {
    case 'overview':
      return <Overview />;
    case 'services':
      return <Services filters={route.filters} />;
    case 'service':
      return <ServiceDetail key={`${route.namespace}/${route.name}`} namespace={route.namespace} name={route.name} />;
    case 'servers':
      return <Servers />;
    case 'server':
      return <ServerDetail key={route.name} name={route.name} />;
    case 'events':
      return <Events tab={route.tab} />;
    case 'backups':
      return <Backups />;
    case 'secrets':
      return <Secrets />;
    case 'sources':
      return <Sources />;
    case 'tokens':
      return <Tokens />;
    case 'not-found':
      return (
        <Empty title="There is no page here">
          <p>
            Nothing lives at <code>{route.path}</code>. <a href={href.overview()}>Go to the overview</a>.
          </p>
        </Empty>
      );
  }
}

function ConnectionIndicator() {
  const connection = useConnection();
  const label = { live: 'Live', connecting: 'Connecting…', reconnecting: 'Reconnecting…', idle: 'Idle' }[connection];
  return (
    <span className={`live live--${connection}`} role="status" aria-live="polite" title="Updates arrive through the API's watch stream">
      <span className="live__dot" aria-hidden="true" />
      {label}
    </span>
  );
}
