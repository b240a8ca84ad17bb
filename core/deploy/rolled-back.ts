// Whether a Service runs an earlier revision because someone rolled it back (`holdfast rollout
// undo`): its newest deployment (heals aside) redeploys an earlier revision for the generation
// declared now. It stays so until the next spec change rolls out, or a sync deploys the declared
// spec again. Read from the deployment records, newest first; pure.

/** The facts of a deployment record this needs. */
export interface DeploymentFacts {
  id: string;
  revision: number;
  generation: number;
  phase: string;
  trigger: string;
  actor: string;
  createdAt: string;
  rollbackOf?: number;
}

export interface RolledBack {
  deployment: string;
  revision: number;
  /** The revision whose frozen input it redeploys. */
  toRevision: number;
  actor: string;
  at: string;
}

/** The Service condition that records it. */
export const ROLLED_BACK_CONDITION = 'RolledBack';

/** Heals redeploy what the host should run already: they change nothing about what was rolled back. */
const HEAL_TRIGGER = 'controller';

export function rolledBack(generation: number, newestFirst: readonly DeploymentFacts[]): RolledBack | undefined {
  const decisive = newestFirst.find((d) => d.trigger !== HEAL_TRIGGER);
  if (!decisive || decisive.rollbackOf === undefined || decisive.generation !== generation) return undefined;
  // A rollback that failed or was canceled did not put the earlier revision in place.
  if (decisive.phase === 'failed' || decisive.phase === 'canceled') return undefined;
  return { deployment: decisive.id, revision: decisive.revision, toRevision: decisive.rollbackOf, actor: decisive.actor, at: decisive.createdAt };
}

/** `declared differs from the running revision: rolled back to revision 1 by token:admin at …` */
export function rolledBackMessage(r: RolledBack): string {
  return `declared differs from the running revision: rolled back to revision ${r.toRevision} by ${r.actor} at ${r.at} (deployment ${r.deployment}, revision ${r.revision}); the next apply that changes the spec, or a sync, rolls the declared spec out again`;
}
