// Drift: field-level differences between a Service's declared spec, its frozen deployment input and
// what its host runs. Pure.
export { computeServiceDrift, type ServiceDrift, type ServiceDriftInput } from './service-drift.js';
export { diffLiveAgainstFrozen, claimsService, containerPath, describeState, stateDeviations, type LiveDriftOptions } from './live.js';
export { diffDeclaredAgainstFrozen } from './declared.js';
export { serviceLiveContainers } from './live-state.js';
export { buildLiveView, liveContainerView, type LiveContainerView, type LiveView } from './views.js';
export { DEFAULT_HEAL_BUDGET, healVerdict, type HealBudget, type HealVerdict } from './heal-budget.js';
export { describeEntries, driftCondition, type DriftConditionValue, type DriftPhase } from './summary.js';
export { countDrift, DRIFT_SOURCES, sortEntries, type DriftCounts, type DriftEntry, type DriftSource } from './types.js';
