// `holdfast server node drain|pause|activate NODE --server NAME [--timeout 2m] [--yes]`: sets the
// availability of a node of the swarm a manager Server leads. A drain asks first (unless --yes, as
// kubectl drain does), waits until the node's tasks run elsewhere and says where each went; it exits
// 1 when some did not move within the timeout.
import { HoldfastError } from '../../core/errors.js';
import { API_VERSION } from '../../core/resource.js';
import type { NodeAvailability } from '../../core/swarm/node-availability.js';
import { parseDuration } from '../config.js';
import { confirmDestructive } from '../confirm.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../context.js';

export type NodeVerb = 'drain' | 'pause' | 'activate';
const AVAILABILITY: Record<NodeVerb, NodeAvailability> = { drain: 'drain', pause: 'pause', activate: 'active' };

export interface ServerNodeFlags {
  serverName?: string;
  timeout?: string;
  yes?: boolean;
}

interface TaskPlace {
  task: string;
  name: string;
  node?: string;
  why?: string;
}

export interface NodeOperationAnswer {
  node: { id: string; hostname: string; role: string };
  previousAvailability: string;
  availability: string;
  moved: TaskPlace[];
  notMoved: TaskPlace[];
  staying: TaskPlace[];
  complete: boolean;
}

const DEFAULT_TIMEOUT = '2m';
/** What the API may take beyond the drain's own timeout to answer. */
const ANSWER_MARGIN_MS = 30_000;

export async function runServerNode(ctx: CommandContext, verb: NodeVerb, node: string, flags: ServerNodeFlags): Promise<number> {
  const server = flags.serverName?.startsWith('server/') ? flags.serverName.slice('server/'.length) : flags.serverName;
  if (!server || server.includes('/')) throw new HoldfastError('BadRequest', `server node ${verb} needs the manager's Server: --server NAME`);
  const timeoutMs = parseDuration(flags.timeout ?? DEFAULT_TIMEOUT, '--timeout');
  if (verb === 'drain' && !(await confirmDestructive(`drain node ${node} of server ${server}: its tasks stop there and move to other nodes`, { yes: flags.yes }))) {
    ctx.err('node left as it was\n');
    return EXIT_ERROR;
  }
  if (verb === 'drain') ctx.out(`draining node ${node}; waiting up to ${Math.round(timeoutMs / 1000)}s for its tasks to move\n`);
  const answer = (await (await ctx.client()).request({
    method: 'POST',
    path: `/apis/${API_VERSION}/servers/${encodeURIComponent(server)}/nodes/${encodeURIComponent(node)}/availability`,
    body: { availability: AVAILABILITY[verb], timeoutSeconds: Math.ceil(timeoutMs / 1000) },
    timeoutMs: timeoutMs + ANSWER_MARGIN_MS,
  })) as NodeOperationAnswer;
  ctx.out(nodeOperationReport(answer));
  return answer.complete ? EXIT_OK : EXIT_ERROR;
}

/** What the command prints: the change, then one line per task (where it went, or why it did not). */
export function nodeOperationReport(a: NodeOperationAnswer): string {
  const lines = [
    a.previousAvailability === a.availability
      ? `node ${a.node.hostname} (${a.node.role}) was already ${a.availability}`
      : `node ${a.node.hostname} (${a.node.role}): availability ${a.previousAvailability} -> ${a.availability}`,
  ];
  for (const t of a.moved) lines.push(t.node ? `  ${t.name} moved to ${t.node} (task ${t.task.slice(0, 12)})` : `  ${t.name} stopped (a global service's task)`);
  for (const t of a.notMoved) lines.push(`  ${t.name} not moved: ${t.why ?? 'unknown'}`);
  for (const t of a.staying) lines.push(`  ${t.name} keeps running there`);
  if (a.availability === 'drain') {
    lines.push(a.complete ? (a.moved.length ? `drained: ${a.moved.length} task(s) moved` : 'drained: no tasks ran there') : `not drained in time: ${a.notMoved.length} task(s) still to move`);
  } else if (a.availability === 'pause') lines.push('paused: no new tasks are placed there');
  else if (a.previousAvailability === 'drain') lines.push('active: new tasks may be placed there again (Swarm does not move running tasks back)');
  return `${lines.join('\n')}\n`;
}
