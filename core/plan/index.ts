// Planning: frozen input + live state → ordered actions with reasons.
export { planRollout, ownedBy } from './planner.js';
export { planDeletion, type DeletionOptions } from './deletion.js';
export { topologicalOrder, type TopologicalResult } from './graph.js';
export { buildLiveState, liveImage, liveNetwork, liveVolume, type HostSnapshot, type LiveStateOptions } from './live-state.js';
export type { Action, ActionType, HealthCheckKind, LiveImage, LiveNetwork, LiveState, LiveVolume, PlanOptions, ServiceOwner } from './types.js';
