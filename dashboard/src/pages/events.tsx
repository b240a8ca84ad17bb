import { useEffect, useMemo, useState } from 'react';
import { API_BASE, ApiError } from '../api/client.js';
import type { AuditEvent } from '../api/types.js';
import { StateBadge } from '../components/badges.js';
import { EventList, newestFirst } from '../components/event-list.js';
import { Empty, ErrorState, Guard, Loading } from '../components/states.js';
import { Time } from '../components/time.js';
import { href } from '../model/route.js';
import { useResources } from '../state/hooks.js';
import { useSession } from '../state/session.js';
import { useTitle } from '../state/title.js';

export function Events({ tab }: { tab: 'events' | 'audit' }) {
  useTitle(tab === 'audit' ? 'Audit log' : 'Events');
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

const AUDIT_WINDOWS = [
  { value: '1h', label: 'Last hour' },
  { value: '24h', label: 'Last 24 hours' },
  { value: '168h', label: 'Last 7 days' },
];

function AuditTimeline() {
  const [since, setSince] = useState('24h');
  const [refresh, setRefresh] = useState(0);
  const [query, setQuery] = useState('');
  const [person, setPerson] = useState('');
  const [verb, setVerb] = useState('');
  // The server filters by person and verb, so a busy log does not push a person's rows out of the window.
  const audit = useAuditLog(since, refresh, person.trim(), verb);
  const people = useMemo(() => (audit.status === 'ready' ? [...new Set(audit.items.map((a) => a.actor))].sort() : []), [audit]);
  const q = query.trim().toLowerCase();
  const shown = audit.status === 'ready' ? audit.items.filter((a) => !q || `${a.actor} ${a.verb} ${auditObjectLabel(a)} ${a.outcome} ${a.message ?? ''}`.toLowerCase().includes(q)) : [];
  return (
    <section className="card" aria-label="Audit log">
      <p className="muted small card__intro">Every write through the API: who, what, and whether it went through.</p>
      <form className="filters filters--inline" role="search" aria-label="Filter the audit log" onSubmit={(e) => e.preventDefault()}>
        <label className="field field--inline">
          <span className="field__label">Window</span>
          <select className="input" value={since} onChange={(e) => setSince(e.target.value)}>
            {AUDIT_WINDOWS.map((w) => (
              <option key={w.value} value={w.value}>
                {w.label}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--inline">
          <span className="field__label">Person</span>
          <input className="input" list="audit-people" value={person} placeholder="user:alice, serviceaccount:shop:ci, token:admin" onChange={(e) => setPerson(e.target.value)} />
          <datalist id="audit-people">
            {people.map((p) => (
              <option key={p} value={p} />
            ))}
          </datalist>
        </label>
        <label className="field field--inline">
          <span className="field__label">Verb</span>
          <select className="input" value={verb} onChange={(e) => setVerb(e.target.value)}>
            <option value="">any</option>
            {AUDIT_VERBS.map((v) => (
              <option key={v} value={v}>
                {v}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--inline field--grow">
          <span className="field__label">Search</span>
          <input className="input" type="search" value={query} placeholder="actor, verb, object or message" onChange={(e) => setQuery(e.target.value)} />
        </label>
        <button type="button" className="button" onClick={() => setRefresh((n) => n + 1)}>
          Refresh
        </button>
      </form>
      {audit.status === 'loading' ? (
        <Loading label="Loading the audit log…" />
      ) : audit.status === 'unavailable' ? (
        <Empty title="The audit log is not available from this server">
          Writes are recorded in the store; this view needs a server that serves <code>/auditlog</code>.
        </Empty>
      ) : audit.status === 'error' ? (
        <ErrorState title="Could not load the audit log" error={audit.error} />
      ) : audit.items.length === 0 ? (
        <Empty title="No writes in this window" />
      ) : shown.length === 0 ? (
        <Empty title="No audit entry matches" />
      ) : (
        <>
          {audit.truncated === 'older-dropped' && (
            <p className="notice small">More writes happened in this window than are shown: the newest {audit.items.length} are listed. Pick a shorter window to see them all.</p>
          )}
          {audit.truncated === 'incomplete' && (
            <p className="notice small">This window holds more than {AUDIT_PAGE * AUDIT_MAX_PAGES} writes, so the newest are not among these. Pick a shorter window.</p>
          )}
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
                {shown.map((a) => (
                  <tr key={a.id} data-audit={a.id}>
                    <td data-label="When">
                      <Time iso={a.time} />
                    </td>
                    <td data-label="Actor">{a.actor}</td>
                    <td data-label="Verb">
                      {a.verb}
                      {a.dryRun ? <span className="muted"> (dry run)</span> : null}
                    </td>
                    <td data-label="Object" className="mono">
                      <AuditObject entry={a} />
                    </td>
                    <td data-label="Outcome">
                      <StateBadge tone={a.outcome === 'Success' ? 'synced' : 'failed'} label={a.outcome} />
                    </td>
                    <td data-label="Message" className="wrap">
                      {a.message ?? ''}
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        </>
      )}
    </section>
  );
}

/** Verbs the audit log records most; others are found with the search. */
const AUDIT_VERBS = ['create', 'update', 'patch', 'delete', 'login', 'logout', 'sync', 'rollback', 'cancel', 'exec'];

const auditObjectLabel = (entry: AuditEvent) => `${entry.kind.toLowerCase()}/${entry.namespace ? `${entry.namespace}/` : ''}${entry.name}`;

function AuditObject({ entry }: { entry: AuditEvent }) {
  const label = auditObjectLabel(entry);
  if (entry.kind === 'Service' && entry.namespace) return <a href={href.service(entry.namespace, entry.name)}>{label}</a>;
  if (entry.kind === 'Server') return <a href={href.server(entry.name)}>{label}</a>;
  return <>{label}</>;
}

/** Pages kept in memory at most; the log pages oldest first, so the newest rows are the last read. */
const AUDIT_PAGE = 500;
const AUDIT_MAX_PAGES = 20;
const AUDIT_KEEP = 1000;

type AuditState =
  | { status: 'loading' }
  /** older-dropped: the newest rows are shown, older ones left out; incomplete: the newest were never reached. */
  | { status: 'ready'; items: AuditEvent[]; truncated: false | 'older-dropped' | 'incomplete' }
  | { status: 'unavailable' }
  | { status: 'error'; error: unknown };

function useAuditLog(since: string, refresh: number, actor: string, verb: string): AuditState {
  const { client } = useSession();
  const [state, setState] = useState<AuditState>({ status: 'loading' });
  useEffect(() => {
    const controller = new AbortController();
    setState((s) => (s.status === 'ready' ? s : { status: 'loading' }));
    (async () => {
      let items: AuditEvent[] = [];
      let cursor: string | undefined;
      let pages = 0;
      let dropped = false;
      do {
        const page = await client.json<{ items: AuditEvent[]; metadata?: { continue?: string } }>(
          `${API_BASE}/auditlog?since=${encodeURIComponent(since)}&limit=${AUDIT_PAGE}${actor ? `&actor=${encodeURIComponent(actor)}` : ''}${verb ? `&verb=${encodeURIComponent(verb)}` : ''}${cursor ? `&continue=${encodeURIComponent(cursor)}` : ''}`,
          { signal: controller.signal },
        );
        items = items.concat(page.items);
        if (items.length > AUDIT_KEEP) {
          items = items.slice(-AUDIT_KEEP);
          dropped = true;
        }
        cursor = page.metadata?.continue;
      } while (cursor && ++pages < AUDIT_MAX_PAGES);
      setState({ status: 'ready', items: items.reverse(), truncated: cursor ? 'incomplete' : dropped ? 'older-dropped' : false });
    })().catch((error: unknown) => {
      if (controller.signal.aborted) return;
      setState(error instanceof ApiError && error.code === 404 ? { status: 'unavailable' } : { status: 'error', error });
    });
    return () => controller.abort();
  }, [client, since, refresh, actor, verb]);
  return state;
}
