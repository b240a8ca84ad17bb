// The drift controller. reconcile(namespace/name) reads the Service's declared, frozen and live views,
// runs the drift engine, and records what it finds: drift records (first and last seen, history),
// status.drift and the Drifted condition, and an Event when differences appear or go. Under
// `driftPolicy.mode: heal` it has the service controller redeploy the frozen input, at most
// `healBudget.maxHeals` times per window, each heal waiting twice as long after the one before; while
// it waits, or once the budget is spent, the Drifted condition and an Event say so (HealBackoff).
//
// Keys come from the servers' live-state caches (a container of the Service changed: look now),
// from deployments ending, from Service changes, and from the periodic resync (the safety net).
import type { FrozenInput } from '../../core/deploy/container-spec.js';
import {
  countDrift,
  DEFAULT_HEAL_BUDGET,
  describeEntries,
  driftCondition,
  healVerdict,
  sortEntries,
  type DriftConditionValue,
  type DriftEntry,
  type DriftPhase,
  type HealBudget,
} from '../../core/drift/index.js';
import { HoldfastError } from '../../core/errors.js';
import type { ProbeRecord } from '../../core/health/index.js';
import { setCondition, type Condition } from '../../core/resource.js';
import type { Service, ServiceStatus } from '../../core/schema/types.generated.js';
import type { Logger } from '../../observability/logger.js';
import type { Metrics } from '../../observability/metrics.js';
import { isTerminal, type DeploymentRecord, type DeploymentStore } from '../../store/deployments.js';
import type { DriftRecord, DriftStore, DriftUpdate } from '../../store/drift.js';
import type { ResourceStore } from '../../store/resource-store.js';
import type { EventRecorder } from '../events.js';
import type { Reconciler, ReconcileResult } from '../manager.js';
import type { ServerConnector } from '../servers/server-connector.js';
import { HostFeed } from './host-feed.js';
import { observeService, type ObserveDeps, type ServiceObservation } from './observe.js';

export const DRIFT_ACTOR = 'system:controller:drift';
export const DRIFTED = 'Drifted';

/** A judgement that changed nothing still refreshes status.drift.lastCheckedTime, at most this often. */
const CHECKED_REFRESH_MS = 5 * 60_000;
/** A server whose live state cannot be read is looked at again this soon. */
const HOST_RETRY_MS = 5000;
/** Closed drift records are kept this long as history. */
const DEFAULT_HISTORY_MS = 30 * 24 * 3600_000;
const KINDS = ['changed', 'missing', 'unexpected'] as const;
const SWARM_DRIFT_NOTE = 'the Service runs as Swarm service(s) (a compose Service as a stack): the live view lists their tasks (node, state, error, exit code) instead of containers; drift compares each Swarm service\'s image, env, replicas, published ports and labels with the deployed input, and reports tasks that should run and do not';

/** What the drift controller needs of the service controller. */
export interface DriftHealer {
  render(service: Service): Promise<FrozenInput>;
  /** Queues a deployment (trigger `controller`) of `frozen`; a HoldfastError Conflict while one runs. */
  heal(service: Service, frozen: FrozenInput, actor: string): Promise<DeploymentRecord>;
  /** The readiness probe results of these containers. */
  probeRecords?(containers: readonly string[]): ReadonlyMap<string, ProbeRecord>;
}

export interface DriftControllerDeps {
  store: ResourceStore;
  deployments: DeploymentStore;
  drift: DriftStore;
  connector: ServerConnector;
  services: DriftHealer;
  /** The keyed hash secret values are frozen with (the sealer's). */
  hashSecret(value: string): string;
  events: EventRecorder;
  log: Logger;
  metrics?: Metrics;
  /** Wakes this controller for a Service key. */
  enqueue(key: string): void;
  clock?: () => Date;
  healBudget?: HealBudget;
  /** After a deployment ends, how long the host settles before drift is judged (default 250 ms). */
  settleMs?: number;
  /** How often deleted Services' records are closed and old history pruned. */
  sweepIntervalMs?: number;
  historyRetentionMs?: number;
}

/** The body of `GET …/services/{name}/views`. */
export interface ServiceViews {
  declared: unknown;
  frozen: FrozenInput | null;
  live: unknown;
  drift: Array<DriftEntry & { firstSeen: string; lastSeen: string }>;
  /** Why a view is missing or not current, when it is. */
  notes?: string[];
}

/** What the views API asks of the drift controller. */
export interface ServiceViewsSource {
  views(service: Service, signal?: AbortSignal): Promise<ServiceViews>;
}

export class DriftController implements Reconciler, ServiceViewsSource {
  readonly kind = 'Service';
  readonly name = 'drift';
  private readonly feed: HostFeed;
  private readonly clock: () => Date;
  private readonly observeDeps: ObserveDeps;
  private sweepTimer?: NodeJS.Timeout;
  private unsubscribeDeployments?: () => void;

  constructor(private readonly deps: DriftControllerDeps) {
    this.clock = deps.clock ?? (() => new Date());
    this.feed = new HostFeed(deps.enqueue, async (name) =>
      (await deps.store.list('Service', { fieldSelector: [{ path: 'metadata.name', op: '=', value: name }] })).items.map((s) => `${s.metadata.namespace}/${s.metadata.name}`),
    );
    this.observeDeps = {
      deployments: deps.deployments,
      connector: deps.connector,
      render: (service) => deps.services.render(service),
      hashSecret: deps.hashSecret,
      probeRecords: (containers) => deps.services.probeRecords?.(containers) ?? new Map(),
      clock: this.clock,
    };
  }

  /** Follows deployments (a rollout that ends is a moment to look) and sweeps periodically. */
  start(): void {
    this.unsubscribeDeployments = this.deps.deployments.subscribe((change) => {
      if (change.type === 'deployment' && isTerminal(change.record.phase)) this.deps.enqueue(`${change.record.namespace}/${change.record.service}`);
    });
    const interval = this.deps.sweepIntervalMs ?? 10 * 60_000;
    const tick = () => {
      void this.sweep().finally(() => {
        this.sweepTimer = setTimeout(tick, interval);
        this.sweepTimer.unref();
      });
    };
    this.sweepTimer = setTimeout(tick, Math.min(interval, 5000));
    this.sweepTimer.unref();
  }

  stop(): void {
    clearTimeout(this.sweepTimer);
    this.unsubscribeDeployments?.();
    this.feed.close();
  }

  async reconcile(key: string, signal: AbortSignal): Promise<ReconcileResult> {
    const [namespace, name] = key.split('/');
    const service = await this.deps.store.get('Service', namespace, name);
    if (!service || service.metadata.deletionTimestamp) {
      if (await this.deps.drift.closeService(namespace, name)) await this.updateGauge();
      return {};
    }
    const obs = await observeService(this.observeDeps, service, signal, { settleMs: this.deps.settleMs });
    if (obs.connection) this.feed.follow(obs.connection);
    const ref = { uid: service.metadata.uid!, namespace, name };
    const completed = obs.completed;
    const heal = completed?.trigger === 'controller' ? { deployment: completed.id, queuedAt: new Date(completed.createdAt) } : undefined;
    const update = await this.deps.drift.record(ref, obs.drift.entries, obs.drift.checked, { heal });
    if (update.opened.length || update.resolved.length) await this.updateGauge();

    const { phase, requeueAfterMs } = await this.decide(service, obs, update);
    const before = service.status?.conditions?.find((c) => c.type === DRIFTED);
    const condition = await this.writeStatus(service, obs, update, phase);
    await this.recordEvents(service, obs, update);
    // Each wait between heals is told once, when it begins: how long, and why.
    if (condition.reason === 'HealBackoff' && (before?.reason !== 'HealBackoff' || before.message !== condition.message)) {
      await this.deps.events.record(service, 'Warning', 'HealBackoff', condition.message);
    }
    // A missing Server is not polled: its creation enqueues the Services on it (servicesAffectedBy).
    const hostRetry = obs.hostError && !obs.serverMissing ? HOST_RETRY_MS : undefined;
    const after = [requeueAfterMs, hostRetry, obs.settledAt ? Math.max(50, obs.settledAt.getTime() - this.clock().getTime()) : undefined].filter(
      (ms): ms is number => ms !== undefined,
    );
    return after.length ? { requeueAfterMs: Math.min(...after) } : {};
  }

  /** Report, heal, or hold off healing; and when to look again. */
  private async decide(service: Service, obs: ServiceObservation, update: DriftUpdate): Promise<{ phase: DriftPhase; requeueAfterMs?: number }> {
    if (!obs.frozen) return { phase: { kind: 'unknown', reason: 'NotDeployed', message: 'no deployment of this service has completed yet: there is nothing to compare the host with' } };
    if (obs.hostError) return { phase: { kind: 'unknown', reason: 'ServerUnavailable', message: obs.hostError } };
    const liveOpen = update.open.filter((r) => r.source === 'live-vs-frozen');
    if (service.spec?.driftPolicy?.mode !== 'heal' || liveOpen.length === 0) return { phase: { kind: 'report' } };

    const latest = obs.latest;
    if (latest && !isTerminal(latest.phase)) return { phase: latest.trigger === 'controller' ? { kind: 'healing', deployment: latest.id } : { kind: 'report' } };
    if (obs.rolloutInProgress) return { phase: { kind: 'report' } };
    // A newer declared spec is about to roll out: that rollout converges the host anyway.
    const generation = service.metadata.generation ?? 1;
    if (obs.declared && obs.completed && generation > obs.completed.generation && obs.declared.specHash !== obs.completed.specHash) return { phase: { kind: 'report' } };

    const now = this.clock();
    const budget = this.deps.healBudget ?? DEFAULT_HEAL_BUDGET;
    const history = await this.deps.deployments.listForService(service.metadata.namespace!, service.metadata.name, 50);
    const heals = history.filter((d) => d.serviceUid === service.metadata.uid && d.trigger === 'controller');
    const verdict = healVerdict(now, heals.map((d) => new Date(d.createdAt)), budget);
    if (!verdict.allowed) {
      const last = heals.reduce((a, b) => (Date.parse(b.createdAt) > Date.parse(a.createdAt) ? b : a));
      const wait =
        verdict.why === 'spacing'
          ? { seconds: Math.round(verdict.waitMs / 1000), maxHeals: budget.maxHeals, lastHeal: { id: last.id, phase: last.phase, ...(last.reason ? { reason: last.reason } : {}) } }
          : undefined;
      return {
        phase: { kind: 'backoff', healsInWindow: verdict.healsInWindow, windowMinutes: Math.round(budget.windowMs / 60_000), retryAt: verdict.retryAt, ...(wait ? { wait } : {}) },
        requeueAfterMs: Math.max(100, verdict.retryAt.getTime() - now.getTime() + 50),
      };
    }
    const what = describeEntries(liveOpen);
    let record: DeploymentRecord;
    try {
      record = await this.deps.services.heal(service, obs.frozen, DRIFT_ACTOR);
    } catch (err) {
      // A deployment started meanwhile; look again when it has ended.
      if (err instanceof HoldfastError && err.reason === 'Conflict') return { phase: { kind: 'report' }, requeueAfterMs: 1000 };
      throw err;
    }
    await this.deps.deployments.appendLog(record.id, 'deploy', [`healing drift on server ${obs.server}: ${what}`]).catch(() => undefined);
    await this.deps.events.record(service, 'Normal', 'DriftHealing', `deployment ${record.id} (revision ${record.revision}) puts back what changed on server ${obs.server}: ${what}`);
    this.deps.log.info({ service: `${service.metadata.namespace}/${service.metadata.name}`, deployment: record.id, paths: liveOpen.map((r) => r.path) }, 'healing drift');
    return { phase: { kind: 'healing', deployment: record.id } };
  }

  /** Writes status.drift and the Drifted condition; returns the condition. */
  private async writeStatus(service: Service, obs: ServiceObservation, update: DriftUpdate, phase: DriftPhase): Promise<DriftConditionValue> {
    const now = this.clock();
    const condition = driftCondition(update.open, phase, obs.server);
    const counts = countDrift(update.open);
    const healed = update.resolved.some((r) => r.resolution === 'healed');
    for (let attempt = 0; attempt < 5; attempt++) {
      const current = await this.deps.store.get('Service', service.metadata.namespace, service.metadata.name);
      if (!current || current.metadata.uid !== service.metadata.uid) return condition;
      const previous = (current.status ?? {}) as ServiceStatus;
      const before = previous.drift ?? {};
      const conditions: Condition[] = setCondition(previous.conditions, { type: DRIFTED, ...condition, observedGeneration: current.metadata.generation ?? 1 }, now);
      const oldCondition = previous.conditions?.find((c) => c.type === DRIFTED);
      const lastChecked = before.lastCheckedTime ? Date.parse(before.lastCheckedTime) : 0;
      const changed =
        before.count !== counts.count ||
        before.liveVsFrozen !== counts.liveVsFrozen ||
        before.declaredVsFrozen !== counts.declaredVsFrozen ||
        oldCondition?.status !== condition.status ||
        oldCondition?.reason !== condition.reason ||
        oldCondition?.message !== condition.message ||
        healed ||
        now.getTime() - lastChecked >= CHECKED_REFRESH_MS;
      if (!changed) return condition;
      const drift = { ...before, ...counts, lastCheckedTime: now.toISOString(), ...(healed ? { lastHealedTime: now.toISOString() } : {}) };
      try {
        await this.deps.store.replaceStatus({ ...current, status: { ...previous, drift, conditions } }, { actor: DRIFT_ACTOR, skipAudit: true });
        return condition;
      } catch (err) {
        if ((err as { reason?: string }).reason !== 'Conflict') throw err;
      }
    }
    throw new HoldfastError('Conflict', `status of service ${service.metadata.namespace}/${service.metadata.name} kept changing while drift was written; retrying`);
  }

  private async recordEvents(service: Service, obs: ServiceObservation, update: DriftUpdate): Promise<void> {
    const openedLive = update.opened.filter((r) => r.source === 'live-vs-frozen');
    const openedDeclared = update.opened.filter((r) => r.source === 'declared-vs-frozen');
    const resolvedLive = update.resolved.filter((r) => r.source === 'live-vs-frozen');
    if (openedLive.length) {
      await this.deps.events.record(service, 'Warning', 'DriftDetected', `${openedLive.length} field(s) on server ${obs.server} no longer match the deployed input: ${describeEntries(openedLive)}`);
    }
    if (openedDeclared.length) {
      await this.deps.events.record(service, 'Normal', 'ChangeNotRolledOut', `the declared spec differs from the deployed input and no rollout is running: ${describeEntries(openedDeclared)}`);
    }
    if (resolvedLive.length) {
      const healedBy = [...new Set(resolvedLive.map((r) => r.healedBy).filter((d): d is string => !!d))];
      const how = healedBy.length ? `healed by deployment ${healedBy.join(', ')}` : 'no longer seen';
      await this.deps.events.record(service, 'Normal', healedBy.length ? 'DriftHealed' : 'DriftResolved', `${resolvedLive.length} field(s) on server ${obs.server} match the deployed input again (${how}): ${describeEntries(resolvedLive)}`);
    }
  }

  /** The three views and the drift between them, with first and last sightings from the records. */
  async views(service: Service, signal?: AbortSignal): Promise<ServiceViews> {
    const obs = await observeService(this.observeDeps, service, signal, { hostWaitMs: 5000, settleMs: this.deps.settleMs });
    const records = await this.deps.drift.open(service.metadata.uid!);
    const now = this.clock().toISOString();
    const key = (e: Pick<DriftEntry, 'source' | 'path'>) => `${e.source}\0${e.path}`;
    const recorded = new Map(records.map((r) => [key(r), r]));
    const fresh = obs.drift.entries.map((e) => ({ ...e, firstSeen: recorded.get(key(e))?.firstSeen ?? now, lastSeen: recorded.get(key(e))?.lastSeen ?? now }));
    // Sources not judged just now (a rollout runs, the host is unreadable) show what was last recorded.
    const kept = records.filter((r) => !obs.drift.checked.includes(r.source)).map(entryOf);
    const notes: string[] = [];
    if (obs.hostError) notes.push(obs.hostError);
    if (obs.swarm) notes.push(SWARM_DRIFT_NOTE);
    if (obs.declaredError) notes.push(`the declared spec cannot be rendered: ${obs.declaredError}`);
    if (obs.rolloutInProgress && obs.latest && !isTerminal(obs.latest.phase)) notes.push(`deployment ${obs.latest.id} is running: drift is judged again when it ends`);
    return {
      declared: service.spec ?? null,
      frozen: obs.frozen ?? null,
      live: obs.drift.live ?? null,
      drift: sortEntries([...fresh, ...kept]),
      ...(notes.length ? { notes } : {}),
    };
  }

  /** Closes the records of Services deleted while nobody looked, prunes old history, sets the gauge. */
  async sweep(): Promise<void> {
    try {
      for (const ref of await this.deps.drift.servicesWithOpenDrift()) {
        const service = await this.deps.store.get('Service', ref.namespace, ref.name);
        if (!service || service.metadata.uid !== ref.uid) await this.deps.drift.closeService(ref.namespace, ref.name, service?.metadata.uid);
      }
      await this.deps.drift.prune(new Date(this.clock().getTime() - (this.deps.historyRetentionMs ?? DEFAULT_HISTORY_MS)));
      await this.updateGauge();
    } catch (err) {
      this.deps.log.warn({ err }, 'drift sweep failed; the next interval retries');
    }
  }

  private async updateGauge(): Promise<void> {
    if (!this.deps.metrics) return;
    const counts = await this.deps.drift.countOpenByKind();
    for (const kind of KINDS) this.deps.metrics.driftEntries.set({ kind }, counts[kind] ?? 0);
  }
}

function entryOf(r: DriftRecord): DriftEntry & { firstSeen: string; lastSeen: string } {
  return {
    path: r.path,
    kind: r.kind,
    ...(r.expected !== undefined ? { expected: r.expected } : {}),
    ...(r.actual !== undefined ? { actual: r.actual } : {}),
    source: r.source,
    firstSeen: r.firstSeen,
    lastSeen: r.lastSeen,
  };
}
