import { useMemo, useState } from 'react';
import { API_BASE } from '../api/client.js';
import type { AuditEntry } from '../api/types.js';
import { StateBadge } from '../components/badges.js';
import { EventList, newestFirst } from '../components/event-list.js';
import { Empty, ErrorState, Guard, Loading } from '../components/states.js';
import { Time } from '../components/time.js';
import { href } from '../model/route.js';
import { useResources } from '../state/hooks.js';
import { useRemote } from '../state/remote.js';

export function Events({ tab }: { tab: 'events' | 'audit' }) {
  return (
    <div className="page">
      <header className="page__header">
        <h1>Events and audit</h1>
      </header>
      <nav className="tabs" aria-label="Timelines">
        <a className="tabs__tab" href={href.events('events')} aria-current={tab === 'events' ? 'page' : undefined}>
          Events
        </a>
        <a className="tabs__tab" href={href.events('audit')} aria-current={tab === 'audit' ? 'page' : undefined}>
          Audit log
        </a>
      </nav>
      {tab === 'events' ? <EventsTimeline /> : <AuditTimeline />}
    </div>
  );
}

function EventsTimeline() {
  const events = useResources('events');
  const [warningsOnly, setWarningsOnly] = useState(false);
  const [query, setQuery] = useState('');
  const sorted = useMemo(() => newestFirst(events.items), [events.items]);
  const q = query.trim().toLowerCase();
  const shown = sorted.filter(
    (e) =>
      (!warningsOnly || e.type === 'Warning') &&
      (!q || `${e.reason} ${e.message} ${e.involvedObject.namespace ?? ''}/${e.involvedObject.name}`.toLowerCase().includes(q)),
  );
  return (
    <section className="card" aria-label="Events">
      <form className="filters filters--inline" role="search" aria-label="Filter events" onSubmit={(e) => e.preventDefault()}>
        <label className="checkbox">
          <input type="checkbox" checked={warningsOnly} onChange={(e) => setWarningsOnly(e.target.checked)} />
          Warnings only
        </label>
        <label className="field field--inline field--grow">
          <span className="field__label">Search</span>
          <input className="input" type="search" value={query} placeholder="reason, message or object" onChange={(e) => setQuery(e.target.value)} />
        </label>
      </form>
      <Guard
        synced={events.synced}
        error={events.error}
        loadingLabel="Loading events…"
        empty={
          sorted.length === 0 ? (
            <Empty title="No events in the last hour">Controllers record deployments, drift and server checks as events; they expire after an hour.</Empty>
          ) : shown.length === 0 ? (
            <Empty title="No event matches" />
          ) : undefined
        }
      >
        <EventList events={shown.slice(0, 500)} />
      </Guard>
    </section>
  );
}

function AuditTimeline() {
  const [refresh, setRefresh] = useState(0);
  const audit = useRemote<{ items: AuditEntry[] }>(`${API_BASE}/auditlog?limit=200`, refresh);
  return (
    <section className="card" aria-label="Audit log">
      <div className="card__header">
        <p className="muted small">Every write through the API: who, what, and whether it was allowed.</p>
        <button type="button" className="button" onClick={() => setRefresh((n) => n + 1)}>
          Refresh
        </button>
      </div>
      {audit.status === 'loading' ? (
        <Loading label="Loading the audit log…" />
      ) : audit.status === 'unavailable' ? (
        <Empty title="The audit log is not available from this server yet">
          Writes are recorded already; this view lights up when the server serves <code>/auditlog</code>.
        </Empty>
      ) : audit.status === 'error' ? (
        <ErrorState title="Could not load the audit log" error={audit.error} />
      ) : audit.data.items.length === 0 ? (
        <Empty title="No writes recorded yet" />
      ) : (
        <div className="table-wrap">
          <table className="table table--compact table--cards">
            <thead>
              <tr>
                <th scope="col">When</th>
                <th scope="col">Actor</th>
                <th scope="col">Verb</th>
                <th scope="col">Object</th>
                <th scope="col">Outcome</th>
                <th scope="col">Message</th>
              </tr>
            </thead>
            <tbody>
              {[...audit.data.items]
                .sort((a, b) => b.at.localeCompare(a.at))
                .map((a, i) => (
                  <tr key={a.id ?? i}>
                    <td data-label="When">
                      <Time iso={a.at} />
                    </td>
                    <td data-label="Actor">{a.actor}</td>
                    <td data-label="Verb">
                      {a.verb}
                      {a.dryRun ? <span className="muted"> (dry run)</span> : null}
                    </td>
                    <td data-label="Object" className="mono">
                      {a.kind.toLowerCase()}/{a.namespace ? `${a.namespace}/` : ''}
                      {a.name}
                    </td>
                    <td data-label="Outcome">
                      <StateBadge tone={/^(success|ok|allowed)$/i.test(a.outcome) ? 'synced' : 'failed'} label={a.outcome} />
                    </td>
                    <td data-label="Message" className="wrap">
                      {a.message ?? ''}
                    </td>
                  </tr>
                ))}
            </tbody>
          </table>
        </div>
      )}
    </section>
  );
}
