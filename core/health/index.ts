export { DEFAULT_CRASH_LOOP, recordProbe, replicaHealth, type CrashLoopPolicy, type ProbeRecord, type ReplicaHealth, type ReplicaObservation, type ReplicaState } from './replica.js';
export { frozenInputHealth, serviceHealth, swarmTasksHealth, type ServiceHealth, type ServiceObservation, type SwarmServiceTasks } from './service.js';
export { computeServiceStatus, type ComputedServiceStatus, type DeploymentFacts, type ServiceStatusFacts } from './service-status.js';
