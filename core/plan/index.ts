// Planning: frozen input + live state → ordered actions with reasons.
export { planRollout, ownedBy } from './planner.js';
export { planDeletion, type DeletionOptions } from './deletion.js';
export { topologicalOrder, type TopologicalResult } from './graph.js';
export { liveImage, liveNetwork, liveVolume } from './live-state.js';
export type { Action, ActionType, HealthCheckKind, LiveImage, LiveNetwork, LiveState, LiveVolume, PlanOptions, ServiceOwner } from './types.js';
