// A Service's readiness from its replicas' health: the ready/desired counts and the Ready condition
// that the API status, the CLI and the dashboard all show. Pure.
import type { FrozenInput, ReadinessProbe } from '../deploy/container-spec.js';
import type { LiveContainer } from '../deploy/normalise-live.js';
import { describeTask, type SwarmTaskView } from '../swarm/tasks.js';
import { DEFAULT_CRASH_LOOP, replicaHealth, type CrashLoopPolicy, type ProbeRecord, type ReplicaHealth, type ReplicaState } from './replica.js';

export interface ServiceHealth {
  readyReplicas: number;
  desiredReplicas: number;
  replicas: ReplicaHealth[];
  /** The Ready condition (without its times). */
  ready: { status: 'True' | 'False'; reason: string; message: string };
}

/** The order in which a not-ready replica's state names the Service's reason: the worst first. */
const SEVERITY: readonly ReplicaState[] = ['CrashLoopBackOff', 'Missing', 'NotRunning', 'Paused', 'Unhealthy', 'ProbeFailing', 'Starting'];
const REASON: Partial<Record<ReplicaState, string>> = {
  CrashLoopBackOff: 'CrashLoopBackOff',
  Missing: 'ReplicasMissing',
  NotRunning: 'ReplicasNotRunning',
  Paused: 'ReplicasPaused',
  Unhealthy: 'HealthCheckFailing',
  ProbeFailing: 'ProbeFailing',
  Starting: 'ReplicasStarting',
};

/**
 * The Service's health from its replicas' verdicts; `desired` counts the replicas the input declares.
 * `notes` follow the counts in the message whatever the verdict (probes not run, and why).
 */
export function serviceHealth(replicas: readonly ReplicaHealth[], desired: number, where?: string, notes: readonly string[] = []): ServiceHealth {
  const readyReplicas = replicas.filter((r) => r.ready).length;
  const counts = [`${readyReplicas}/${desired} replicas ready${where ? ` on ${where}` : ''}`, ...notes].join('; ');
  const notReady = replicas.filter((r) => !r.ready);
  let ready: ServiceHealth['ready'];
  if (notReady.length === 0 && readyReplicas >= desired) ready = { status: 'True', reason: 'Available', message: counts };
  else {
    const worst = SEVERITY.find((s) => notReady.some((r) => r.state === s));
    const reason = worst ? REASON[worst]! : 'ReplicasNotReady';
    ready = { status: 'False', reason, message: [counts, ...notReady.map((r) => r.message)].join('; ') };
  }
  return { readyReplicas, desiredReplicas: desired, replicas: [...replicas], ready };
}

export interface ServiceObservation {
  /** The Service's containers as the live cache holds them (others on the host are passed over). */
  live: readonly Pick<LiveContainer, 'name' | 'state'>[];
  /** Readiness probe results by container name; without it (nothing probes) declared probes are not judged. */
  probes?: ReadonlyMap<string, ProbeRecord>;
  /** The exit code of each container's last death, by container name, where the cache saw one. */
  lastExitCodes?: ReadonlyMap<string, number>;
  now: Date;
  crashLoop?: CrashLoopPolicy;
  /** The server, for the message. */
  server?: string;
}

/** Every replica the frozen input declares, judged against the host: the one truth about readiness. */
export function frozenInputHealth(frozen: Pick<FrozenInput, 'containers' | 'components'>, obs: ServiceObservation): ServiceHealth {
  const live = new Map(obs.live.map((c) => [c.name, c]));
  const components = new Map(frozen.components.map((c) => [c.name, c]));
  const replicas = frozen.containers.map((container) => {
    const component = components.get(container.component);
    const probe = component?.readiness && obs.probes ? { spec: component.readiness, record: obs.probes?.get(container.name) } : undefined;
    return replicaHealth(
      {
        name: container.name,
        state: live.get(container.name)?.state,
        runsToCompletion: component?.runsToCompletion,
        ...(probe ? { probe } : {}),
        lastExitCode: obs.lastExitCodes?.get(container.name),
      },
      obs.now,
      obs.crashLoop ?? DEFAULT_CRASH_LOOP,
    );
  });
  return serviceHealth(replicas, frozen.containers.length, obs.server);
}

/** One Swarm service of a Service, with its tasks and how many should run. */
export interface SwarmServiceTasks {
  name: string;
  tasks: readonly SwarmTaskView[];
  desired: number;
  /** The component's http/tcp readiness probe, and what it observed of each task (by task ID). */
  probe?: {
    spec: ReadinessProbe;
    records: ReadonlyMap<string, ProbeRecord>;
    /** Tasks whose probe is not run (by task ID), and why: they count as ready once running. */
    unprobed?: ReadonlyMap<string, string>;
  };
}

/**
 * The health of a Service's Swarm services (one, or a stack's) from their tasks that should run
 * (Swarm starts a task only once its healthcheck passes): a running task of the deployed spec is
 * ready once its readiness probe passes (when one is declared and run there); one of an older spec
 * is not. The counts add up over the services; the message names the tasks whose probe is not run.
 */
export function swarmTasksHealth(services: readonly SwarmServiceTasks[], where?: string): ServiceHealth {
  const replicas = services.flatMap((s) => swarmServiceReplicas(s));
  const notes = services.flatMap((s) => unprobedNotes(s));
  return serviceHealth(replicas, services.reduce((sum, s) => sum + s.desired, 0), where, notes);
}

/** `probes not run for hf_shop_production_web.3 (node hf-h3 has no Server …)`, one per reason. */
function unprobedNotes({ name, tasks, probe }: SwarmServiceTasks): string[] {
  if (!probe?.unprobed?.size) return [];
  const byWhy = new Map<string, string[]>();
  for (const t of tasks) {
    const why = probe.unprobed.get(t.id);
    if (why === undefined || t.desiredState !== 'running' || t.state !== 'running' || !t.current) continue;
    byWhy.set(why, [...(byWhy.get(why) ?? []), `${name}.${t.slot ?? t.node ?? t.id.slice(0, 12)}`]);
  }
  return [...byWhy].map(([why, names]) => `readiness probe not run for ${names.join(', ')}: ${why}`);
}

function swarmServiceReplicas({ name: serviceName, tasks, desired, probe }: SwarmServiceTasks): ReplicaHealth[] {
  const replicas: ReplicaHealth[] = tasks
    .filter((t) => t.desiredState === 'running')
    .map((t, i) => {
      const name = `${serviceName}.${t.slot ?? t.node ?? i + 1}`;
      const running = t.state === 'running';
      if (running && t.current && probe && !probe.unprobed?.has(t.id)) {
        const judged = probedTask(name, t, probe.spec, probe.records.get(t.id));
        if (judged) return judged;
      }
      const ready = running && t.current;
      return {
        name,
        state: ready ? 'Ready' : running ? 'Starting' : t.state === 'failed' || t.state === 'rejected' ? 'NotRunning' : 'Starting',
        ready,
        reason: ready ? 'Ready' : running ? 'OlderSpec' : 'TaskNotRunning',
        message: `${name}: task ${running && !t.current ? `runs an older spec${t.node ? ` on ${t.node}` : ''}` : describeTask(t)}`,
      };
    });
  const missing = Math.max(0, desired - replicas.length);
  for (let i = 0; i < missing; i++) {
    replicas.push({ name: `${serviceName}.?`, state: 'Missing', ready: false, reason: 'ContainerMissing', message: `${serviceName}: a task is not scheduled` });
  }
  return replicas;
}

/** A running task of the deployed spec judged by its probe's record; undefined when the probe passes. */
function probedTask(name: string, t: SwarmTaskView, spec: ReadinessProbe, record: ProbeRecord | undefined): ReplicaHealth | undefined {
  const where = t.node ? ` on ${t.node}` : '';
  if (record && record.consecutiveFailures >= spec.failureThreshold) {
    return {
      name,
      state: 'ProbeFailing',
      ready: false,
      reason: 'ProbeFailing',
      message: `${name}: task running${where}; ${record.consecutiveFailures} consecutive probe failures (failureThreshold ${spec.failureThreshold})${record.lastDetail ? `: ${record.lastDetail}` : ''}`,
    };
  }
  if (!record?.passing) {
    return {
      name,
      state: 'Starting',
      ready: false,
      reason: 'ProbeNotPassed',
      message: `${name}: task running${where}; its readiness probe has not passed yet${record?.lastDetail ? `; last probe: ${record.lastDetail}` : ''}`,
    };
  }
  return undefined;
}
