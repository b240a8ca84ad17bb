// The benchmark's workload, written out for each tool: N busybox httpd services, each with its own
// environment value and its own host port, as Holdfast manifests (one file per Service, as a GitOps
// checkout holds them) and as one compose file. Both describe the same containers: image, command,
// env, published port and restart policy (Holdfast's default, unless-stopped, spelled out for
// compose).
import { mkdirSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { dump } from 'js-yaml';

export const BENCH_IMAGE = 'holdfast-test/busybox:1';
export const HTTPD_COMMAND = ['httpd', '-f', '-p', '8080'];
const CONTAINER_PORT = 8080;

export interface Workload {
  /** Holdfast Project (namespace) of the Services; also the label cleanup goes by. */
  project: string;
  environment: string;
  /** Services are spread round-robin over these Server names. */
  servers: string[];
  count: number;
  /** Service i (1-based) publishes firstHostPort + i - 1, when it runs. */
  firstHostPort: number;
  /** Services past this many are declared with replicas 0 (no container); default: all run. */
  running?: number;
  /** Drift policy of every Service (heal: the repair measurement needs it). */
  driftMode?: 'report' | 'heal';
}

export function serviceName(index: number): string {
  return `svc-${String(index).padStart(4, '0')}`;
}

export function hostPortOf(w: Workload, index: number): number {
  return w.firstHostPort + index - 1;
}

function runs(w: Workload, index: number): boolean {
  return index <= (w.running ?? w.count);
}

export function projectManifest(w: Workload): object {
  return {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Project',
    metadata: { name: w.project },
    spec: { environments: [{ name: w.environment }] },
  };
}

export function serviceManifest(w: Workload, index: number): object {
  const running = runs(w, index);
  return {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name: serviceName(index), namespace: w.project },
    spec: {
      environment: w.environment,
      server: w.servers[(index - 1) % w.servers.length],
      source: { image: BENCH_IMAGE },
      command: HTTPD_COMMAND,
      env: [{ name: 'BENCH_ID', value: String(index) }],
      ...(running ? { ports: [{ containerPort: CONTAINER_PORT, hostPort: hostPortOf(w, index), protocol: 'tcp' }] } : {}),
      replicas: running ? 1 : 0,
      driftPolicy: { mode: w.driftMode ?? 'report' },
    },
  };
}

/** Writes project.yaml and one svc-NNNN.yaml per Service into `dir`; returns `dir`. */
export function writeHoldfastManifests(w: Workload, dir: string): string {
  mkdirSync(dir, { recursive: true });
  writeFileSync(join(dir, 'project.yaml'), dump(projectManifest(w)));
  for (let i = 1; i <= w.count; i++) writeFileSync(join(dir, `${serviceName(i)}.yaml`), dump(serviceManifest(w, i)));
  return dir;
}

/** The same services as one docker-compose file (format 2.4, which compose 1.29 reads). */
export function composeDocument(w: Workload): string {
  const services: Record<string, object> = {};
  for (let i = 1; i <= w.count; i++) {
    services[serviceName(i)] = {
      image: BENCH_IMAGE,
      command: HTTPD_COMMAND,
      environment: { BENCH_ID: String(i) },
      ...(runs(w, i) ? { ports: [`${hostPortOf(w, i)}:${CONTAINER_PORT}`] } : {}),
      restart: 'unless-stopped',
    };
  }
  return dump({ version: '2.4', services });
}
