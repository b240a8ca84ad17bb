// Live vs frozen for a Service that runs as Swarm services: each service's spec as the manager
// holds it against the ServiceSpec the frozen input renders to — image, env (secret values compared
// as hashes, never shown), replicas (or mode global), published ports and labels — and a service
// that is gone.
// Paths read `services[hf_shop_production_web].env.GREETING`. Pure.
import { isIgnored } from '../deploy/compare.js';
import { LABELS, type FrozenInput } from '../deploy/container-spec.js';
import { imageReference } from '../deploy/docker-request.js';
import { swarmServiceLabels, swarmServicePlans, type PublishMode } from '../deploy/swarm-spec.js';
import type { DriftEntry } from './types.js';

/** The part of a GET /services item this compares. */
export interface RawSwarmServiceSpec {
  Name?: string;
  Labels?: Record<string, string> | null;
  TaskTemplate?: { ContainerSpec?: { Image?: string; Env?: string[] | null } } | Record<string, unknown>;
  Mode?: { Replicated?: { Replicas?: number }; Global?: object };
  EndpointSpec?: { Ports?: Array<{ Protocol?: string; TargetPort?: number; PublishedPort?: number; PublishMode?: string }> | null } | Record<string, unknown>;
}

export interface SwarmDriftOptions {
  publishMode: PublishMode;
  /** The keyed hash secret values are frozen with. */
  hashSecret(value: string): string;
  /** driftPolicy.ignoreDifferences: `env.BUILD_ID`, `labels`, or whole paths. */
  ignorePaths?: readonly string[];
}

export const swarmServicePath = (name: string) => `services[${name}]`;

function portText(p: { Protocol?: string; TargetPort?: number; PublishedPort?: number; PublishMode?: string }): string {
  return `${p.PublishedPort ?? ''}:${p.TargetPort ?? ''}/${p.Protocol ?? 'tcp'} (${p.PublishMode ?? 'ingress'})`;
}

/**
 * The differences between the frozen input and the Swarm service(s) the manager holds for it
 * (`live`: every service named like the Service's; absent ones are `missing`). A frozen input that
 * cannot run on Swarm has none (its rollout failed saying why).
 */
export function diffSwarmAgainstFrozen(frozen: FrozenInput, live: ReadonlyArray<{ Spec?: RawSwarmServiceSpec }>, options: SwarmDriftOptions): DriftEntry[] {
  let plans;
  try {
    plans = swarmServicePlans(frozen, { publishMode: options.publishMode });
  } catch {
    return [];
  }
  const entries: DriftEntry[] = [];
  for (const plan of plans) {
    const base = swarmServicePath(plan.name);
    const add = (path: string, entry: Omit<DriftEntry, 'path' | 'source'>) => {
      if (isIgnored(path, options.ignorePaths) || isIgnored(`${base}.${path}`, options.ignorePaths)) return;
      entries.push({ path: path ? `${base}.${path}` : base, source: 'live-vs-frozen', ...entry });
    };
    const spec = live.find((s) => s.Spec?.Name === plan.name)?.Spec;
    if (!spec) {
      add('', { kind: 'missing', expected: `${plan.replicas} replica(s)` });
      continue;
    }
    const c = plan.container;
    const task = (spec.TaskTemplate ?? {}) as { ContainerSpec?: { Image?: string; Env?: string[] | null } };
    const image = task.ContainerSpec?.Image;
    const wantImage = imageReference(c);
    if (image !== wantImage) add('image', { kind: 'changed', expected: wantImage, actual: image });

    const liveEnv = new Map<string, string>();
    for (const item of task.ContainerSpec?.Env ?? []) {
      const at = item.indexOf('=');
      liveEnv.set(at < 0 ? item : item.slice(0, at), at < 0 ? '' : item.slice(at + 1));
    }
    for (const [key, value] of Object.entries(c.env)) {
      const actual = liveEnv.get(key);
      if (actual === undefined) {
        add(`env.${key}`, { kind: 'missing', ...('value' in value ? { expected: value.value } : {}) });
      } else if ('value' in value) {
        if (actual !== value.value) add(`env.${key}`, { kind: 'changed', expected: value.value, actual });
      } else if ('secretRef' in value) {
        const hash = options.hashSecret(actual);
        if (hash !== value.secretHash) add(`env.${key}`, { kind: 'changed', expected: { secretHash: value.secretHash }, actual: { secretHash: hash } });
      }
      // A template with secrets is not compared by value: its parts cannot be told apart.
    }
    // Values of undeclared variables are not shown: they may be secrets.
    for (const key of liveEnv.keys()) if (!(key in c.env)) add(`env.${key}`, { kind: 'unexpected' });

    if (plan.global) {
      if (!spec.Mode?.Global) add('mode', { kind: 'changed', expected: 'global', actual: 'replicated' });
    } else {
      const replicas = spec.Mode?.Replicated?.Replicas;
      if (replicas !== plan.replicas) add('replicas', { kind: 'changed', expected: plan.replicas, actual: replicas ?? 'not replicated' });
    }

    const wantPorts = c.ports.map((p) => portText({ Protocol: p.protocol, TargetPort: p.containerPort, PublishedPort: p.hostPort, PublishMode: plan.publishMode })).sort();
    const endpoint = (spec.EndpointSpec ?? {}) as { Ports?: Array<{ Protocol?: string; TargetPort?: number; PublishedPort?: number; PublishMode?: string }> | null };
    const livePorts = (endpoint.Ports ?? []).map(portText).sort();
    if (JSON.stringify(wantPorts) !== JSON.stringify(livePorts)) add('ports', { kind: 'changed', expected: wantPorts, actual: livePorts });

    const liveLabels = { ...(spec.Labels ?? {}) };
    const wantLabels = swarmServiceLabels(plan);
    for (const key of [LABELS.specHash, LABELS.deployment]) delete liveLabels[key];
    for (const [key, value] of Object.entries(wantLabels)) {
      if (liveLabels[key] === undefined) add(`labels.${key}`, { kind: 'missing', expected: value });
      else if (liveLabels[key] !== value) add(`labels.${key}`, { kind: 'changed', expected: value, actual: liveLabels[key] });
    }
    for (const [key, value] of Object.entries(liveLabels)) if (!(key in wantLabels)) add(`labels.${key}`, { kind: 'unexpected', actual: value });
  }
  return entries;
}
