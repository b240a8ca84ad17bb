// dependsOn between GitRepositories: a source syncs only when every source it depends on is Ready
// at the revision it last looked at (not suspended, not in the middle of a sync, its newest spec
// observed). A cycle can never be satisfied and says so. Pure.
import type { GitRepository } from '../schema/types.generated.js';

export interface SourceFacts {
  /** namespace/name of the sources this one depends on. */
  dependsOn: string[];
  ready: boolean;
  /** Why it is not ready (when it is not). */
  why: string;
}

export type DependencyWait = { state: 'ready' } | { state: 'waiting'; message: string } | { state: 'cycle'; message: string };

/** The keys (namespace/name) a GitRepository depends on; a dependency without a namespace is in its own. */
export function dependencyKeys(repo: Pick<GitRepository, 'metadata' | 'spec'>): string[] {
  return (repo.spec?.dependsOn ?? []).map((d) => `${d.namespace ?? repo.metadata.namespace}/${d.name}`);
}

/** What a GitRepository's status says about it as a dependency. */
export function sourceFacts(repo: GitRepository): SourceFacts {
  const status = repo.status;
  const ready = status?.conditions?.find((c) => c.type === 'Ready');
  const reconciling = status?.conditions?.find((c) => c.type === 'Reconciling');
  const base = { dependsOn: dependencyKeys(repo) };
  if (repo.spec?.suspend) return { ...base, ready: false, why: 'it is suspended' };
  if ((status?.observedGeneration ?? -1) !== (repo.metadata.generation ?? 0)) return { ...base, ready: false, why: 'its newest spec is not synced yet' };
  if (reconciling?.status === 'True') return { ...base, ready: false, why: `it is syncing (${reconciling.message})` };
  if (ready?.status !== 'True' || !status?.lastAppliedRevision || status.lastAppliedRevision !== status.lastAttemptedRevision) {
    return { ...base, ready: false, why: ready ? `it is not Ready (${ready.reason}: ${ready.message})` : 'it has not synced yet' };
  }
  return { ...base, ready: true, why: '' };
}

/** Whether `key` may sync, given the facts of every source (absent: it does not exist). */
export function dependencyWait(key: string, sources: ReadonlyMap<string, SourceFacts>): DependencyWait {
  const cycle = findCycle(key, sources);
  if (cycle) return { state: 'cycle', message: `dependsOn forms a cycle: ${cycle.join(' -> ')}; remove one of its links` };
  const waiting: string[] = [];
  for (const dep of sources.get(key)?.dependsOn ?? []) {
    const facts = sources.get(dep);
    if (!facts) waiting.push(`GitRepository "${dep}" does not exist`);
    else if (!facts.ready) waiting.push(`GitRepository "${dep}" is not ready: ${facts.why}`);
  }
  return waiting.length ? { state: 'waiting', message: `waiting for dependencies: ${waiting.join('; ')}` } : { state: 'ready' };
}

/** The path from `key` back to itself through dependsOn, if there is one. */
function findCycle(key: string, sources: ReadonlyMap<string, SourceFacts>): string[] | undefined {
  const visited = new Set<string>();
  const walk = (at: string, path: string[]): string[] | undefined => {
    for (const dep of sources.get(at)?.dependsOn ?? []) {
      if (dep === key) return [...path, dep];
      if (visited.has(dep)) continue;
      visited.add(dep);
      const found = walk(dep, [...path, dep]);
      if (found) return found;
    }
    return undefined;
  };
  return walk(key, [key]);
}
