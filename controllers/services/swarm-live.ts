// The Swarm services of a Service and their tasks as a manager's live-state cache holds them, read
// by name: what the Service's readiness, live view and drift are computed from, without an API call
// of their own.
import { desiredTasks, type SwarmServicePlan } from '../../core/deploy/swarm-spec.js';
import { liveSwarmTask, type LiveSwarmTask, type RawTask } from '../../core/plan/swarm.js';
import type { PlacementNode } from '../../core/swarm/placement.js';
import { swarmTaskViews, type SwarmTaskView } from '../../core/swarm/tasks.js';
import type { LiveSnapshot, SwarmService } from '../../hosts/index.js';

function swarmServiceTasks(live: LiveSnapshot, name: string): { service?: SwarmService; tasks: LiveSwarmTask[] } {
  const service = [...live.services.values()].find((s) => s.Spec?.Name === name);
  if (!service) return { tasks: [] };
  const tasks = [...live.tasks.values()].filter((t) => t.ServiceID === service.ID).map((t) => liveSwarmTask(t as RawTask));
  return { service, tasks };
}

/** Node ID → hostname, for the tasks' messages. */
function swarmNodeNames(live: LiveSnapshot): Map<string, string> {
  return new Map([...live.nodes.values()].map((n) => [n.ID, n.Description?.Hostname || n.ID]));
}

export interface ObservedSwarmService {
  plan: SwarmServicePlan;
  service?: SwarmService;
  /** Its tasks, each saying whether it runs the plan's spec. */
  tasks: SwarmTaskView[];
  /** The same tasks as planning reads them (node IDs, task hashes). */
  liveTasks: LiveSwarmTask[];
  /** Tasks that should run: the replicas, or the suitable nodes of a global service. */
  desired: number;
}

/** Each planned Swarm service of a Service with its tasks, from the manager's cache. */
export function observeSwarmServices(live: LiveSnapshot, plans: readonly SwarmServicePlan[]): ObservedSwarmService[] {
  const nodeNames = swarmNodeNames(live);
  const nodes = [...live.nodes.values()] as PlacementNode[];
  return plans.map((plan) => {
    const { service, tasks } = swarmServiceTasks(live, plan.name);
    const observed: ObservedSwarmService = { plan, tasks: swarmTaskViews(tasks, nodeNames, plan.taskHash), liveTasks: tasks, desired: desiredTasks(plan, nodes) };
    if (service) observed.service = service;
    return observed;
  });
}
