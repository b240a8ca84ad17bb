// Container-level compose keys whose values need reading and checking: restart policies,
// healthchecks, resources, replicas, ulimits, devices and extra hosts. Each reports problems at
// their path and warns about what has no effect on Docker Engine.

import type { ContainerSpec, DeviceSpec, HealthcheckSpec, RestartPolicy, UlimitSpec } from '../deploy/container-spec.js';
import { parseCpus, parseDockerBytes, parseDurationMs, parseInteger } from '../deploy/units.js';
import type { ComposeService } from './types.js';
import { asBool } from './values.js';

export interface Report {
  problem(path: string, message: string): void;
  warn(message: string): void;
}

/**
 * compose's `restart` (default no), overridden by `deploy.restart_policy`. On a Swarm manager the
 * default is Swarm's own, condition any, as `docker stack deploy` gives: with none, a task Swarm
 * rejects (its node drained, or no longer meeting the constraints) would not be replaced.
 */
export function readRestartPolicy(svc: ComposeService, at: string, report: Report, swarm = false): RestartPolicy {
  let policy: RestartPolicy = { name: swarm ? 'always' : 'no' };
  if (svc.restart !== undefined) {
    const [name, count] = svc.restart.split(':');
    policy = { name: name as RestartPolicy['name'] };
    if (count !== undefined) policy.maximumRetryCount = Number(count);
  }
  const deployPolicy = svc.deploy?.restart_policy;
  if (deployPolicy) {
    const condition = deployPolicy.condition ?? 'any';
    const name: RestartPolicy['name'] =
      condition === 'none' || condition === 'no' ? 'no' : condition === 'on-failure' ? 'on-failure' : condition === 'unless-stopped' ? 'unless-stopped' : 'always';
    const fromDeploy: RestartPolicy = { name };
    if (deployPolicy.max_attempts !== undefined) {
      const attempts = parseInteger(deployPolicy.max_attempts);
      if (attempts === undefined || attempts < 0) report.problem(`${at}.deploy.restart_policy.max_attempts`, 'must be a non-negative integer');
      else if (name === 'on-failure' && attempts > 0) fromDeploy.maximumRetryCount = attempts;
      else if (name !== 'on-failure') report.warn(`${at}.deploy.restart_policy.max_attempts has no effect on Docker Engine unless condition is on-failure`);
    }
    for (const key of ['delay', 'window'] as const) {
      if (deployPolicy[key] !== undefined) report.warn(`${at}.deploy.restart_policy.${key} has no effect on Docker Engine`);
    }
    if (svc.restart !== undefined && (policy.name !== fromDeploy.name || policy.maximumRetryCount !== fromDeploy.maximumRetryCount)) {
      report.warn(`${at}.restart is overridden by ${at}.deploy.restart_policy`);
    }
    policy = fromDeploy;
  }
  return policy;
}

export function readHealthcheck(svc: ComposeService, at: string, report: Report): HealthcheckSpec | undefined {
  const hc = svc.healthcheck;
  if (!hc) return undefined;
  if (asBool(hc.disable)) return { test: ['NONE'] };
  let test: string[] = [];
  if (typeof hc.test === 'string') test = ['CMD-SHELL', hc.test];
  else if (Array.isArray(hc.test)) {
    test = [...hc.test];
    if (test.length > 0 && !['NONE', 'CMD', 'CMD-SHELL'].includes(test[0])) {
      report.problem(`${at}.healthcheck.test`, 'a list must start with CMD, CMD-SHELL or NONE');
    }
  }
  const spec: HealthcheckSpec = { test };
  for (const [key, field] of [['interval', 'intervalMs'], ['timeout', 'timeoutMs'], ['start_period', 'startPeriodMs'], ['start_interval', 'startIntervalMs']] as const) {
    const raw = hc[key];
    if (raw === undefined) continue;
    const ms = parseDurationMs(raw);
    if (ms === undefined) report.problem(`${at}.healthcheck.${key}`, `${JSON.stringify(raw)} is not a duration such as 10s or 1m30s`);
    else spec[field] = ms;
  }
  if (hc.retries !== undefined) {
    const retries = parseInteger(hc.retries);
    if (retries === undefined || retries < 0) report.problem(`${at}.healthcheck.retries`, 'must be a non-negative integer');
    else spec.retries = retries;
  }
  return spec;
}

export function readResources(svc: ComposeService, at: string, report: Report): ContainerSpec['resources'] {
  const resources: ContainerSpec['resources'] = {};
  const limits = svc.deploy?.resources?.limits;
  const reservations = svc.deploy?.resources?.reservations;
  const pick = <T>(what: string, a: { path: string; raw: string | number | undefined }, b: { path: string; raw: string | number | undefined }, parse: (v: string | number) => T | undefined): T | undefined => {
    const parsed = [a, b].filter((x) => x.raw !== undefined).map((x) => {
      const value = parse(x.raw!);
      if (value === undefined) report.problem(x.path, `${JSON.stringify(x.raw)} is not a valid ${what}`);
      return value;
    });
    if (parsed.length === 2 && parsed[0] !== undefined && parsed[1] !== undefined && parsed[0] !== parsed[1]) {
      report.problem(b.path, `differs from ${a.path}; declare the ${what} once`);
    }
    return parsed.find((v) => v !== undefined);
  };
  const cpus = pick('CPU count', { path: `${at}.cpus`, raw: svc.cpus }, { path: `${at}.deploy.resources.limits.cpus`, raw: limits?.cpus }, parseCpus);
  if (cpus !== undefined) resources.cpus = cpus;
  const memory = pick('memory size', { path: `${at}.mem_limit`, raw: svc.mem_limit }, { path: `${at}.deploy.resources.limits.memory`, raw: limits?.memory }, parseDockerBytes);
  if (memory !== undefined) resources.memoryBytes = memory;
  const pids = pick('PID limit', { path: `${at}.pids_limit`, raw: svc.pids_limit }, { path: `${at}.deploy.resources.limits.pids`, raw: limits?.pids }, parseInteger);
  if (pids !== undefined) resources.pidsLimit = pids;
  const reservation = pick('memory size', { path: `${at}.mem_reservation`, raw: svc.mem_reservation }, { path: `${at}.deploy.resources.reservations.memory`, raw: reservations?.memory }, parseDockerBytes);
  if (reservation !== undefined) resources.memoryReservationBytes = reservation;
  if (reservations?.cpus !== undefined) report.warn(`${at}.deploy.resources.reservations.cpus has no effect on Docker Engine (it reserves CPUs in Swarm only)`);
  return resources;
}

export function readReplicas(svc: ComposeService, at: string, report: Report): number {
  const values: Array<[string, number | string | undefined]> = [[`${at}.scale`, svc.scale], [`${at}.deploy.replicas`, svc.deploy?.replicas]];
  let replicas: number | undefined;
  for (const [path, raw] of values) {
    if (raw === undefined) continue;
    const n = parseInteger(raw);
    if (n === undefined || n < 0) {
      report.problem(path, 'must be a non-negative integer');
      continue;
    }
    if (replicas !== undefined && replicas !== n) report.problem(path, `differs from ${at}.scale`);
    replicas = n;
  }
  return replicas ?? 1;
}

export function readUlimits(svc: ComposeService, at: string, report: Report): UlimitSpec[] {
  const out: UlimitSpec[] = [];
  for (const [name, value] of Object.entries(svc.ulimits ?? {})) {
    const path = `${at}.ulimits.${name}`;
    if (typeof value === 'object') {
      const soft = value.soft === undefined ? undefined : parseInteger(value.soft);
      const hard = value.hard === undefined ? undefined : parseInteger(value.hard);
      if (soft === undefined || hard === undefined) report.problem(path, 'needs integer soft and hard limits');
      else if (soft > hard && hard !== -1) report.problem(path, `soft limit ${soft} is above the hard limit ${hard}`);
      else out.push({ name, soft, hard });
    } else {
      const limit = parseInteger(value);
      if (limit === undefined) report.problem(path, 'must be an integer or {soft, hard}');
      else out.push({ name, soft: limit, hard: limit });
    }
  }
  return out;
}

export function readDevices(svc: ComposeService, at: string, report: Report): DeviceSpec[] {
  const out: DeviceSpec[] = [];
  for (const [i, entry] of (svc.devices ?? []).entries()) {
    const path = `${at}.devices[${i}]`;
    let device: DeviceSpec | undefined;
    if (typeof entry === 'string') {
      const [source, target, permissions, extra] = entry.split(':');
      if (extra !== undefined || !source) report.problem(path, `${JSON.stringify(entry)} is not HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]]`);
      else device = { source, target: target || source, permissions: permissions || 'rwm' };
    } else if (!entry.source) report.problem(`${path}.source`, 'is required');
    else device = { source: entry.source, target: entry.target ?? entry.source, permissions: entry.permissions ?? 'rwm' };
    if (device && !/^[rwm]+$/.test(device.permissions)) {
      report.problem(path, `permissions ${JSON.stringify(device.permissions)} must be made of r, w and m`);
      device = undefined;
    }
    if (device) out.push(device);
  }
  return out;
}

export function readExtraHosts(svc: ComposeService, at: string, report: Report): string[] {
  const hosts = svc.extra_hosts;
  if (!hosts) return [];
  const out: string[] = [];
  if (Array.isArray(hosts)) {
    for (const [i, entry] of hosts.entries()) {
      // host=ip is the unambiguous form (IPv6 addresses hold colons); host:ip the classic one.
      const eq = entry.indexOf('=');
      const colon = entry.indexOf(':');
      const sep = eq >= 0 ? eq : colon;
      if (sep <= 0) report.problem(`${at}.extra_hosts[${i}]`, `${JSON.stringify(entry)} is not HOST:IP or HOST=IP`);
      else out.push(`${entry.slice(0, sep)}:${entry.slice(sep + 1).replace(/^\[(.*)\]$/, '$1')}`);
    }
    return out;
  }
  for (const [host, ips] of Object.entries(hosts)) {
    for (const ip of Array.isArray(ips) ? ips : [ips]) out.push(`${host}:${ip.replace(/^\[(.*)\]$/, '$1')}`);
  }
  return out;
}
