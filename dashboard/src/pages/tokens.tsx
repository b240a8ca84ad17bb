// API tokens: who holds which scopes until when, creating one (its value is shown once, here, and
// never again) and revoking one. Needs the token:admin scope; a token grants only scopes it holds.
import { useState } from 'react';
import { SCOPE_PERMISSIONS } from '../../../core/authz/rbac.js';
import { API_BASE } from '../api/client.js';
import { ConfirmAction } from '../components/confirm-dialog.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { Time } from '../components/time.js';
import { useCan } from '../state/access.js';
import { useRemote } from '../state/remote.js';
import { useSession } from '../state/session.js';
import { useTitle } from '../state/title.js';
import './tokens.css';

interface Token {
  id: string;
  name: string;
  scopes: string[];
  subject?: string;
  prefix: string;
  createdAt: string;
  expiresAt?: string;
  revokedAt?: string;
  lastUsedAt?: string;
}

const EXPIRIES = [
  { value: '1d', label: '1 day' },
  { value: '7d', label: '7 days' },
  { value: '30d', label: '30 days' },
  { value: '90d', label: '90 days' },
  { value: '', label: 'never' },
];

const ALL_SCOPES = Object.keys(SCOPE_PERMISSIONS);

export function Tokens() {
  useTitle('Tokens');
  const [changed, setChanged] = useState(0);
  const tokens = useRemote<{ items: Token[] }>(`${API_BASE}/tokens`, changed);
  const canAdmin = useCan('write', 'tokens') === 'allowed';
  const [created, setCreated] = useState<Token & { token: string }>();
  const refresh = () => setChanged((n) => n + 1);
  return (
    <div className="page">
      <header className="page__header">
        <h1>Tokens</h1>
        <p className="page__sub">API tokens for the CLI, kubectl and automation. A token's value is shown once, when it is created.</p>
      </header>
      {canAdmin && (
        <CreateToken
          onCreated={(t) => {
            setCreated(t);
            refresh();
          }}
        />
      )}
      {created && <CreatedToken token={created} onDismiss={() => setCreated(undefined)} />}
      <section className="card card--flush" aria-label="Tokens">
        {tokens.status === 'loading' ? (
          <Loading label="Loading tokens…" />
        ) : tokens.status === 'error' || tokens.status === 'unavailable' ? (
          <ErrorState title="Could not load the tokens" error={tokens.error} />
        ) : tokens.data.items.length === 0 ? (
          <Empty title="No tokens" />
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Name</th>
                  <th scope="col">Starts with</th>
                  <th scope="col">Scopes</th>
                  <th scope="col">Created</th>
                  <th scope="col">Expires</th>
                  <th scope="col">Last used</th>
                  <th scope="col">State</th>
                </tr>
              </thead>
              <tbody>
                {tokens.data.items.map((t) => (
                  <tr key={t.id} data-token={t.name}>
                    <td>
                      {t.name}
                      {t.subject ? <span className="muted small"> for {t.subject}</span> : null}
                    </td>
                    <td className="mono">{t.prefix}…</td>
                    <td className="mono small">{t.scopes.join(', ')}</td>
                    <td>
                      <Time iso={t.createdAt} />
                    </td>
                    <td>{t.expiresAt ? <Time iso={t.expiresAt} /> : 'never'}</td>
                    <td>{t.lastUsedAt ? <Time iso={t.lastUsedAt} /> : 'never'}</td>
                    <td data-field="state">
                      {t.revokedAt ? (
                        <>
                          revoked <Time iso={t.revokedAt} />
                        </>
                      ) : t.expiresAt && Date.parse(t.expiresAt) < Date.now() ? (
                        'expired'
                      ) : canAdmin ? (
                        <RevokeToken token={t} onRevoked={refresh} />
                      ) : (
                        'active'
                      )}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}

function CreateToken({ onCreated }: { onCreated: (t: Token & { token: string }) => void }) {
  const { client } = useSession();
  const [name, setName] = useState('');
  const [scopes, setScopes] = useState<string[]>([]);
  const [expiresIn, setExpiresIn] = useState('30d');
  const [error, setError] = useState<string>();
  const [busy, setBusy] = useState(false);
  const create = async () => {
    setBusy(true);
    setError(undefined);
    try {
      const t = await client.json<Token & { token: string }>(`${API_BASE}/tokens`, { method: 'POST', body: { name, scopes, ...(expiresIn ? { expiresIn } : {}) } });
      setName('');
      setScopes([]);
      onCreated(t);
    } catch (err) {
      setError((err as Error).message);
    } finally {
      setBusy(false);
    }
  };
  return (
    <section className="card" aria-labelledby="create-token-heading">
      <h2 id="create-token-heading">Create a token</h2>
      <form
        className="token-form"
        onSubmit={(e) => {
          e.preventDefault();
          void create();
        }}
      >
        <label className="field">
          <span className="field__label">Name</span>
          <input className="input" required value={name} onChange={(e) => setName(e.target.value)} placeholder="ci" autoComplete="off" />
        </label>
        <label className="field">
          <span className="field__label">Expires after</span>
          <select className="input" value={expiresIn} onChange={(e) => setExpiresIn(e.target.value)}>
            {EXPIRIES.map((x) => (
              <option key={x.value} value={x.value}>
                {x.label}
              </option>
            ))}
          </select>
        </label>
        <fieldset className="token-form__scopes">
          <legend className="field__label">Scopes (a token grants only scopes yours holds)</legend>
          {ALL_SCOPES.map((scope) => (
            <label key={scope} className="checkbox mono small">
              <input type="checkbox" checked={scopes.includes(scope)} onChange={(e) => setScopes(e.target.checked ? [...scopes, scope] : scopes.filter((s) => s !== scope))} />
              {scope}
            </label>
          ))}
        </fieldset>
        {error && (
          <p className="dialog__error" role="alert">
            {error}
          </p>
        )}
        <div>
          <button type="submit" className="button button--primary" disabled={busy || !name || scopes.length === 0}>
            {busy ? 'Creating…' : 'Create token'}
          </button>
        </div>
      </form>
    </section>
  );
}

function CreatedToken({ token, onDismiss }: { token: Token & { token: string }; onDismiss: () => void }) {
  const [note, setNote] = useState<string>();
  return (
    <section className="card notice" aria-labelledby="created-token-heading" data-testid="created-token">
      <h2 id="created-token-heading">Token {token.name} created</h2>
      <p>Copy it now: it is shown only this once, and the server keeps only its hash.</p>
      <label className="field">
        <span className="field__label">Token</span>
        <input className="input mono" readOnly value={token.token} onFocus={(e) => e.currentTarget.select()} />
      </label>
      <div className="actions">
        <button
          type="button"
          className="button"
          onClick={() =>
            navigator.clipboard.writeText(token.token).then(
              () => setNote('Copied'),
              () => setNote('The browser refused the clipboard: select the token and copy it'),
            )
          }
        >
          Copy
        </button>
        <button type="button" className="button" onClick={onDismiss}>
          Done
        </button>
        <span className="actions__note small" role="status" aria-live="polite">
          {note}
        </span>
      </div>
    </section>
  );
}

function RevokeToken({ token, onRevoked }: { token: Token; onRevoked: () => void }) {
  const { client } = useSession();
  return (
    <ConfirmAction
      label="Revoke…"
      buttonClassName="button button--quiet"
      title={`Revoke token ${token.name}?`}
      confirmLabel="Revoke"
      destructive
      run={() => client.json<Token>(`${API_BASE}/tokens/${encodeURIComponent(token.id)}`, { method: 'DELETE' })}
      onDone={onRevoked}
    >
      <p>
        Everything that uses the token starting <span className="mono">{token.prefix}</span> ({token.scopes.join(', ')}) is refused from now on. This cannot be undone: create a new
        token instead.
      </p>
    </ConfirmAction>
  );
}
