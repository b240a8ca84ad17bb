import { useState, type FormEvent } from 'react';
import { API_BASE, ApiClient, ApiError } from '../api/client.js';

export function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: (token: string) => void }) {
  const [token, setToken] = useState('');
  const [error, setError] = useState<string>();
  const [checking, setChecking] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    const candidate = token.trim();
    if (!candidate) {
      setError('Paste an API token first.');
      return;
    }
    setChecking(true);
    setError(undefined);
    try {
      // Any authenticated read proves the token; discovery is the cheapest.
      await new ApiClient(candidate).json(API_BASE);
      onSignedIn(candidate);
    } catch (err) {
      setChecking(false);
      if (err instanceof ApiError && err.code === 401) setError('The server does not accept this token: it is unknown, revoked or expired.');
      else setError(err instanceof ApiError ? err.message : 'Could not check the token.');
    }
  }

  return (
    <div className="signin">
      <form className="signin__card" onSubmit={submit} noValidate>
        <h1 className="signin__title">
          <span className="brand__mark" aria-hidden="true" />
          Holdfast
        </h1>
        <p className="muted">Sign in with an API token to see your servers and services.</p>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        <label className="field">
          <span className="field__label">API token</span>
          <input
            className="input"
            type="password"
            name="token"
            autoComplete="off"
            spellCheck={false}
            autoFocus
            value={token}
            onChange={(e) => setToken(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? 'signin-error' : 'signin-hint'}
          />
        </label>
        {error ? (
          <p id="signin-error" className="field__error" role="alert">
            {error}
          </p>
        ) : (
          <p id="signin-hint" className="field__hint">
            <code>holdfast serve</code> writes the first admin token to <code>admin.token</code> in its data directory. The token stays in this tab
            only.
          </p>
        )}
        <button className="button button--primary" type="submit" disabled={checking}>
          {checking ? 'Checking…' : 'Sign in'}
        </button>
      </form>
    </div>
  );
}
