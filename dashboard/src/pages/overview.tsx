import { useEffect, useMemo } from 'react';
import { serverStateLabel, ServiceBadge, serviceStateLabel } from '../components/badges.js';
import { EventList, newestFirst } from '../components/event-list.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { href, type ServiceStatusFilter } from '../model/route.js';
import { countBy, neverChecked, SERVER_STATES, serverState, SERVICE_STATES, serviceState, type ServiceState } from '../model/status.js';
import { useResources } from '../state/hooks.js';
import { useTitle } from '../state/title.js';

const RECENT_EVENTS = 8;
const ATTENTION_ROWS = 8;

export function Overview() {
  useTitle('Overview');
  const services = useResources('services');
  const servers = useResources('servers');
  const events = useResources('events');

  const serviceStates = useMemo(() => services.items.map((s) => ({ service: s, ...serviceState(s) })), [services.items]);
  const serviceCounts = useMemo(() => countBy(serviceStates, (s) => s.state, SERVICE_STATES), [serviceStates]);
  const serverCounts = useMemo(() => countBy(servers.items, (s) => serverState(s).state, SERVER_STATES), [servers.items]);
  const unchecked = useMemo(() => servers.items.filter(neverChecked).length, [servers.items]);
  const attention = useMemo(
    () => serviceStates.filter((s) => s.state === 'failed' || s.state === 'drifted' || s.state === 'progressing').sort((a, b) => rank(a.state) - rank(b.state)),
    [serviceStates],
  );
  const recent = useMemo(() => newestFirst(events.items).slice(0, RECENT_EVENTS), [events.items]);

  const ready = services.synced && servers.synced;
  useEffect(() => {
    // The figure the first-paint budget is measured against.
    if (ready && performance.getEntriesByName('holdfast:overview-ready').length === 0) performance.mark('holdfast:overview-ready');
  }, [ready]);

  return (
    <div className="page" data-ready={ready ? 'true' : undefined}>
      <header className="page__header">
        <h1>Overview</h1>
      </header>

      <div className="grid grid--2">
        <section className="card" aria-labelledby="servers-heading">
          <div className="card__header">
            <h2 id="servers-heading">Servers</h2>
            <a href={href.servers()}>All servers</a>
          </div>
          {!servers.synced ? (
            servers.error ? <ErrorState error={servers.error} /> : <Loading label="Loading servers…" />
          ) : servers.items.length === 0 ? (
            <Empty title="No servers yet">
              Declare one with a <code>Server</code> manifest and <code>holdfast apply</code>.
            </Empty>
          ) : (
            <StatRow
              kind="servers"
              stats={SERVER_STATES.map((s) => ({ key: s, label: serverStateLabel(s), value: serverCounts[s], href: href.servers() }))}
              footnote={unchecked ? `${unchecked} of them not checked yet` : undefined}
            />
          )}
        </section>

        <section className="card" aria-labelledby="services-heading">
          <div className="card__header">
            <h2 id="services-heading">Services</h2>
            <a href={href.services()}>All services</a>
          </div>
          {!services.synced ? (
            services.error ? <ErrorState error={services.error} /> : <Loading label="Loading services…" />
          ) : services.items.length === 0 ? (
            <Empty title="No services yet">
              Apply a <code>Service</code> manifest, e.g. <code>holdfast apply -R -f examples/manifests</code>.
            </Empty>
          ) : (
            <StatRow
              kind="services"
              stats={(['synced', 'progressing', 'drifted', 'failed'] as ServiceState[]).map((s) => ({
                key: s,
                label: serviceStateLabel(s),
                value: serviceCounts[s],
                href: href.services({ status: s as ServiceStatusFilter }),
              }))}
              footnote={serviceCounts.pending ? `${serviceCounts.pending} not observed yet` : undefined}
              footnoteHref={href.services({ status: 'pending' })}
            />
          )}
        </section>
      </div>

      <div className="grid grid--2">
        <section className="card" aria-labelledby="attention-heading">
          <div className="card__header">
            <h2 id="attention-heading">Needs a look</h2>
          </div>
          {!services.synced ? (
            <Loading />
          ) : attention.length === 0 ? (
            <Empty title="Nothing needs a look">No service is failing, drifting or rolling out.</Empty>
          ) : (
            <ul className="list">
              {attention.slice(0, ATTENTION_ROWS).map(({ service, state, reason }) => (
                <li key={`${service.metadata.namespace}/${service.metadata.name}`} className="list__item">
                  <a href={href.service(service.metadata.namespace!, service.metadata.name)} className="list__title">
                    {service.metadata.namespace}/{service.metadata.name}
                  </a>
                  <ServiceBadge state={state} reason={reason} />
                  <span className="list__detail">{reason}</span>
                </li>
              ))}
              {attention.length > ATTENTION_ROWS && (
                <li className="list__more">
                  <a href={href.services()}>{attention.length - ATTENTION_ROWS} more…</a>
                </li>
              )}
            </ul>
          )}
        </section>

        <section className="card" aria-labelledby="events-heading">
          <div className="card__header">
            <h2 id="events-heading">Recent events</h2>
            <a href={href.events()}>All events</a>
          </div>
          {!events.synced ? (
            events.error ? <ErrorState error={events.error} /> : <Loading label="Loading events…" />
          ) : recent.length === 0 ? (
            <Empty title="No events in the last hour">Controllers record deployments, drift and server checks here.</Empty>
          ) : (
            <EventList events={recent} />
          )}
        </section>
      </div>
    </div>
  );
}

const RANK: Record<ServiceState, number> = { failed: 0, drifted: 1, progressing: 2, synced: 3, pending: 4 };
const rank = (s: ServiceState) => RANK[s];

interface Stat {
  key: string;
  label: string;
  value: number;
  href: string;
}

function StatRow({ kind, stats, footnote, footnoteHref }: { kind: string; stats: Stat[]; footnote?: string; footnoteHref?: string }) {
  return (
    <>
      <ul className="stats" aria-label={`${kind} by state`}>
        {stats.map((s) => (
          <li key={s.key}>
            <a className={`stat stat--${s.key}${s.value === 0 ? ' stat--zero' : ''}`} href={s.href} data-stat={`${kind}-${s.key}`}>
              <span className="stat__value">{s.value}</span>
              <span className="stat__label">{s.label}</span>
            </a>
          </li>
        ))}
      </ul>
      {footnote && <p className="card__footnote">{footnoteHref ? <a href={footnoteHref}>{footnote}</a> : footnote}</p>}
    </>
  );
}
