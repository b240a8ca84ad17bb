import { useEffect, useMemo, useState } from 'react';
import { API_BASE, resourcePath } from '../api/client.js';
import type { Deployment, DeploymentWithInput, DriftHistoryEntry, Service, ServiceViews } from '../api/types.js';
import { ServiceBadge } from '../components/badges.js';
import { Conditions } from '../components/conditions.js';
import { ContainerLogs } from '../components/container-logs.js';
import { TerminalPanel } from '../components/terminal.js';
import { ServiceActions } from '../components/service-actions.js';
import { Fact } from '../components/facts.js';
import { DeploymentTimeline, isActive } from '../components/deployments.js';
import { DriftHistory } from '../components/drift-history.js';
import { EventList, newestFirst } from '../components/event-list.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { DriftTable, ThreeViews } from '../components/three-views.js';
import { Time } from '../components/time.js';
import { href } from '../model/route.js';
import { replicaCounts, serviceState } from '../model/status.js';
import { useResources } from '../state/hooks.js';
import { usePoll, useRemote, type Remote } from '../state/remote.js';
import { sourceSummary } from './services.js';
import { useTitle } from '../state/title.js';

const ACTIVE_POLL_MS = 2_000;

export function ServiceDetail({ namespace, name }: { namespace: string; name: string }) {
  useTitle(`${namespace}/${name}`, 'Services');
  const services = useResources('services');
  const events = useResources('events');
  const service = services.items.find((s) => s.metadata.namespace === namespace && s.metadata.name === name);

  if (!services.synced) return services.error ? <ErrorState error={services.error} /> : <Loading label="Loading service…" />;
  if (!service)
    return (
      <div className="page">
        <Breadcrumb namespace={namespace} name={name} />
        <Empty title={`No service ${namespace}/${name}`}>
          It does not exist, or it was deleted. <a href={href.services()}>Back to the services</a>.
        </Empty>
      </div>
    );
  return <ServiceView service={service} events={events.synced ? newestFirst(events.items.filter((e) => e.involvedObject.kind === 'Service' && e.involvedObject.namespace === namespace && e.involvedObject.name === name)) : undefined} />;
}

function Breadcrumb({ namespace, name }: { namespace: string; name: string }) {
  return (
    <nav className="breadcrumb" aria-label="Breadcrumb">
      <a href={href.services()}>Services</a>
      <span aria-hidden="true">/</span>
      <a href={href.services({ project: namespace })}>{namespace}</a>
      <span aria-hidden="true">/</span>
      <span aria-current="page">{name}</span>
    </nav>
  );
}

function ServiceView({ service, events }: { service: Service; events: ReturnType<typeof newestFirst> | undefined }) {
  const { namespace = '', name } = service.metadata;
  const judgement = serviceState(service);
  const rv = service.metadata.resourceVersion;
  // Views and deployments have no watch of their own: they are read again whenever the Service
  // changes (its status records drift and deployments), and every 2 s while a rollout runs.
  const [listedRunning, setListedRunning] = useState(false);
  const pollTick = usePoll(isActive(service.status?.currentDeployment?.phase) || listedRunning, ACTIVE_POLL_MS);
  const deployments = useRemote<{ items: Deployment[] }>(resourcePath('services', { namespace, name, sub: 'deployments' }), `${rv}:${pollTick}`);
  const views = useRemote<ServiceViews>(resourcePath('services', { namespace, name, sub: 'views' }), `${rv}:${pollTick}`);
  const history = useRemote<{ items: DriftHistoryEntry[] }>(`${resourcePath('services', { namespace, name })}/drift/history?limit=20`, rv);
  useEffect(() => setListedRunning(deployments.status === 'ready' && deployments.data.items.some((d) => isActive(d.phase))), [deployments]);

  const drift = views.status === 'ready' ? views.data.drift ?? [] : [];
  const declared = views.status === 'ready' && views.data.declared !== undefined ? views.data.declared : service.spec;
  // Without the views API, the frozen input still comes from the current deployment's record.
  const currentId = currentDeploymentId(service, deployments.status === 'ready' ? deployments.data.items : undefined);
  const record = useRemote<DeploymentWithInput>(views.status === 'unavailable' && currentId ? `${API_BASE}/deployments/${encodeURIComponent(currentId)}` : undefined, currentId);
  const frozen = views.status === 'ready' ? views.data.frozen : record.status === 'ready' ? record.data.frozen : undefined;

  return (
    <div className="page">
      <Breadcrumb namespace={namespace} name={name} />
      <header className="page__header page__header--detail">
        <div>
          <h1>
            {name} <ServiceBadge state={judgement.state} reason={judgement.reason} />
          </h1>
          <p className="page__sub">{judgement.reason}</p>
        </div>
        <ArtifactActions service={service} views={views} deployments={deployments} frozen={frozen} />
      </header>
      <ServiceActions service={service} deployments={deployments.status === 'ready' ? deployments.data.items : undefined} />

      <section className="card">
        <dl className="facts">
          <Fact label="Project">{namespace}</Fact>
          <Fact label="Environment">{service.spec?.environment ?? '—'}</Fact>
          <Fact label="Server">{service.spec?.server ? <a href={href.server(service.spec.server)}>{service.spec.server}</a> : '—'}</Fact>
          <Fact label="Source">
            <span className="mono">{sourceSummary(service)}</span>
          </Fact>
          <Fact label="Replicas">
            {replicaCounts(service).ready} ready of {replicaCounts(service).desired ?? '—'}
          </Fact>
          <Fact label="Running image">{service.status?.image ? <span className="mono">{service.status.image}</span> : '—'}</Fact>
          <Fact label="Drift policy">{service.spec?.driftPolicy?.mode ?? 'report'}</Fact>
          <Fact label="Generation">
            {service.metadata.generation ?? '—'}
            {service.status?.observedGeneration !== undefined ? ` (observed ${service.status.observedGeneration})` : ''}
          </Fact>
          <Fact label="Drift checked">
            <Time iso={service.status?.drift?.lastCheckedTime} />
          </Fact>
        </dl>
      </section>

      <section className="card" aria-labelledby="views-heading">
        <div className="card__header">
          <h2 id="views-heading">Declared · frozen · live</h2>
          <DriftSummary service={service} count={views.status === 'ready' ? drift.length : undefined} />
        </div>
        {views.status === 'error' && <ErrorState title="Could not load the views" error={views.error} />}
        {views.status === 'ready' && views.data.notes?.length ? (
          <ul className="notice notice--list small" aria-label="About these views">
            {views.data.notes.map((note) => (
              <li key={note}>{note}</li>
            ))}
          </ul>
        ) : null}
        <DriftTable drift={drift} />
        <ThreeViews
          declared={declared}
          frozen={frozen}
          live={views.status === 'ready' ? views.data.live : undefined}
          drift={drift}
          availability={views.status === 'ready' ? 'ready' : views.status === 'loading' ? 'loading' : 'unavailable'}
          frozenFromRecord={views.status !== 'ready' && frozen != null ? currentId : undefined}
        />
      </section>

      {history.status === 'ready' && history.data.items.length > 0 && (
        <section className="card" aria-labelledby="drift-history-heading">
          <div className="card__header">
            <h2 id="drift-history-heading">Drift history</h2>
            <span className="muted small">the last {history.data.items.length} differences found</span>
          </div>
          <DriftHistory entries={history.data.items} />
        </section>
      )}

      <section className="card" aria-labelledby="deployments-heading">
        <div className="card__header">
          <h2 id="deployments-heading">Deployments</h2>
          {service.status?.currentDeployment?.name && (
            <span className="muted small">
              current: <span className="mono">{service.status.currentDeployment.name}</span> ({service.status.currentDeployment.phase})
            </span>
          )}
        </div>
        {deployments.status === 'loading' ? (
          <Loading label="Loading deployments…" />
        ) : deployments.status === 'unavailable' ? (
          <Empty title="Deployment history not available yet">This server does not serve deployment records yet; the current deployment is shown above when the controller reports it.</Empty>
        ) : deployments.status === 'error' ? (
          <ErrorState title="Could not load the deployments" error={deployments.error} />
        ) : deployments.data.items.length === 0 ? (
          <Empty title="No deployment yet">A deployment starts when a controller rolls this service out.</Empty>
        ) : (
          <DeploymentTimeline deployments={deployments.data.items} />
        )}
      </section>

      <section className="card" aria-labelledby="container-logs-heading">
        <div className="card__header">
          <h2 id="container-logs-heading">Container logs</h2>
        </div>
        <ContainerLogs namespace={namespace} name={name} />
      </section>

      <section className="card" aria-labelledby="terminal-heading">
        <div className="card__header">
          <h2 id="terminal-heading">Terminal</h2>
        </div>
        <TerminalPanel target={{ kind: 'service', namespace, name }} />
      </section>

      <section className="card" aria-labelledby="conditions-heading">
        <div className="card__header">
          <h2 id="conditions-heading">Conditions</h2>
        </div>
        <Conditions conditions={service.status?.conditions} />
      </section>
      <section className="card" aria-labelledby="service-events-heading">
        <div className="card__header">
          <h2 id="service-events-heading">Events</h2>
        </div>
        {events === undefined ? <Loading /> : events.length === 0 ? <Empty title="No events in the last hour" /> : <EventList events={events.slice(0, 20)} showObject={false} />}
      </section>
    </div>
  );
}

/**
 * The deployment whose frozen input runs now: the one the status names, if the history holds it,
 * else the newest that completed. Only ids the history lists are read, so none is asked for blindly.
 */
function currentDeploymentId(service: Service, history: readonly Deployment[] | undefined): string | undefined {
  if (!history) return undefined;
  const listed = new Set(history.map((d) => d.id));
  const named = [service.status?.currentDeployment?.name, service.status?.lastSuccessfulDeployment].find((id) => id && listed.has(id));
  return named ?? history.find((d) => d.phase === 'completed')?.id;
}

function DriftSummary({ service, count }: { service: Service; count: number | undefined }) {
  const n = count ?? service.status?.drift?.count;
  if (n === undefined) return null;
  return <span className={n ? 'text-drift strong' : 'muted'}>{n === 0 ? 'No drift' : `${n} drifted field${n === 1 ? '' : 's'}`}</span>;
}

/** The deployment state artifact: what an incident needs in one file. */
export function stateArtifact(service: Service, views: Remote<ServiceViews>, deployments: Remote<{ items: Deployment[] }>, frozen: unknown) {
  const v = views.status === 'ready' ? views.data : undefined;
  return {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'DeploymentStateArtifact',
    service: {
      namespace: service.metadata.namespace,
      name: service.metadata.name,
      uid: service.metadata.uid,
      generation: service.metadata.generation,
      resourceVersion: service.metadata.resourceVersion,
    },
    capturedAt: new Date().toISOString(),
    declared: v?.declared ?? service.spec ?? null,
    frozen: frozen ?? null,
    live: v?.live ?? null,
    drift: v?.drift ?? [],
    deployments: deployments.status === 'ready' ? deployments.data.items : [],
    status: service.status ?? null,
  };
}

function ArtifactActions({
  service,
  views,
  deployments,
  frozen,
}: {
  service: Service;
  views: Remote<ServiceViews>;
  deployments: Remote<{ items: Deployment[] }>;
  frozen: unknown;
}) {
  const [note, setNote] = useState<string>();
  const fileName = useMemo(() => `holdfast-${service.metadata.namespace}-${service.metadata.name}-state.json`, [service.metadata.namespace, service.metadata.name]);
  const text = () => JSON.stringify(stateArtifact(service, views, deployments, frozen), null, 2) + '\n';
  const say = (message: string) => {
    setNote(message);
    window.setTimeout(() => setNote(undefined), 3000);
  };
  const copy = async () => {
    try {
      await navigator.clipboard.writeText(text());
      say('Copied the state JSON');
    } catch {
      say('The browser refused the clipboard: use Download instead');
    }
  };
  const download = () => {
    const url = URL.createObjectURL(new Blob([text()], { type: 'application/json' }));
    const a = document.createElement('a');
    a.href = url;
    a.download = fileName;
    a.click();
    window.setTimeout(() => URL.revokeObjectURL(url), 1000);
    say(`Saved ${fileName}`);
  };
  return (
    <div className="actions">
      <button type="button" className="button" onClick={copy}>
        Copy state JSON
      </button>
      <button type="button" className="button" onClick={download}>
        Download
      </button>
      <span className="actions__note small" role="status" aria-live="polite">
        {note}
      </span>
    </div>
  );
}
