// `holdfast server nodes NAME`: the nodes of the swarm a manager Server leads, as its status lists
// them (the server controller reads them on every poll), laid out as `docker node ls` prints them.
import { HoldfastError } from '../../core/errors.js';
import { kindInfo, type Resource } from '../../core/resource.js';
import type { ServerStatus } from '../../core/schema/types.generated.js';
import type { SwarmMember } from '../../core/swarm/nodes.js';
import { EXIT_OK, type CommandContext } from '../context.js';
import { renderTable } from '../printers.js';

const SERVER = kindInfo('Server')!;

/** One row per node, the leader first. */
export function swarmNodesTable(nodes: readonly SwarmMember[]): string {
  const rows = [['HOSTNAME', 'ROLE', 'STATUS', 'AVAILABILITY', 'MANAGER STATUS', 'ENGINE VERSION', 'ADDRESS', 'LABELS']];
  for (const n of nodes) {
    rows.push([
      n.hostname || n.id.slice(0, 12),
      n.role,
      n.state,
      n.availability,
      n.leader ? 'Leader' : (n.reachability ?? ''),
      n.engineVersion ?? '',
      n.address ?? '',
      Object.entries(n.labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',') || '<none>',
    ]);
  }
  return renderTable(rows);
}

export async function runServerNodes(ctx: CommandContext, target: string, flags: { output?: string }): Promise<number> {
  const name = target.startsWith('server/') ? target.slice('server/'.length) : target;
  if (!name || name.includes('/')) throw new HoldfastError('BadRequest', `server nodes takes a server name (edge-1 or server/edge-1), got "${target}"`);
  const server: Resource = await (await ctx.client()).get(SERVER, name);
  const kind = (server.spec as { kind?: string } | undefined)?.kind ?? 'docker-engine';
  const swarm = (server.status as ServerStatus | undefined)?.docker?.swarm;
  const nodes = swarm?.nodeList;
  if (!nodes) {
    const why = kind !== 'docker-swarm-manager' ? `it is a ${kind} server, not a docker-swarm-manager` : swarm?.role ? `its engine is a Swarm ${swarm.role}, not a manager` : 'its swarm has not been read yet (see holdfast describe server/' + name + ')';
    throw new HoldfastError('BadRequest', `server ${name} lists no Swarm nodes: ${why}`);
  }
  ctx.out(flags.output === 'json' ? `${JSON.stringify(nodes, null, 2)}\n` : swarmNodesTable(nodes));
  return EXIT_OK;
}
