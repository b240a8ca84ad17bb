// Prometheus metrics (prom-client), named by Prometheus conventions: `holdfast_` prefix, base units,
// `_total` counters, `_seconds` histograms. One registry per control plane, so tests can run several.
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { HostObserver, ReconcileObserver, SessionState } from '../core/observers.js';

export class Metrics implements ReconcileObserver, HostObserver {
  private readonly connected = new Set<string>();

  readonly registry = new Registry();

  readonly reconcileDuration = new Histogram({
    name: 'holdfast_reconcile_duration_seconds',
    help: 'Time one reconcile(key) took, by controller, kind and outcome.',
    labelNames: ['controller', 'kind', 'outcome'] as const,
    buckets: [0.001, 0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60],
    registers: [this.registry],
  });
  readonly reconcileErrors = new Counter({
    name: 'holdfast_reconcile_errors_total',
    help: 'Reconciles that failed and were requeued with backoff, by controller and kind.',
    labelNames: ['controller', 'kind'] as const,
    registers: [this.registry],
  });
  readonly workQueueDepth = new Gauge({
    name: 'holdfast_workqueue_depth',
    help: 'Keys waiting in a controller work queue.',
    labelNames: ['controller', 'kind'] as const,
    registers: [this.registry],
  });
  readonly leaseHeld = new Gauge({
    name: 'holdfast_lease_held',
    help: 'Whether this replica holds a Lease (1) or not (0), by lease and replica.',
    labelNames: ['lease', 'replica'] as const,
    registers: [this.registry],
  });
  readonly shardsHeld = new Gauge({
    name: 'holdfast_shards_held',
    help: 'Shards of servers this replica holds (it keeps the SSH sessions to their servers and reconciles what runs on them).',
    labelNames: ['replica'] as const,
    registers: [this.registry],
  });
  readonly sshSessions = new Gauge({
    name: 'holdfast_ssh_sessions',
    help: 'Open SSH sessions to servers (one kept session per server).',
    registers: [this.registry],
  });
  readonly sshReconnects = new Counter({
    name: 'holdfast_ssh_reconnects_total',
    help: 'SSH session reconnects, by server.',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  readonly dockerApiCalls = new Counter({
    name: 'holdfast_docker_api_calls_total',
    help: 'Docker Engine API calls made over the kept sessions, by server.',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  readonly sshExecs = new Counter({
    name: 'holdfast_ssh_execs_total',
    help: 'Shell commands run on servers over SSH (only where the Docker API has no answer), by server.',
    labelNames: ['server'] as const,
    registers: [this.registry],
  });
  readonly driftEntries = new Gauge({
    name: 'holdfast_drift_entries',
    help: 'Current field-level drift entries across services, by kind (changed, missing, unexpected).',
    labelNames: ['kind'] as const,
    registers: [this.registry],
  });
  readonly deployments = new Counter({
    name: 'holdfast_deployments_total',
    help: 'Finished deployments, by outcome (completed, failed, canceled).',
    labelNames: ['outcome'] as const,
    registers: [this.registry],
  });
  readonly apiRequests = new Counter({
    name: 'holdfast_api_requests_total',
    help: 'API requests, by route pattern, method and status code.',
    labelNames: ['route', 'method', 'code'] as const,
    registers: [this.registry],
  });
  readonly apiRequestDuration = new Histogram({
    name: 'holdfast_api_request_duration_seconds',
    help: 'API request latency (watches excluded), by route pattern and method.',
    labelNames: ['route', 'method'] as const,
    buckets: [0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5],
    registers: [this.registry],
  });

  constructor(opts: { processMetrics?: boolean } = {}) {
    if (opts.processMetrics ?? true) collectDefaultMetrics({ register: this.registry, prefix: 'holdfast_' });
  }

  onReconcile(controller: { name: string; kind: string }, seconds: number, outcome: 'success' | 'error' | 'requeue'): void {
    this.reconcileDuration.observe({ controller: controller.name, kind: controller.kind, outcome }, seconds);
    if (outcome === 'error') this.reconcileErrors.inc({ controller: controller.name, kind: controller.kind });
  }

  onQueueDepth(controller: { name: string; kind: string }, depth: number): void {
    this.workQueueDepth.set({ controller: controller.name, kind: controller.kind }, depth);
  }

  dockerApiCall(server: string): void {
    this.dockerApiCalls.inc({ server });
  }

  exec(server: string): void {
    this.sshExecs.inc({ server });
  }

  sessionState(server: string, state: SessionState, previous: SessionState): void {
    if (state === 'connected') this.connected.add(server);
    else this.connected.delete(server);
    this.sshSessions.set(this.connected.size);
    if (state === 'connected' && previous === 'reconnecting') this.sshReconnects.inc({ server });
  }
}
