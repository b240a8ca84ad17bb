// The health gate of a revision applied with `wait: true`: judges whether every Service it changed is
// Ready for the generation it wrote (the controller asks again until they are, one fails, or the
// timeout passes), and rolls every one of them back to the frozen input of its completed deployment
// before the revision's (the same rollback as `holdfast rollout undo`), stopping a deployment still
// running first.
import { setTimeout as sleep } from 'node:timers/promises';
import { HoldfastError } from '../../core/errors.js';
import { gateOutcome, rollbackChoice, serviceGateVerdict, type GateOutcome, type GateVerdict } from '../../core/gitops/health-gate.js';
import type { ServiceStatus } from '../../core/schema/types.generated.js';
import { isTerminal, type DeploymentStore } from '../../store/deployments.js';
import type { ResourceStore } from '../../store/resource-store.js';
import type { DeploymentActions } from '../deployment-actions.js';
import type { InventoryEntry } from '../../core/gitops/inventory.js';
import { SyncFailure } from './apply-revision.js';

const POLL_MS = 1000;
/** How long a rollback waits for a deployment it canceled to stop. */
const STOP_WAIT_MS = 60_000;

export interface GatedService {
  namespace: string;
  name: string;
  generation: number;
}

/** A revision applied in full whose Services failed the gate: the inventory holds what it wrote. */
export class HealthCheckFailed extends SyncFailure {
  constructor(
    message: string,
    readonly inventory: InventoryEntry[],
  ) {
    // The same revision would fail again: it is not retried until a new commit or spec.
    super('HealthCheckFailed', message, true);
    this.name = 'HealthCheckFailed';
  }
}

export interface HealthGateDeps {
  store: ResourceStore;
  deployments: DeploymentStore;
  actions: DeploymentActions;
}

export class HealthGate {
  constructor(private readonly deps: HealthGateDeps) {}

  /** The Services as they are now, with the generation each must become Ready for. */
  async gated(services: Array<{ namespace: string; name: string }>): Promise<GatedService[]> {
    const out: GatedService[] = [];
    for (const s of services) {
      const svc = await this.deps.store.get('Service', s.namespace, s.name);
      if (svc && !svc.metadata.deletionTimestamp) out.push({ ...s, generation: svc.metadata.generation ?? 1 });
    }
    return out;
  }

  /** Judges every Service once against the gate; `deadline` is when the gate's timeout ends. */
  async judge(services: readonly GatedService[], deadline: number, timeoutMs: number, now: number): Promise<GateOutcome> {
    const verdicts = await Promise.all(services.map(async (s) => ({ service: `${s.namespace}/${s.name}`, verdict: await this.verdict(s) })));
    return gateOutcome(verdicts, now >= deadline, timeoutMs);
  }

  /** Rolls the Services back, all at once; one line each saying what was done. */
  async rollBack(services: readonly GatedService[], actor: string, signal: AbortSignal): Promise<string[]> {
    return Promise.all(
      services.map(async (s) => {
        const key = `${s.namespace}/${s.name}`;
        try {
          return `${key}: ${await this.rollBackOne(s, actor, signal)}`;
        } catch (err) {
          return `${key}: rollback failed: ${(err as Error).message}`;
        }
      }),
    );
  }

  private async verdict(s: GatedService): Promise<GateVerdict> {
    const svc = await this.deps.store.get('Service', s.namespace, s.name);
    if (!svc) return { state: 'failed', message: 'the Service was deleted' };
    return serviceGateVerdict(s.generation, svc.status as ServiceStatus | undefined);
  }

  private async rollBackOne(s: GatedService, actor: string, signal: AbortSignal): Promise<string> {
    const svc = await this.deps.store.get('Service', s.namespace, s.name);
    if (!svc) return 'deleted meanwhile, nothing to roll back';
    const uid = svc.metadata.uid!;
    const records = (await this.deps.deployments.listForService(s.namespace, s.name)).filter((d) => d.serviceUid === uid);
    const choice = rollbackChoice(s.generation, records);
    if (choice.action === 'none') return choice.why;
    const target = await this.deps.deployments.lastCompleted(uid, choice.badRevision);
    if (!target) return 'created by this revision: no earlier input to go back to';
    const running = records.find((d) => !isTerminal(d.phase));
    if (running) await this.deps.actions.cancel(running.id, actor);
    const deadline = Date.now() + STOP_WAIT_MS;
    for (;;) {
      try {
        const record = await this.deps.actions.rollback(svc, target.revision, actor);
        return `rolled back to revision ${target.revision} (deployment ${record.id})`;
      } catch (err) {
        // The canceled deployment stops at its next step boundary.
        if (!(err instanceof HoldfastError && err.reason === 'Conflict') || Date.now() >= deadline) throw err;
        await sleep(POLL_MS, undefined, { signal });
      }
    }
  }
}
