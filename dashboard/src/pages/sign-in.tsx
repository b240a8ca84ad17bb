import { useEffect, useState, type FormEvent } from 'react';
import { API_BASE, ApiClient, ApiError, type Credential } from '../api/client.js';

type Method = 'password' | 'token';

export function SignIn({ notice, onSignedIn }: { notice?: string; onSignedIn: (credential: Credential) => void }) {
  const [method, setMethod] = useState<Method>('password');
  const [singleSignOn, setSingleSignOn] = useState(false);
  useEffect(() => {
    new ApiClient({ session: true })
      .json<{ oidc?: boolean }>('/auth/methods')
      .then((methods) => setSingleSignOn(methods.oidc === true))
      .catch(() => setSingleSignOn(false));
  }, []);
  return (
    <div className="signin">
      <div className="signin__card">
        <h1 className="signin__title">
          <span className="brand__mark" aria-hidden="true" />
          Holdfast
        </h1>
        <p className="muted">Sign in to see your servers and services.</p>
        {notice && (
          <p className="notice" role="status">
            {notice}
          </p>
        )}
        {singleSignOn && (
          // A full navigation: the provider's pages, then the callback that sets the session cookie.
          <a className="button button--primary" href="/auth/oidc/login">
            Sign in with single sign-on
          </a>
        )}
        {method === 'password' ? <PasswordForm onSignedIn={onSignedIn} /> : <TokenForm onSignedIn={onSignedIn} />}
        <button type="button" className="button button--quiet" onClick={() => setMethod(method === 'password' ? 'token' : 'password')}>
          {method === 'password' ? 'Use an API token instead' : 'Use a user name and password instead'}
        </button>
      </div>
    </div>
  );
}

function PasswordForm({ onSignedIn }: { onSignedIn: (credential: Credential) => void }) {
  const [username, setUsername] = useState('');
  const [password, setPassword] = useState('');
  // Shown once the server says the user has a second factor.
  const [totp, setTotp] = useState<string>();
  const [error, setError] = useState<string>();
  const [checking, setChecking] = useState(false);

  async function submit(e: FormEvent) {
    e.preventDefault();
    if (!username.trim() || !password) {
      setError('Enter your user name and password.');
      return;
    }
    if (totp !== undefined && !/^\d{6}$/.test(totp.trim())) {
      setError('Enter the 6-digit code from your authenticator app.');
      return;
    }
    setChecking(true);
    setError(undefined);
    try {
      // The answer sets the HttpOnly session cookie and the CSRF cookie; nothing to keep here.
      await new ApiClient({ session: true }).json('/auth/login', { method: 'POST', body: { username: username.trim(), password, ...(totp !== undefined ? { totp: totp.trim() } : {}) } });
      onSignedIn({ session: true });
    } catch (err) {
      setChecking(false);
      const codeCause = err instanceof ApiError && err.code === 401 ? err.causes.find((c) => c.field === 'totp') : undefined;
      if (codeCause && totp === undefined) {
        setTotp('');
        setError('Enter the one-time code from your authenticator app.');
      } else if (codeCause) {
        setTotp('');
        setError('Wrong or already used one-time code: wait for the next one.');
      } else if (err instanceof ApiError && err.code === 401) setError('Wrong user name or password.');
      else setError(err instanceof ApiError ? err.message : 'Could not sign in.');
    }
  }

  return (
    <form onSubmit={submit} noValidate>
      <label className="field">
        <span className="field__label">User name</span>
        <input
          className="input"
          name="username"
          autoComplete="username"
          spellCheck={false}
          autoFocus
          value={username}
          onChange={(e) => setUsername(e.target.value)}
          aria-invalid={error ? true : undefined}
        />
      </label>
      <label className="field">
        <span className="field__label">Password</span>
        <input
          className="input"
          type="password"
          name="password"
          autoComplete="current-password"
          value={password}
          onChange={(e) => setPassword(e.target.value)}
          aria-invalid={error ? true : undefined}
          aria-describedby={error ? 'signin-error' : undefined}
        />
      </label>
      {totp !== undefined && (
        <label className="field">
          <span className="field__label">One-time code</span>
          <input
            className="input"
            name="totp"
            inputMode="numeric"
            autoComplete="one-time-code"
            autoFocus
            maxLength={6}
            value={totp}
            onChange={(e) => setTotp(e.target.value)}
            aria-invalid={error ? true : undefined}
            aria-describedby={error ? 'signin-error' : undefined}
          />
        </label>
      )}
      {error && (
        <p id="signin-error" className="field__error" role="alert">
          {error}
        </p>
      )}
      <button className="button button--primary" type="submit" disabled={checking}>
        {checking ? 'Signing in…' : 'Sign in'}
      </button>
    </form>
  );
}

function TokenForm({ onSignedIn }: { onSignedIn: (credential: Credential) => void }) {
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
      await new ApiClient({ token: candidate }).json(API_BASE);
      onSignedIn({ token: candidate });
    } catch (err) {
      setChecking(false);
      if (err instanceof ApiError && err.code === 401) setError('The server does not accept this token: it is unknown, revoked or expired.');
      else setError(err instanceof ApiError ? err.message : 'Could not check the token.');
    }
  }

  return (
    <form onSubmit={submit} noValidate>
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
          <code>holdfast serve</code> writes the first admin token to <code>admin.token</code> in its data directory. The token stays in this tab only.
        </p>
      )}
      <button className="button button--primary" type="submit" disabled={checking}>
        {checking ? 'Checking…' : 'Sign in'}
      </button>
    </form>
  );
}
