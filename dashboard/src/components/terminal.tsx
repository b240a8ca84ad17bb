// A terminal in the browser (xterm.js) on the API's exec and shell WebSockets, in Kubernetes'
// channel protocol: a shell in a Service's container or the login shell of a server. Offered only
// when the token may open terminals (asked with an access review); the session's end shows the
// exit code the server reports.
import { lazy, Suspense, useEffect, useState } from 'react';
import { useCan } from '../state/access.js';
import type { TerminalTarget } from './terminal-session.js';

// xterm.js is loaded with the first session, not with the dashboard.
const TerminalSession = lazy(() => import('./terminal-session.js').then((m) => ({ default: m.TerminalSession })));

export function TerminalPanel({ target }: { target: TerminalTarget }) {
  const [session, setSession] = useState(0);
  const key = target.kind === 'service' ? `${target.namespace}/${target.name}` : target.name;
  const access = useCan('exec', target.kind === 'service' ? 'services' : 'servers', target.kind === 'service' ? target.namespace : undefined, target.name);
  useEffect(() => setSession(0), [key]);

  if (access === 'asking') return null;
  if (access !== 'allowed') {
    return (
      <p className="muted small" data-testid="terminal-refused">
        {access === 'refused' ? 'Your token cannot open terminals here: that needs the terminal:open scope.' : `Whether your token may open a terminal could not be learned: ${access.unknown}`}
      </p>
    );
  }
  return (
    <div className="terminal-panel" data-testid="terminal-panel">
      {session === 0 ? (
        <button type="button" className="button" onClick={() => setSession(1)}>
          {target.kind === 'service' ? 'Open a shell in a replica' : 'Open a shell on the server'}
        </button>
      ) : (
        <Suspense fallback={<p className="small">Loading the terminal…</p>}>
          <TerminalSession key={session} target={target} onRestart={() => setSession(session + 1)} />
        </Suspense>
      )}
    </div>
  );
}
