// The tools compared, behind one shape: converge N services from empty, re-apply with nothing
// changed, bring back a container stopped behind the tool's back, and remove everything. Each
// measurement starts when the user's command starts (or, for a repair, when the container has
// stopped) and ends when the tool's own answer says the services run; the repair ends at the
// engine's `start` event of the container, the same clock for every tool.
import { join } from 'node:path';
import { ComposeTool, SSH_SERVICES_PER_UP, SSH_SINGLE_UP_MAX_SERVICES, type ComposeMode } from './compose-tool.js';
import type { HoldfastControlPlane } from './holdfast-tool.js';
import { type HostEngine } from './host-engine.js';
import { composeDocument, serviceName, writeHoldfastManifests, type Workload } from './workload.js';

export interface RepairTiming {
  /** From the container's stop to the engine's start event for it. */
  restartMs: number;
  /** From the stop until the tool reports every service Ready again (the command's exit for compose). */
  reportedMs: number;
}

export interface Contender {
  readonly label: string;
  /** Everything this tool made on the host, gone; the tool's own records too. */
  teardown(): Promise<void>;
  coldConverge(): Promise<number>;
  noop(): Promise<number>;
  repair(index: number): Promise<RepairTiming>;
}

const CONVERGE_TIMEOUT_MS = 6 * 60_000;

async function expectRunning(engine: HostEngine, label: string, value: string, count: number, who: string): Promise<void> {
  const containers = await engine.containersLabelled(label, value);
  const running = containers.filter((c) => c.running).length;
  if (running !== count) throw new Error(`${who}: ${running} of ${count} containers run on ${engine.host.name} after it reported success (${containers.length} exist)`);
}

async function timeRestart(engine: HostEngine, container: string, afterStop: () => Promise<number | void>): Promise<RepairTiming> {
  const watch = engine.watchStart(container, 120_000);
  try {
    await watch.opened;
    await engine.stop(container);
    const stoppedAt = performance.now();
    const reportedAt = await afterStop();
    const startedAt = await watch.started;
    return { restartMs: startedAt - stoppedAt, reportedMs: (reportedAt ?? performance.now()) - stoppedAt };
  } finally {
    watch.cancel();
  }
}

export class ComposeContender implements Contender {
  private readonly tool: ComposeTool;

  constructor(
    mode: ComposeMode,
    private readonly engine: HostEngine,
    private readonly workload: Workload,
    workDir: string,
  ) {
    this.tool = new ComposeTool(mode, engine.host, workload.project, join(workDir, mode));
    this.tool.writeComposeFile(composeDocument(workload));
  }

  get label(): string {
    return this.tool.label;
  }

  private containerName(index: number): string {
    return `${this.workload.project}_${serviceName(index)}_1`;
  }

  async teardown(): Promise<void> {
    await this.engine.removeAll('com.docker.compose.project', this.workload.project, `${this.workload.project}_`);
  }

  /** Over SSH, more services than one `up -d` can take go up in batches (see SSH_SERVICES_PER_UP). */
  get batched(): boolean {
    return this.tool.overSsh && this.workload.count > SSH_SINGLE_UP_MAX_SERVICES;
  }

  async coldConverge(): Promise<number> {
    let ms = 0;
    if (this.batched) {
      const names = Array.from({ length: this.workload.count }, (_, i) => serviceName(i + 1));
      for (let i = 0; i < names.length; i += SSH_SERVICES_PER_UP) {
        ms += await this.tool.up({ timeoutMs: CONVERGE_TIMEOUT_MS, services: names.slice(i, i + SSH_SERVICES_PER_UP) });
      }
    } else {
      ms = await this.tool.up({ timeoutMs: CONVERGE_TIMEOUT_MS });
    }
    await expectRunning(this.engine, 'com.docker.compose.project', this.workload.project, this.workload.count, this.label);
    return ms;
  }

  async noop(): Promise<number> {
    return this.tool.up({ timeoutMs: CONVERGE_TIMEOUT_MS });
  }

  async repair(index: number): Promise<RepairTiming> {
    return timeRestart(this.engine, this.containerName(index), async () => {
      await this.tool.up({ timeoutMs: CONVERGE_TIMEOUT_MS });
      return performance.now();
    });
  }

  async close(): Promise<void> {
    await this.tool.close();
  }
}

export class HoldfastContender implements Contender {
  readonly label = 'holdfast';
  private readonly manifests: string;

  constructor(
    private readonly plane: HoldfastControlPlane,
    private readonly engine: HostEngine,
    private readonly workload: Workload,
    workDir: string,
  ) {
    this.manifests = writeHoldfastManifests(workload, join(workDir, 'holdfast'));
  }

  private containerName(index: number): string {
    return `hf_${this.workload.project}_${this.workload.environment}_${serviceName(index)}_1`;
  }

  /**
   * Deletes the Services through the API and, at once, force-removes their containers on the host,
   * so the finalizers find nothing left to stop (httpd ignores SIGTERM: a graceful stop would wait
   * out Docker's 10 s timeout per container, which measures nothing of interest here).
   */
  async teardown(): Promise<void> {
    const removeOnHost = () => this.engine.removeAll('holdfast.dev/project', this.workload.project, `hf_${this.workload.project}_`).then(() => undefined);
    await this.plane.deleteServices(this.workload.project, { timeoutMs: 5 * 60_000, onDeleted: removeOnHost });
    await removeOnHost();
  }

  /** `holdfast apply -f DIR --wait`, then until every Service reports Ready for its generation. */
  async coldConverge(): Promise<number> {
    const started = performance.now();
    await this.plane.mustCli(['apply', '-f', this.manifests, '--wait', '--timeout', '10m'], { timeoutMs: CONVERGE_TIMEOUT_MS + 30_000 });
    const readyAt = await this.plane.waitAllReady(this.workload.project, this.workload.count, { timeoutMs: CONVERGE_TIMEOUT_MS });
    await expectRunning(this.engine, 'holdfast.dev/project', this.workload.project, this.workload.count, this.label);
    return readyAt - started;
  }

  /** `holdfast apply -f DIR` with nothing changed: the command's time (it causes no reconcile). */
  async noop(): Promise<number> {
    return this.plane.noopApply(this.manifests);
  }

  /** Nobody acts after the stop: detection and heal are Holdfast's (driftPolicy heal). */
  async repair(index: number): Promise<RepairTiming> {
    return timeRestart(this.engine, this.containerName(index), async () => {
      // Ready again for every Service and no drift left open on the one stopped.
      const deadline = Date.now() + 120_000;
      const name = serviceName(index);
      for (;;) {
        const items = await this.plane.services(this.workload.project);
        const svc = items.find((s) => s.metadata.name === name);
        const running = (await this.engine.containersLabelled('holdfast.dev/project', this.workload.project)).some((c) => c.name === this.containerName(index) && c.running);
        if (running && svc && (svc.status?.drift?.count ?? 0) === 0 && items.every((s) => s.status?.conditions?.find((c) => c.type === 'Ready')?.status === 'True')) {
          return performance.now();
        }
        if (Date.now() > deadline) throw new Error(`holdfast: service ${name} not healed within 120 s of its container being stopped`);
        await new Promise((ok) => setTimeout(ok, 50));
      }
    });
  }
}
