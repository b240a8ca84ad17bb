import { useMemo } from 'react';
import type { Server } from '../api/types.js';
import { ServerBadge } from '../components/badges.js';
import { Empty, Guard } from '../components/states.js';
import { Time } from '../components/time.js';
import { href } from '../model/route.js';
import { serverState } from '../model/status.js';
import { useResources } from '../state/hooks.js';
import { useTitle } from '../state/title.js';

export function address(server: Server): string {
  const spec = server.spec;
  if (!spec?.host) return spec?.kind === 'local' ? 'local engine' : '—';
  return `${spec.user ? `${spec.user}@` : ''}${spec.host}${spec.port && spec.port !== 22 ? `:${spec.port}` : ''}`;
}

export function Servers() {
  useTitle('Servers');
  const servers = useResources('servers');
  const services = useResources('services');
  const serviceCount = useMemo(() => {
    const counts = new Map<string, number>();
    for (const s of services.items) if (s.spec?.server) counts.set(s.spec.server, (counts.get(s.spec.server) ?? 0) + 1);
    return counts;
  }, [services.items]);

  return (
    <div className="page">
      <header className="page__header">
        <h1>Servers</h1>
        {servers.synced && <p className="page__sub">{`${servers.items.length} server${servers.items.length === 1 ? '' : 's'}`}</p>}
      </header>
      <section className="card card--flush" aria-label="Servers">
        <Guard
          synced={servers.synced}
          error={servers.error}
          loadingLabel="Loading servers…"
          empty={
            servers.items.length === 0 ? (
              <Empty title="No servers yet">
                Declare a Docker host with a <code>Server</code> manifest (host, user, SSH key) and <code>holdfast apply</code> it.
              </Empty>
            ) : undefined
          }
        >
          <div className="table-wrap">
            <table className="table table--cards">
              <thead>
                <tr>
                  <th scope="col">Server</th>
                  <th scope="col">Kind</th>
                  <th scope="col">Address</th>
                  <th scope="col">Status</th>
                  <th scope="col">Docker</th>
                  <th scope="col">Swarm</th>
                  <th scope="col" className="num">
                    Services
                  </th>
                  <th scope="col">Last contact</th>
                </tr>
              </thead>
              <tbody>
                {servers.items.map((server) => {
                  const { state, reason } = serverState(server);
                  const swarm = server.status?.docker?.swarm;
                  return (
                    <tr key={server.metadata.name} data-server={server.metadata.name}>
                      <th scope="row" data-label="Server">
                        <a href={href.server(server.metadata.name)} className="strong">
                          {server.metadata.name}
                        </a>
                      </th>
                      <td data-label="Kind">{server.spec?.kind ?? '—'}</td>
                      <td data-label="Address" className="mono">
                        {address(server)}
                      </td>
                      <td data-label="Status">
                        <ServerBadge state={state} reason={reason} />
                        {state !== 'ready' && <div className="small muted" data-testid="server-reason">{reason}</div>}
                      </td>
                      <td data-label="Docker">{server.status?.docker?.version ?? '—'}</td>
                      <td data-label="Swarm">{swarm?.role ? `${swarm.role}${swarm.nodes ? ` · ${swarm.nodes} nodes` : ''}` : '—'}</td>
                      <td data-label="Services" className="num">
                        {serviceCount.get(server.metadata.name) ? (
                          <a href={href.services({ server: server.metadata.name })}>{serviceCount.get(server.metadata.name)}</a>
                        ) : (
                          0
                        )}
                      </td>
                      <td data-label="Last contact">
                        <Time iso={server.status?.lastContactTime} />
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
