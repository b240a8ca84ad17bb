// Field-by-field comparison of two container specs (frozen against live, or an old frozen input
// against a new one). Maps compare per key, set-like lists per element identity (a port, a mount
// target, a network), everything else as a whole value. Identity (name, owner, replica) and
// bookkeeping labels are not compared: they say which container it is, not what it is.

import { canonicalJson } from '../canonical-json.js';
import { BOOKKEEPING_LABELS, type ContainerSpec } from './container-spec.js';
import { sameImage } from './image-ref.js';

export type FieldDiffKind = 'changed' | 'missing' | 'unexpected';

export interface FieldDiff {
  /** `image`, `env.GREETING`, `ports[8080/tcp]`, `mounts[/data]`, `resources.memoryBytes`, ... */
  path: string;
  kind: FieldDiffKind;
  expected?: unknown;
  actual?: unknown;
}

export interface CompareOptions {
  /** Paths (or path prefixes: `labels`, `env.BUILD_ID`, `ports`) whose differences are ignored. */
  ignorePaths?: readonly string[];
}

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);

type Keyed = Record<string, unknown>;

const KEYED_LISTS: Record<string, (item: never) => string> = {
  ports: (p: { containerPort: number; protocol: string; hostIP?: string }) => `${p.containerPort}/${p.protocol}${p.hostIP ? `@${p.hostIP}` : ''}`,
  exposedPorts: (p: { port: number; protocol: string }) => `${p.port}/${p.protocol}`,
  mounts: (m: { target: string }) => m.target,
  files: (f: { target: string }) => f.target,
  networks: (n: { name: string }) => n.name,
  ulimits: (u: { name: string }) => u.name,
  devices: (d: { target: string }) => d.target,
};
const MAPS = new Set(['env', 'labels', 'sysctls', 'resources']);
const NOT_COMPARED = new Set(['name', 'project', 'environment', 'service', 'component', 'replicaIndex', 'image', 'imageDigest']);

/** True when `path` is ignored by one of `ignorePaths`. */
export function isIgnored(path: string, ignorePaths: readonly string[] | undefined): boolean {
  return (ignorePaths ?? []).some((p) => path === p || path.startsWith(`${p}.`) || path.startsWith(`${p}[`));
}

function compareMap(field: string, expected: Keyed, actual: Keyed, out: FieldDiff[]) {
  for (const key of new Set([...Object.keys(expected), ...Object.keys(actual)])) {
    const path = `${field}.${key}`;
    if (!(key in actual) || actual[key] === undefined) {
      if (expected[key] !== undefined) out.push({ path, kind: 'missing', expected: expected[key] });
    } else if (!(key in expected) || expected[key] === undefined) out.push({ path, kind: 'unexpected', actual: actual[key] });
    else if (!same(expected[key], actual[key])) out.push({ path, kind: 'changed', expected: expected[key], actual: actual[key] });
  }
}

function compareList(field: string, key: (item: never) => string, expected: unknown[], actual: unknown[], out: FieldDiff[]) {
  const byKey = (items: unknown[]) => new Map(items.map((item) => [key(item as never), item]));
  const e = byKey(expected);
  const a = byKey(actual);
  for (const id of new Set([...e.keys(), ...a.keys()])) {
    const path = `${field}[${id}]`;
    if (!a.has(id)) out.push({ path, kind: 'missing', expected: e.get(id) });
    else if (!e.has(id)) out.push({ path, kind: 'unexpected', actual: a.get(id) });
    else if (!same(e.get(id), a.get(id))) out.push({ path, kind: 'changed', expected: e.get(id), actual: a.get(id) });
  }
}

/**
 * A healthcheck with its zero timings and retries left out: Docker reads 0 as "the default" (and a
 * zero start period is the default), and inspect reports an unset one as 0, so a spec that writes
 * `startPeriodMs: 0` and a container that shows none are the same healthcheck.
 */
function withoutZeroTimings(healthcheck: ContainerSpec['healthcheck']): ContainerSpec['healthcheck'] {
  if (!healthcheck) return healthcheck;
  const out = { ...healthcheck };
  for (const key of ['intervalMs', 'timeoutMs', 'startPeriodMs', 'startIntervalMs', 'retries'] as const) if (out[key] === 0) delete out[key];
  return out;
}

/** The differences between what a container should be and what it is. */
export function diffContainerSpecs(expected: ContainerSpec, actual: ContainerSpec, options: CompareOptions = {}): FieldDiff[] {
  const out: FieldDiff[] = [];
  if (!sameImage(expected, actual)) {
    const imageSame = same(expected.image, actual.image);
    if (imageSame && expected.imageDigest !== actual.imageDigest) {
      out.push({ path: 'imageDigest', kind: 'changed', expected: expected.imageDigest, actual: actual.imageDigest });
    } else out.push({ path: 'image', kind: 'changed', expected: expected.image, actual: actual.image });
  }
  const withoutBookkeeping = (labels: Record<string, string>) => {
    const copy = { ...labels };
    for (const key of BOOKKEEPING_LABELS) delete copy[key];
    return copy;
  };
  const e = { ...expected, labels: withoutBookkeeping(expected.labels), healthcheck: withoutZeroTimings(expected.healthcheck) } as unknown as Keyed;
  const a = { ...actual, labels: withoutBookkeeping(actual.labels), healthcheck: withoutZeroTimings(actual.healthcheck) } as unknown as Keyed;
  const fields = new Set([...Object.keys(e), ...Object.keys(a)]);
  for (const field of fields) {
    if (NOT_COMPARED.has(field) || !(field in expectedShape)) continue;
    const ev = e[field];
    const av = a[field];
    if (MAPS.has(field)) compareMap(field, (ev ?? {}) as Keyed, (av ?? {}) as Keyed, out);
    else if (field in KEYED_LISTS) compareList(field, KEYED_LISTS[field], (ev ?? []) as unknown[], (av ?? []) as unknown[], out);
    else if (ev === undefined && av !== undefined) out.push({ path: field, kind: 'unexpected', actual: av });
    else if (ev !== undefined && av === undefined) out.push({ path: field, kind: 'missing', expected: ev });
    else if (!same(ev, av)) out.push({ path: field, kind: 'changed', expected: ev, actual: av });
  }
  return out.filter((d) => !isIgnored(d.path, options.ignorePaths)).sort((x, y) => (x.path < y.path ? -1 : x.path > y.path ? 1 : 0));
}

/** Every field of the container model: what a live object may add (id, state) is not compared. */
const expectedShape: Record<keyof ContainerSpec, true> = {
  name: true, project: true, environment: true, service: true, component: true, replicaIndex: true, image: true, imageDigest: true,
  command: true, entrypoint: true, env: true, ports: true, exposedPorts: true, mounts: true, files: true, labels: true, networks: true,
  networkMode: true, restartPolicy: true, healthcheck: true, resources: true, user: true, workingDir: true, hostname: true,
  domainname: true, stopSignal: true, stopGraceSeconds: true, init: true, tty: true, stdinOpen: true, privileged: true,
  readOnly: true, capAdd: true, capDrop: true, securityOpt: true, sysctls: true, ulimits: true, shmSizeBytes: true, devices: true,
  dns: true, dnsSearch: true, dnsOptions: true, extraHosts: true, groupAdd: true, logging: true, platform: true, runtime: true,
};
