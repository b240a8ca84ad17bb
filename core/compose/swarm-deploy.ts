// The compose keys that only a Swarm manager honours — deploy.mode, deploy.placement,
// deploy.update_config, deploy.rollback_config, deploy.endpoint_mode and deploy.labels (the mapper
// reads the labels, as it checks every label key) — read into the component on a manager, and
// warned about on Docker Engine, where they have no effect (as docker compose ignores them). And the
// keys a Swarm service cannot honour, refused on a manager with their path.

import type { ComponentSpec, ContainerTemplate, SwarmRollbackSpec, SwarmUpdateSpec } from '../deploy/container-spec.js';
import { parseDurationMs, parseInteger } from '../deploy/units.js';
import { placementProblems, type Placement } from '../swarm/placement.js';
import type { Report } from './service-fields.js';
import type { ComposeService } from './types.js';

type SwarmFields = Pick<ComponentSpec, 'placement' | 'global' | 'swarmUpdate' | 'swarmRollback' | 'endpointMode' | 'serviceLabels'>;

/** A Swarm service's name is a DNS label of letters, digits, `-` and `_`, at most 63 characters. */
const SWARM_SERVICE_NAME = /^[a-zA-Z0-9](?:[a-zA-Z0-9_-]*[a-zA-Z0-9])?$/;
const SWARM_SERVICE_NAME_MAX = 63;

export function readSwarmDeploy(svc: ComposeService, at: string, swarm: boolean, report: Report): SwarmFields {
  const deploy = svc.deploy ?? {};
  const fields: SwarmFields = {};
  if (!swarm) {
    for (const key of ['mode', 'placement', 'update_config', 'rollback_config', 'endpoint_mode', 'labels'] as const) {
      if (deploy[key] !== undefined) report.warn(`${at}.deploy.${key} has no effect on Docker Engine (a Swarm manager honours it)`);
    }
    return fields;
  }
  if (deploy.mode === 'global') {
    if (deploy.replicas !== undefined || svc.scale !== undefined) report.problem(`${at}.deploy.mode`, 'global runs one task on every suitable node: drop replicas (or scale)');
    fields.global = true;
  }
  if (deploy.endpoint_mode === 'dnsrr') fields.endpointMode = 'dnsrr';
  if (deploy.placement) {
    const placement: Placement = { constraints: [...(deploy.placement.constraints ?? [])], spread: (deploy.placement.preferences ?? []).map((p) => p.spread) };
    for (const problem of placementProblems(placement, `${at}.deploy.placement`)) report.problem(problem.path, problem.message);
    const max = deploy.placement.max_replicas_per_node;
    if (max !== undefined) {
      const n = parseInteger(max);
      if (n === undefined || n < 1) report.problem(`${at}.deploy.placement.max_replicas_per_node`, 'must be a positive integer');
      else placement.maxReplicasPerNode = n;
    }
    fields.placement = placement;
  }
  const update = deploy.update_config;
  if (update) {
    const spec = readReplacement(update, `${at}.deploy.update_config`, report);
    // Holdfast watches the tasks itself and rolls a failed update back (update.autoRollback).
    if (update.failure_action !== undefined && update.failure_action !== 'pause') {
      report.warn(`${at}.deploy.update_config.failure_action ${update.failure_action} is not used: Swarm pauses a failing update and Holdfast rolls it back when update.autoRollback is set`);
    }
    if (update.max_failure_ratio !== undefined) report.warn(`${at}.deploy.update_config.max_failure_ratio is not used: a failed task of the new spec fails the rollout`);
    fields.swarmUpdate = spec;
  }
  const rollback = deploy.rollback_config;
  if (rollback) {
    const spec: SwarmRollbackSpec = readReplacement(rollback, `${at}.deploy.rollback_config`, report);
    if (rollback.failure_action !== undefined) spec.failureAction = rollback.failure_action;
    if (rollback.max_failure_ratio !== undefined) {
      const ratio = Number(rollback.max_failure_ratio);
      if (!Number.isFinite(ratio) || ratio < 0 || ratio > 1) report.problem(`${at}.deploy.rollback_config.max_failure_ratio`, 'must be a number from 0 to 1');
      else spec.maxFailureRatio = ratio;
    }
    fields.swarmRollback = spec;
  }
  return fields;
}

/** What update_config and rollback_config share: the order, parallelism, delay and monitor of a replacement. */
function readReplacement(raw: { order?: SwarmUpdateSpec['order']; parallelism?: number | string; delay?: string; monitor?: string }, at: string, report: Report): SwarmUpdateSpec {
  const spec: SwarmUpdateSpec = {};
  if (raw.order !== undefined) spec.order = raw.order;
  if (raw.parallelism !== undefined) {
    const n = parseInteger(raw.parallelism);
    if (n === undefined || n < 0) report.problem(`${at}.parallelism`, 'must be a non-negative integer');
    else spec.parallelism = n;
  }
  for (const [key, field] of [['delay', 'delayMs'], ['monitor', 'monitorMs']] as const) {
    const value = raw[key];
    if (value === undefined) continue;
    const ms = parseDurationMs(value);
    if (ms === undefined) report.problem(`${at}.${key}`, `${JSON.stringify(value)} is not a duration such as 10s or 1m30s`);
    else spec[field] = ms;
  }
  return spec;
}

/**
 * Problems (and warnings) of a compose service that runs as a Swarm service: its name, and what a
 * Swarm ServiceSpec has no field for. `serviceName` is the Swarm service it becomes.
 */
export function checkSwarmService(name: string, serviceName: string, svc: ComposeService, t: ContainerTemplate, at: string, report: Report) {
  if (!SWARM_SERVICE_NAME.test(name)) report.problem(at, `a Swarm service name holds letters, digits, - and _ only: rename ${JSON.stringify(name)}`);
  else if (serviceName.length > SWARM_SERVICE_NAME_MAX) report.problem(at, `its Swarm service ${serviceName} is longer than ${SWARM_SERVICE_NAME_MAX} characters: use a shorter name`);
  const unsupported: Array<[string, boolean]> = [
    ['privileged', !!t.privileged],
    ['devices', t.devices.length > 0],
    ['shm_size', t.shmSizeBytes !== undefined],
    ['security_opt', t.securityOpt.length > 0],
    ['runtime', t.runtime !== undefined],
    ['domainname', t.domainname !== undefined],
    ['network_mode', svc.network_mode !== undefined],
  ];
  for (const [key, set] of unsupported) if (set) report.problem(`${at}.${key}`, 'a Swarm service has no such setting: drop it, or run the Service on a docker-engine server');
  for (const network of t.networks) {
    if (network.ipv4Address || network.ipv6Address) report.problem(`${at}.networks`, `a Swarm task gets its address from the overlay network: drop ipv4_address/ipv6_address on ${network.name}`);
  }
  if (svc.container_name !== undefined) report.warn(`${at}.container_name is not used on Swarm: the tasks are named by Swarm`);
  const completes = !!svc.depends_on && !Array.isArray(svc.depends_on) && Object.values(svc.depends_on).some((d) => d.condition === 'service_completed_successfully');
  if (completes) report.problem(`${at}.depends_on`, 'condition service_completed_successfully has no Swarm equivalent: a Swarm service runs its tasks, it does not wait for one to complete');
  else if (svc.depends_on !== undefined) report.warn(`${at}.depends_on is not used on Swarm: the services of a stack start together, as with docker stack deploy`);
}
