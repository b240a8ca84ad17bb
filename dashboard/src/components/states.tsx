// The loading, empty and error states every section shares, so none is ever a blank box.
import type { ReactNode } from 'react';
import { ApiError } from '../api/client.js';

export function Loading({ label = 'Loading…' }: { label?: string }) {
  return (
    <div className="state state--loading" role="status" aria-live="polite">
      <span className="spinner" aria-hidden="true" />
      {label}
    </div>
  );
}

export function Empty({ title, children }: { title: string; children?: ReactNode }) {
  return (
    <div className="state state--empty">
      <p className="state__title">{title}</p>
      {children && <div className="state__body">{children}</div>}
    </div>
  );
}

export function ErrorState({ title = 'Could not load this', error, onRetry }: { title?: string; error: unknown; onRetry?: () => void }) {
  const api = error instanceof ApiError ? error : undefined;
  return (
    <div className="state state--error" role="alert">
      <p className="state__title">{title}</p>
      <p className="state__body">{api ? api.message : 'Something went wrong in the dashboard.'}</p>
      {api?.causes.length ? (
        <ul className="causes">
          {api.causes.map((c, i) => (
            <li key={i}>
              {c.field && <code>{c.field}</code>} {c.message}
            </li>
          ))}
        </ul>
      ) : null}
      {api && api.code === 403 && <p className="state__hint">You are not allowed to see this: your roles (or your token's scopes) do not grant it. The message above says what is missing.</p>}
      {onRetry && (
        <button type="button" className="button" onClick={onRetry}>
          Try again
        </button>
      )}
    </div>
  );
}

/** A section that is loading, failed before its first data, or empty, or else shows its children. */
export function Guard({
  synced,
  error,
  empty,
  loadingLabel,
  children,
}: {
  synced: boolean;
  error?: unknown;
  empty?: ReactNode;
  loadingLabel?: string;
  children: ReactNode;
}) {
  if (!synced && error) return <ErrorState error={error} />;
  if (!synced) return <Loading label={loadingLabel} />;
  if (empty) return <>{empty}</>;
  return <>{children}</>;
}
