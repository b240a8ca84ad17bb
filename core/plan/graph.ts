// Dependency order of components (compose depends_on): dependencies before dependents, ties in
// declaration order, and the cycle when there is one.

import type { ComponentSpec } from '../deploy/container-spec.js';

export type TopologicalResult = { order: string[] } | { cycle: string[] };

export function topologicalOrder(components: readonly ComponentSpec[]): TopologicalResult {
  const names = components.map((c) => c.name);
  const known = new Set(names);
  const deps = new Map(components.map((c) => [c.name, c.dependsOn.map((d) => d.component).filter((d) => known.has(d))]));
  const order: string[] = [];
  const state = new Map<string, 'visiting' | 'done'>();
  const stack: string[] = [];
  let cycle: string[] | undefined;
  const visit = (name: string): void => {
    if (cycle) return;
    const s = state.get(name);
    if (s === 'done') return;
    if (s === 'visiting') {
      cycle = [...stack.slice(stack.indexOf(name)), name];
      return;
    }
    state.set(name, 'visiting');
    stack.push(name);
    for (const dep of deps.get(name) ?? []) visit(dep);
    stack.pop();
    state.set(name, 'done');
    if (!cycle) order.push(name);
  };
  for (const name of names) visit(name);
  return cycle ? { cycle } : { order };
}
