import { recommendedAction } from '../../../core/readiness.js';
import type { Server, ServerCheck } from '../api/types.js';
import { ServerBadge, ServiceBadge, StateBadge } from '../components/badges.js';
import { Conditions } from '../components/conditions.js';
import { Fact } from '../components/facts.js';
import { EventList, newestFirst } from '../components/event-list.js';
import { HostResources } from '../components/host-resources.js';
import { TerminalPanel } from '../components/terminal.js';
import { ServerCleanupAction } from '../components/server-cleanup.js';
import { Empty, ErrorState, Loading } from '../components/states.js';
import { Time } from '../components/time.js';
import { href } from '../model/route.js';
import { serverState, serviceState } from '../model/status.js';
import { formatMs } from '../model/time.js';
import { useResources } from '../state/hooks.js';
import { address } from './servers.js';
import { useTitle } from '../state/title.js';

const CHECK_TONE: Record<ServerCheck['result'], string> = { Pass: 'synced', Warn: 'drifted', Fail: 'failed', Unknown: 'pending' };

export function ServerDetail({ name }: { name: string }) {
  useTitle(name, 'Servers');
  const servers = useResources('servers');
  const services = useResources('services');
  const events = useResources('events');
  const server = servers.items.find((s) => s.metadata.name === name);

  if (!servers.synced) return servers.error ? <ErrorState error={servers.error} /> : <Loading label="Loading server…" />;
  const breadcrumb = (
    <nav className="breadcrumb" aria-label="Breadcrumb">
      <a href={href.servers()}>Servers</a>
      <span aria-hidden="true">/</span>
      <span aria-current="page">{name}</span>
    </nav>
  );
  if (!server)
    return (
      <div className="page">
        {breadcrumb}
        <Empty title={`No server ${name}`}>
          It does not exist, or it was deleted. <a href={href.servers()}>Back to the servers</a>.
        </Empty>
      </div>
    );

  const { state, reason } = serverState(server);
  const status = server.status;
  const onServer = services.items.filter((s) => s.spec?.server === name);
  const serverEvents = newestFirst(events.items.filter((e) => e.involvedObject.kind === 'Server' && e.involvedObject.name === name));

  return (
    <div className="page">
      {breadcrumb}
      <header className="page__header page__header--detail">
        <div>
          <h1>
            {name} <ServerBadge state={state} reason={reason} />
          </h1>
          <p className="page__sub">{reason}</p>
        </div>
        <ServerCleanupAction server={name} />
      </header>

      <section className="card">
        <dl className="facts">
          <Fact label="Kind">{server.spec?.kind ?? '—'}</Fact>
          <Fact label="Address">
            <span className="mono">{address(server)}</span>
          </Fact>
          <Fact label="SSH key">{server.spec?.sshKeyRef?.name ?? '—'}</Fact>
          <Fact label="Host key">
            <span className="mono small break">{status?.hostKeyFingerprint ?? server.spec?.hostKeyFingerprint ?? 'recorded on first contact'}</span>
          </Fact>
          <Fact label="Last contact">
            <Time iso={status?.lastContactTime} />
          </Fact>
          <Fact label="Latency (Docker ping)">{latencyOf(server)}</Fact>
        </dl>
      </section>

      <section className="card" aria-labelledby="checks-heading">
        <div className="card__header">
          <h2 id="checks-heading">Readiness checks</h2>
        </div>
        {!status?.checks?.length ? (
          <Empty title="No checks have run yet">The server controller runs them on first contact and on every resync.</Empty>
        ) : (
          <div className="table-wrap">
            <table className="table table--compact table--cards">
              <thead>
                <tr>
                  <th scope="col">Check</th>
                  <th scope="col">Result</th>
                  <th scope="col">What was seen</th>
                  <th scope="col">Checked</th>
                </tr>
              </thead>
              <tbody>
                {status.checks.map((c) => (
                  <tr key={c.name} data-check={c.name}>
                    <th scope="row" data-label="Check">
                      {c.name}
                    </th>
                    <td data-label="Result">
                      <StateBadge tone={CHECK_TONE[c.result] ?? 'pending'} label={c.result} />
                    </td>
                    <td data-label="What was seen" className="wrap">
                      {c.message ?? '—'}
                      {(c.result === 'Warn' || c.result === 'Fail') && <p className="check__action small">{recommendedAction(c)}</p>}
                    </td>
                    <td data-label="Checked">
                      <Time iso={c.lastCheckTime} />
                    </td>
                  </tr>
                ))}
              </tbody>
            </table>
          </div>
        )}
      </section>

      <div className="grid grid--2">
        <section className="card" aria-labelledby="versions-heading">
          <div className="card__header">
            <h2 id="versions-heading">Versions</h2>
          </div>
          {!status?.docker ? (
            <Empty title="Not seen yet">Docker and Compose versions appear after the first contact.</Empty>
          ) : (
            <dl className="facts facts--stacked">
              <Fact label="Docker Engine">{status.docker.version ?? '—'}</Fact>
              <Fact label="Engine API">{status.docker.apiVersion ?? '—'}</Fact>
              <Fact label="Platform">{[status.docker.os, status.docker.arch].filter(Boolean).join('/') || '—'}</Fact>
              <Fact label="Compose">{status.compose?.version ? `${status.compose.version}${status.compose.variant ? ` (${status.compose.variant})` : ''}` : 'not found'}</Fact>
            </dl>
          )}
        </section>
        <section className="card" aria-labelledby="swarm-heading">
          <div className="card__header">
            <h2 id="swarm-heading">Swarm topology</h2>
          </div>
          <SwarmTopology server={server} />
        </section>
      </div>

      <section className="card" aria-labelledby="resources-heading">
        <div className="card__header">
          <h2 id="resources-heading">Host resources</h2>
        </div>
        <HostResources resources={status?.resources} />
      </section>

      <section className="card" aria-labelledby="terminal-heading">
        <div className="card__header">
          <h2 id="terminal-heading">Terminal</h2>
        </div>
        <TerminalPanel target={{ kind: 'server', name }} />
      </section>

      <div className="grid grid--2">
        <section className="card" aria-labelledby="server-services-heading">
          <div className="card__header">
            <h2 id="server-services-heading">Services on this server</h2>
          </div>
          {!services.synced ? (
            <Loading />
          ) : onServer.length === 0 ? (
            <Empty title="No service targets this server" />
          ) : (
            <ul className="list">
              {onServer.map((s) => {
                const j = serviceState(s);
                return (
                  <li key={`${s.metadata.namespace}/${s.metadata.name}`} className="list__item">
                    <a className="list__title" href={href.service(s.metadata.namespace!, s.metadata.name)}>
                      {s.metadata.namespace}/{s.metadata.name}
                    </a>
                    <ServiceBadge state={j.state} reason={j.reason} />
                    <span className="list__detail">{s.spec?.environment}</span>
                  </li>
                );
              })}
            </ul>
          )}
        </section>
        <section className="card" aria-labelledby="server-events-heading">
          <div className="card__header">
            <h2 id="server-events-heading">Events</h2>
          </div>
          {!events.synced ? <Loading /> : serverEvents.length === 0 ? <Empty title="No events in the last hour" /> : <EventList events={serverEvents.slice(0, 20)} showObject={false} />}
        </section>
      </div>

      <section className="card" aria-labelledby="server-conditions-heading">
        <div className="card__header">
          <h2 id="server-conditions-heading">Conditions</h2>
        </div>
        <Conditions conditions={status?.conditions} />
      </section>
    </div>
  );
}

function latencyOf(server: Server): string {
  const ms = server.status?.latencyMs;
  return typeof ms === 'number' ? formatMs(ms) : '—';
}

function SwarmTopology({ server }: { server: Server }) {
  const swarm = server.status?.docker?.swarm;
  if (!swarm?.role) {
    return (
      <Empty title={server.spec?.kind === 'docker-swarm-manager' ? 'Swarm not seen yet' : 'Not in a swarm'}>
        {server.spec?.kind === 'docker-swarm-manager' ? 'The topology appears after the first contact with this manager.' : 'This engine runs containers on its own.'}
      </Empty>
    );
  }
  const nodes = swarm.nodeList ?? [];
  return (
    <>
      <dl className="facts facts--stacked">
        <Fact label="Role">{swarm.role}</Fact>
        <Fact label="Node ID">
          <span className="mono small break">{swarm.nodeID ?? '—'}</span>
        </Fact>
        <Fact label="Managers">{swarm.managers ?? '—'}</Fact>
        <Fact label="Nodes">{swarm.nodes ?? '—'}</Fact>
      </dl>
      {nodes.length > 0 && (
        <ul className="list">
          {nodes.map((n, i) => (
            <li key={n.id ?? i} className="list__item" data-swarm-node={n.hostname}>
              <span className="list__title">{n.hostname || n.id}</span>
              <StateBadge tone={n.state === 'ready' ? 'synced' : 'failed'} label={n.leader ? 'leader' : n.role} />
              <span className="list__detail">
                {[n.address, n.state, n.availability, n.engineVersion && `Docker ${n.engineVersion}`, ...Object.entries(n.labels ?? {}).map(([k, v]) => `${k}=${v}`), n.message].filter(Boolean).join(' · ')}
              </span>
            </li>
          ))}
        </ul>
      )}
    </>
  );
}
