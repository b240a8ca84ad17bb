// Secrets: every Secret's name, project, type and key names, and who changed it when (from the
// audit log). Values are write-only: the API never returns them, and this page has none to show.
import { API_BASE } from '../api/client.js';
import type { AuditEvent, Resource } from '../api/types.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { Time } from '../components/time.js';
import { useRemote } from '../state/remote.js';
import { useTitle } from '../state/title.js';

type Secret = Resource<{ type?: string }, { keys?: string[] }>;

/** How far back the page looks for who changed a Secret. */
const HISTORY_SINCE = '90d';
const CHANGES_SHOWN = 3;

export function Secrets() {
  useTitle('Secrets');
  const secrets = useRemote<{ items: Secret[] }>(`${API_BASE}/secrets`);
  const audit = useRemote<{ items: AuditEvent[] }>(`${API_BASE}/auditlog?kind=Secret&since=${HISTORY_SINCE}&limit=500`);
  const changes = audit.status === 'ready' ? changesBySecret(audit.data.items) : undefined;
  return (
    <div className="page">
      <header className="page__header">
        <h1>Secrets</h1>
        <p className="page__sub">Names and keys only: values are write-only and never leave the server.</p>
      </header>
      <section className="card card--flush" aria-label="Secrets">
        {secrets.status === 'loading' ? (
          <Loading label="Loading secrets…" />
        ) : secrets.status === 'error' || secrets.status === 'unavailable' ? (
          <ErrorState title="Could not load the secrets" error={secrets.error} />
        ) : secrets.data.items.length === 0 ? (
          <Empty title="No secrets yet">
            Set one with <code>holdfast secret set NAME KEY=VALUE -n PROJECT</code>; Services reference its keys with <code>secretKeyRef</code>.
          </Empty>
        ) : (
          <div className="table-wrap">
            <table className="table">
              <thead>
                <tr>
                  <th scope="col">Secret</th>
                  <th scope="col">Project</th>
                  <th scope="col">Type</th>
                  <th scope="col">Keys</th>
                  <th scope="col">Changed</th>
                </tr>
              </thead>
              <tbody>
                {secrets.data.items.map((s) => {
                  const key = `${s.metadata.namespace}/${s.metadata.name}`;
                  return (
                    <tr key={key} data-secret={key}>
                      <td className="mono">{s.metadata.name}</td>
                      <td>{s.metadata.namespace}</td>
                      <td>{s.spec?.type ?? 'Opaque'}</td>
                      <td className="mono" data-field="keys">
                        {s.status?.keys?.length ? s.status.keys.join(', ') : '—'}
                      </td>
                      <td data-field="changes">
                        {changes === undefined ? (
                          audit.status === 'loading' ? (
                            '…'
                          ) : (
                            <span className="muted small">{audit.status === 'ready' ? '' : 'who changed it needs the audit:read scope'}</span>
                          )
                        ) : (
                          <ChangeList changes={changes.get(key) ?? []} created={s.metadata.creationTimestamp} />
                        )}
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        )}
      </section>
    </div>
  );
}

function ChangeList({ changes, created }: { changes: AuditEvent[]; created?: string }) {
  if (changes.length === 0) {
    return (
      <span className="small">
        created <Time iso={created} />
      </span>
    );
  }
  return (
    <ul className="list small">
      {changes.slice(0, CHANGES_SHOWN).map((c) => (
        <li key={c.id}>
          {c.verb} by <span className="mono">{c.actor}</span> <Time iso={c.time} />
        </li>
      ))}
    </ul>
  );
}

/** Successful writes to each Secret (`namespace/name`), newest first. */
function changesBySecret(rows: readonly AuditEvent[]): Map<string, AuditEvent[]> {
  const byKey = new Map<string, AuditEvent[]>();
  for (const row of rows) {
    if (row.outcome !== 'Success' || row.dryRun || row.verb === 'get' || row.verb === 'list') continue;
    const key = `${row.namespace}/${row.name}`;
    byKey.set(key, [row, ...(byKey.get(key) ?? [])]);
  }
  return byKey;
}
