import { useMemo } from 'react';
import type { Service } from '../api/types.js';
import { ServiceBadge, serviceStateLabel } from '../components/badges.js';
import { Empty, Guard } from '../components/states.js';
import { Time } from '../components/time.js';
import { href, type ServiceFilters, type ServiceStatusFilter } from '../model/route.js';
import { replicaCounts, SERVICE_STATES, serviceState } from '../model/status.js';
import { useResources } from '../state/hooks.js';
import { replaceRoute } from '../state/route.js';
import { useTitle } from '../state/title.js';

export function sourceSummary(service: Service): string {
  const source = service.spec?.source;
  if (source?.image) return source.image;
  if (source?.compose) return source.compose.file ? `compose: ${source.compose.file}` : 'compose (inline)';
  if (source?.build) return `build: ${source.build.git?.url ?? ''}${source.build.git?.ref ? `@${source.build.git.ref}` : ''}`;
  return '—';
}

export function Services({ filters }: { filters: ServiceFilters }) {
  useTitle('Services');
  const services = useResources('services');
  const projects = useResources('projects');

  const rows = useMemo(() => services.items.map((s) => ({ service: s, ...serviceState(s) })), [services.items]);
  const projectNames = useMemo(
    () => [...new Set([...projects.items.map((p) => p.metadata.name), ...services.items.map((s) => s.metadata.namespace!)])].sort(),
    [projects.items, services.items],
  );
  const environments = useMemo(() => {
    const fromProjects = projects.items
      .filter((p) => !filters.project || p.metadata.name === filters.project)
      .flatMap((p) => p.spec?.environments?.map((e) => e.name) ?? []);
    const fromServices = services.items.filter((s) => !filters.project || s.metadata.namespace === filters.project).map((s) => s.spec?.environment ?? '');
    return [...new Set([...fromProjects, ...fromServices].filter(Boolean))].sort();
  }, [projects.items, services.items, filters.project]);
  const servers = useMemo(() => [...new Set(services.items.map((s) => s.spec?.server ?? '').filter(Boolean))].sort(), [services.items]);

  const query = filters.q?.trim().toLowerCase();
  const shown = rows.filter(
    ({ service, state }) =>
      (!filters.project || service.metadata.namespace === filters.project) &&
      (!filters.environment || service.spec?.environment === filters.environment) &&
      (!filters.status || state === filters.status) &&
      (!filters.server || service.spec?.server === filters.server) &&
      (!query || `${service.metadata.namespace}/${service.metadata.name} ${sourceSummary(service)}`.toLowerCase().includes(query)),
  );
  const filtered = Object.keys(filters).length > 0;
  const setFilter = (change: Partial<ServiceFilters>) => replaceRoute(href.services({ ...filters, ...change }));

  return (
    <div className="page">
      <header className="page__header">
        <h1>Services</h1>
        {services.synced && (
          <p className="page__sub" aria-live="polite" data-testid="services-count">
            {filtered ? `${shown.length} of ${rows.length} services` : `${rows.length} service${rows.length === 1 ? '' : 's'}`}
          </p>
        )}
      </header>

      <form className="filters" role="search" aria-label="Filter services" onSubmit={(e) => e.preventDefault()}>
        <label className="field field--inline">
          <span className="field__label">Project</span>
          <select className="input" name="project" value={filters.project ?? ''} onChange={(e) => setFilter({ project: e.target.value || undefined, environment: undefined })}>
            <option value="">All projects</option>
            {projectNames.map((p) => (
              <option key={p} value={p}>
                {p}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--inline">
          <span className="field__label">Environment</span>
          <select className="input" name="environment" value={filters.environment ?? ''} onChange={(e) => setFilter({ environment: e.target.value || undefined })}>
            <option value="">All environments</option>
            {environments.map((env) => (
              <option key={env} value={env}>
                {env}
              </option>
            ))}
          </select>
        </label>
        <label className="field field--inline">
          <span className="field__label">Status</span>
          <select className="input" name="status" value={filters.status ?? ''} onChange={(e) => setFilter({ status: (e.target.value || undefined) as ServiceStatusFilter | undefined })}>
            <option value="">Any status</option>
            {SERVICE_STATES.map((s) => (
              <option key={s} value={s}>
                {serviceStateLabel(s)}
              </option>
            ))}
          </select>
        </label>
        {servers.length > 1 && (
          <label className="field field--inline">
            <span className="field__label">Server</span>
            <select className="input" name="server" value={filters.server ?? ''} onChange={(e) => setFilter({ server: e.target.value || undefined })}>
              <option value="">All servers</option>
              {servers.map((s) => (
                <option key={s} value={s}>
                  {s}
                </option>
              ))}
            </select>
          </label>
        )}
        <label className="field field--inline field--grow">
          <span className="field__label">Search</span>
          <input className="input" type="search" name="q" placeholder="name or image" value={filters.q ?? ''} onChange={(e) => setFilter({ q: e.target.value || undefined })} />
        </label>
        {filtered && (
          <button type="button" className="button button--quiet" onClick={() => replaceRoute(href.services())}>
            Clear filters
          </button>
        )}
      </form>

      <section className="card card--flush" aria-label="Services">
        <Guard
          synced={services.synced}
          error={services.error}
          loadingLabel="Loading services…"
          empty={
            rows.length === 0 ? (
              <Empty title="No services yet">
                Apply a <code>Service</code> manifest: <code>holdfast apply -R -f examples/manifests</code>.
              </Empty>
            ) : shown.length === 0 ? (
              <Empty title="No service matches these filters">
                <button type="button" className="button" onClick={() => replaceRoute(href.services())}>
                  Clear filters
                </button>
              </Empty>
            ) : undefined
          }
        >
          <div className="table-wrap">
            <table className="table table--cards">
              <thead>
                <tr>
                  <th scope="col">Service</th>
                  <th scope="col">Environment</th>
                  <th scope="col">Server</th>
                  <th scope="col">Status</th>
                  <th scope="col" className="num">
                    Ready
                  </th>
                  <th scope="col" className="num">
                    Drift
                  </th>
                  <th scope="col">Source</th>
                  <th scope="col">Age</th>
                </tr>
              </thead>
              <tbody>
                {shown.map(({ service, state, reason }) => {
                  const ns = service.metadata.namespace!;
                  const replicas = replicaCounts(service);
                  const drift = service.status?.drift?.count;
                  return (
                    <tr key={`${ns}/${service.metadata.name}`} data-service={`${ns}/${service.metadata.name}`}>
                      <th scope="row" data-label="Service">
                        <a href={href.service(ns, service.metadata.name)} className="strong">
                          {service.metadata.name}
                        </a>
                        <span className="muted small"> · {ns}</span>
                      </th>
                      <td data-label="Environment">{service.spec?.environment ?? '—'}</td>
                      <td data-label="Server">{service.spec?.server ? <a href={href.server(service.spec.server)}>{service.spec.server}</a> : '—'}</td>
                      <td data-label="Status">
                        <ServiceBadge state={state} reason={reason} />
                      </td>
                      <td data-label="Ready" className="num">
                        {replicas.ready}/{replicas.desired ?? '—'}
                      </td>
                      <td data-label="Drift" className={`num${drift ? ' text-drift' : ''}`}>
                        {drift ?? '—'}
                      </td>
                      <td data-label="Source" className="mono truncate" title={sourceSummary(service)}>
                        {sourceSummary(service)}
                      </td>
                      <td data-label="Age">
                        <Time iso={service.metadata.creationTimestamp} />
                      </td>
                    </tr>
                  );
                })}
              </tbody>
            </table>
          </div>
        </Guard>
      </section>
    </div>
  );
}
