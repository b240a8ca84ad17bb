// What `rollout undo` and `backup restore` are about to change, printed before they ask (in a
// terminal) or go ahead (--yes). The confirmation itself is confirmDestructive's.
import { formatBytes } from '../core/format-bytes.js';
import type { Resource } from '../core/resource.js';
import type { BackupPolicyStatus } from '../core/schema/types.generated.js';
import type { HoldfastClient } from './client.js';
import { confirmDestructive } from './confirm.js';
import type { CommandContext } from './context.js';
import { listDeployments, type DeploymentSummary } from './deployments-api.js';
import { age } from './printers.js';

export interface UndoPlan {
  /** The revision running now: the newest completed deployment. */
  from?: DeploymentSummary;
  to: DeploymentSummary;
}

/**
 * The deployment an undo redeploys, as the control plane chooses it: `toRevision`, else the newest
 * completed one before the newest completed one. Undefined when there is none (the API then says why).
 */
export function undoPlan(history: readonly DeploymentSummary[], toRevision?: number): UndoPlan | undefined {
  const completed = history.filter((d) => d.phase === 'completed').sort((a, b) => b.revision - a.revision);
  const from = completed[0];
  const to = toRevision !== undefined ? history.find((d) => d.revision === toRevision) : completed[1];
  return to ? { from, to } : undefined;
}

/** Prints what the undo changes and asks; true when it may go ahead. */
export async function confirmUndo(ctx: CommandContext, client: HoldfastClient, service: { label: string; namespace: string; name: string }, toRevision: number | undefined, yes: boolean | undefined): Promise<boolean> {
  if (yes) return true;
  const plan = undoPlan(await listDeployments(client, service.namespace, service.name), toRevision);
  if (!plan) return true;
  const { from, to } = plan;
  const now = ctx.now();
  ctx.out(
    `${service.label} in project ${service.namespace}: revision ${to.revision} (deployment ${to.id}, ${to.phase} ${age(to.finishedAt ?? to.createdAt, now)} ago) ` +
      `will be redeployed on server ${to.server}${from ? `, replacing revision ${from.revision} (deployment ${from.id})` : ''}\n`,
  );
  return confirmDestructive(`roll ${service.label} back to revision ${to.revision}`, { yes });
}

/** Prints which backup goes where, written over what is there, and asks; true when it may go ahead. */
export async function confirmRestore(ctx: CommandContext, policy: Resource, backup: string, yes: boolean | undefined, into: { service?: string; database?: string } = {}): Promise<boolean> {
  if (yes) return true;
  const spec = (policy.spec ?? {}) as { service?: string; target?: { volume?: string; database?: { name?: string } } };
  const found = ((policy.status ?? {}) as BackupPolicyStatus).backups?.find((b) => b.name === backup);
  const database = into.database ?? spec.target?.database?.name;
  const target = spec.target?.volume ? `volume ${spec.target.volume}` : spec.target?.database ? (database ? `database ${database}` : 'every database') : 'its target';
  const service = into.service ?? spec.service;
  const taken = found ? ` (${found.sizeBytes === undefined ? 'size unknown' : formatBytes(found.sizeBytes)}, taken ${age(found.time, ctx.now())} ago)` : '';
  ctx.out(`backup ${backup}${taken} will be restored into ${target} of service ${service} in project ${policy.metadata.namespace}: what is there now is written over\n`);
  return confirmDestructive(`restore ${backup} into service ${service}`, { yes });
}
