// The Server controller: reaches each server over its kept session and writes what it found into
// status — checks (ssh, hostKey, docker, compose, swarm, ipvs, disk), latency, Docker facts (on a
// Swarm manager, the swarm's nodes), free disk and load, the host key pinned on first contact — with conditions Ready, HostKeyVerified,
// DockerAvailable, ComposeAvailable, DiskPressure, MemoryPressure, and Events when something changes
// (pressure that begins, worsens or ends among them). It looks again every poll interval, and runs
// the scheduled cleanup (spec.cleanup) when its time has come.
import { setCondition } from '../../core/resource.js';
import type { Server, ServerSpec, ServerStatus, ServerStatusCheck } from '../../core/schema/types.generated.js';
import { describeSwarmMembers, swarmMembers } from '../../core/swarm/nodes.js';
import { isHostError, type HostConnection, type HostError } from '../../hosts/index.js';
import type { Logger } from '../../observability/logger.js';
import type { ResourceStore } from '../../store/resource-store.js';
import type { EventRecorder } from '../events.js';
import type { Reconciler, ReconcileResult } from '../manager.js';
import { addDiskSample, describeDiskTrend, hostFiguresCommand, judgeDisk, judgeMemory, parseHostFigures, pressureEvents, summariseDockerDisk, type DockerDiskUsage, type HostFigures } from './host-figures.js';
import type { ScheduledCleanup } from './scheduled-cleanup.js';
import type { ServerConnector } from './server-connector.js';

type CheckResult = ServerStatusCheck['result'];

export interface ServerControllerOptions {
  pollIntervalMs: number;
  clock?: () => Date;
  /** Runs spec.cleanup's schedule; without it a declared schedule is not run. */
  scheduledCleanup?: ScheduledCleanup;
}

interface OsFacts {
  compose?: { version: string; variant: 'plugin' | 'standalone' };
  ipvs?: boolean;
}

/** Facts that need a shell command are read once per connection, so a steady-state poll runs none. */
const osFactsByConnection = new WeakMap<HostConnection, OsFacts>();

/** Disk, memory and load are read (one shell command, one /system/df) once per readiness interval per connection, not per reconcile. */
const hostFiguresByConnection = new WeakMap<HostConnection, HostFiguresRead>();

interface HostFiguresRead {
  at: number;
  figures: HostFigures | undefined;
  error?: string;
  dockerDisk?: DockerDiskUsage;
}

export class ServerController implements Reconciler {
  readonly kind = 'Server';
  readonly name = 'server';
  private readonly clock: () => Date;

  constructor(
    private readonly store: ResourceStore,
    private readonly connector: ServerConnector,
    private readonly events: EventRecorder,
    private readonly log: Logger,
    private readonly opts: ServerControllerOptions,
  ) {
    this.clock = opts.clock ?? (() => new Date());
  }

  async reconcile(name: string, signal: AbortSignal): Promise<ReconcileResult> {
    const server = await this.store.get('Server', undefined, name);
    // A Server being deleted keeps its connection while its finalizer waits for its Services' cleanup.
    if (!server || (server.metadata.deletionTimestamp && !server.metadata.finalizers?.length)) {
      await this.connector.hosts.remove(name);
      return {};
    }
    const spec = server.spec as unknown as ServerSpec;
    const previous = (server.status ?? {}) as ServerStatus;
    const now = this.clock();
    const checks: ServerStatusCheck[] = [];
    const check = (name: string, result: CheckResult, message: string) => checks.push({ name, result, message, lastCheckTime: now.toISOString() });
    const status: ServerStatus = {
      ...previous,
      observedGeneration: server.metadata.generation,
      pollIntervalMs: this.opts.pollIntervalMs,
    };
    let conditions = previous.conditions ?? [];
    const cond = (type: string, ok: boolean | 'Unknown', reason: string, message: string) => {
      conditions = setCondition(conditions, { type, status: ok === 'Unknown' ? 'Unknown' : ok ? 'True' : 'False', reason, message, observedGeneration: server.metadata.generation }, now);
    };

    let connection: HostConnection | undefined;
    let cleanupAt: Date | undefined;
    try {
      connection = await this.connector.connectionFor(server);
    } catch (err) {
      const message = (err as Error).message;
      check('ssh', 'Fail', message);
      cond('HostKeyVerified', 'Unknown', 'NotConnected', message);
      cond('DockerAvailable', 'Unknown', 'NotConnected', message);
      cond('Ready', false, /SSH key|SSHKey/.test(message) ? 'SSHKeyMissing' : 'ConfigurationError', message);
      return this.finish(server, { ...status, checks, conditions }, previous);
    }

    try {
      const started = performance.now();
      await connection.docker.ping({ signal, timeoutMs: 15_000 });
      status.latencyMs = Math.round((performance.now() - started) * 10) / 10;
      status.lastContactTime = now.toISOString();
      if (spec.kind !== 'local') {
        check('ssh', 'Pass', `logged in as ${spec.user}@${spec.host}:${spec.port ?? 22}`);
        const seen = connection.session?.hostKeyFingerprint;
        if (seen) {
          check('hostKey', 'Pass', spec.hostKeyFingerprint ? `matches the pinned ${seen}` : `pinned on first contact: ${seen}`);
          cond('HostKeyVerified', true, spec.hostKeyFingerprint ? 'PinnedInSpec' : 'PinnedOnFirstContact', seen);
          if (!spec.hostKeyFingerprint && previous.hostKeyFingerprint !== seen) {
            status.hostKeyFingerprint = seen;
            await this.events.record(server, 'Normal', 'HostKeyPinned', `host key ${seen} recorded on first contact; later connections must present it`);
          }
        }
      } else {
        cond('HostKeyVerified', true, 'Local', 'the local engine is reached without SSH');
      }
      const [version, info] = await Promise.all([connection.docker.version({ signal }), connection.docker.info({ signal })]);
      status.docker = {
        version: version.Version,
        apiVersion: version.ApiVersion,
        os: version.Os,
        arch: version.Arch,
        ...(info.Swarm?.LocalNodeState === 'active'
          ? { swarm: { nodeID: info.Swarm.NodeID, role: info.Swarm.ControlAvailable ? 'manager' : 'worker', managers: info.Swarm.Managers, nodes: info.Swarm.Nodes } }
          : {}),
      };
      status.resources = { ...(status.resources ?? {}), cpus: info.NCPU, memoryBytes: info.MemTotal };
      const disk = await this.hostFigures(connection, info.DockerRootDir ?? '/var/lib/docker', now.getTime(), signal);
      if (disk.dockerDisk) status.resources.dockerDisk = disk.dockerDisk;
      if (disk.figures) {
        status.resources.diskFreeBytes = disk.figures.diskFreeBytes;
        if (disk.figures.load1 !== undefined) status.resources.load1 = disk.figures.load1;
        if (disk.figures.memoryAvailableBytes !== undefined) status.resources.memoryAvailableBytes = disk.figures.memoryAvailableBytes;
        const history = addDiskSample(previous.resources?.diskFreeHistory ?? [], { time: new Date(disk.at).toISOString(), freeBytes: disk.figures.diskFreeBytes });
        status.resources.diskFreeHistory = history;
        const trend = describeDiskTrend(history);
        if (trend) status.resources.diskFreeTrend = trend;
        const judged = judgeDisk(disk.figures);
        check('disk', judged.result, judged.message);
        cond('DiskPressure', judged.result !== 'Pass', judged.result === 'Fail' ? 'DiskFull' : judged.result === 'Warn' ? 'DiskSpaceLow' : 'DiskSpaceOk', judged.message);
      } else {
        check('disk', 'Unknown', `free disk space unknown: ${disk.error ?? 'no answer'}`);
        cond('DiskPressure', 'Unknown', 'NotMeasured', disk.error ?? 'free disk space unknown');
      }
      const available = disk.figures?.memoryAvailableBytes;
      if (available !== undefined && info.MemTotal) {
        const memory = judgeMemory(available, info.MemTotal);
        cond('MemoryPressure', memory.pressure, memory.reason, memory.message);
      } else {
        cond('MemoryPressure', 'Unknown', 'NotMeasured', disk.error ?? 'available memory unknown');
      }
      check('docker', 'Pass', `Docker ${version.Version} (API ${version.ApiVersion})`);
      cond('DockerAvailable', true, 'Responding', `Docker ${version.Version} answered in ${status.latencyMs} ms`);

      const facts = await this.osFacts(connection, spec, signal);
      if (facts.compose) {
        status.compose = facts.compose;
        check('compose', 'Pass', `${facts.compose.variant === 'plugin' ? 'docker compose' : 'docker-compose'} ${facts.compose.version}`);
        cond('ComposeAvailable', true, facts.compose.variant === 'plugin' ? 'PluginFound' : 'StandaloneFound', facts.compose.version);
      } else {
        delete status.compose;
        // Holdfast deploys compose files through the Engine API itself: a missing Compose is a fact, not a problem.
        check('compose', 'Pass', 'not installed (neither docker compose v2 nor docker-compose v1); Holdfast does not need it');
        cond('ComposeAvailable', false, 'NotFound', 'no Docker Compose on the host');
      }
      if (status.docker.swarm?.role === 'manager') {
        status.docker.swarm.nodeList = swarmMembers(await connection.docker.listNodes(undefined, { signal }));
      }
      if (spec.kind === 'docker-swarm-manager') {
        const swarm = status.docker.swarm;
        if (swarm?.role === 'manager') check('swarm', 'Pass', `manager of a swarm with ${swarm.nodes} node(s): ${describeSwarmMembers(swarm.nodeList ?? [])}`);
        else check('swarm', 'Fail', `declared a Swarm manager, but the engine's swarm state is ${info.Swarm?.LocalNodeState ?? 'unknown'}${swarm ? ` (role ${swarm.role})` : ''}`);
        if (facts.ipvs === false) check('ipvs', 'Warn', 'the kernel has no IPVS: the Swarm ingress routing mesh will not route; publish ports in mode=host');
      }
      const failed = checks.filter((c) => c.result === 'Fail');
      cond('Ready', failed.length === 0, failed.length ? 'ChecksFailed' : 'AllChecksPassed', failed.length ? failed.map((c) => `${c.name}: ${c.message}`).join('; ') : `reachable in ${status.latencyMs} ms`);

      if (this.opts.scheduledCleanup) {
        const look = await this.opts.scheduledCleanup.reconcile(server, previous.cleanup, now, signal);
        if (look.status) status.cleanup = look.status;
        else delete status.cleanup;
        cleanupAt = look.nextAt;
      }
    } catch (err) {
      this.describeFailure(err, spec, check, cond);
    }
    return this.finish(server, { ...status, checks, conditions }, previous, cleanupAt);
  }

  private describeFailure(
    err: unknown,
    spec: ServerSpec,
    check: (name: string, result: CheckResult, message: string) => void,
    cond: (type: string, ok: boolean | 'Unknown', reason: string, message: string) => void,
  ) {
    const message = (err as Error)?.message ?? String(err);
    const kind = isHostError(err) ? (err as HostError).kind : 'Unknown';
    switch (kind) {
      case 'HostKeyMismatch':
        check('hostKey', 'Fail', message);
        cond('HostKeyVerified', false, 'HostKeyMismatch', message);
        cond('DockerAvailable', 'Unknown', 'NotConnected', 'not connected: the host key did not match');
        cond('Ready', false, 'HostKeyMismatch', message);
        return;
      case 'DockerUnavailable':
      case 'DockerApiError':
        if (spec.kind !== 'local') check('ssh', 'Pass', `logged in as ${spec.user}@${spec.host}:${spec.port ?? 22}`);
        check('docker', 'Fail', message);
        cond('DockerAvailable', false, kind, message);
        cond('Ready', false, kind, message);
        return;
      default:
        check(spec.kind === 'local' ? 'docker' : 'ssh', 'Fail', message);
        cond('DockerAvailable', 'Unknown', 'NotConnected', message);
        cond('Ready', false, kind === 'Unknown' ? 'Unreachable' : kind, message);
    }
  }

  /** Compose and IPVS need a shell command: read once per connection, not every poll. */
  private async osFacts(connection: HostConnection, spec: ServerSpec, signal: AbortSignal): Promise<OsFacts> {
    const known = osFactsByConnection.get(connection);
    if (known) return known;
    const facts: OsFacts = {};
    const run = (argv: string[]) => connection.commands.run(argv, { signal, timeoutMs: 10_000 }).catch(() => undefined);
    const plugin = await run(['docker', 'compose', 'version', '--short']);
    if (plugin?.exitCode === 0 && plugin.stdout.trim()) facts.compose = { version: plugin.stdout.trim(), variant: 'plugin' };
    else {
      const standalone = await run(['docker-compose', 'version', '--short']);
      if (standalone?.exitCode === 0 && standalone.stdout.trim()) facts.compose = { version: standalone.stdout.trim(), variant: 'standalone' };
    }
    if (spec.kind === 'docker-swarm-manager') {
      const ipvs = await run(['test', '-e', '/proc/net/ip_vs']);
      facts.ipvs = ipvs?.exitCode === 0;
    }
    osFactsByConnection.set(connection, facts);
    return facts;
  }

  /** Free disk space of the Docker data root and the load: one shell command, at most every few minutes. */
  private async hostFigures(connection: HostConnection, dockerRootDir: string, now: number, signal: AbortSignal): Promise<HostFiguresRead> {
    const known = hostFiguresByConnection.get(connection);
    // A little short of the interval, so the poll that comes one interval later reads again.
    if (known && now - known.at < this.opts.pollIntervalMs * 0.9) return known;
    let read: HostFiguresRead;
    // What Docker's objects take is a fact of its own: a slow or failing /system/df leaves it out, nothing more.
    const dockerDisk = connection.docker.systemDf({ signal, timeoutMs: 30_000 }).then(summariseDockerDisk, () => undefined);
    try {
      const result = await connection.commands.run(hostFiguresCommand(dockerRootDir), { signal, timeoutMs: 10_000 });
      const figures = result.exitCode === 0 ? parseHostFigures(result.stdout) : undefined;
      read = { at: now, figures, error: figures ? undefined : `df of ${dockerRootDir} failed: ${(result.stderr || result.stdout).trim().slice(0, 200) || `exit status ${result.exitCode}`}` };
    } catch (err) {
      if (signal.aborted) throw err;
      read = { at: now, figures: undefined, error: (err as Error).message };
    }
    read.dockerDisk = await dockerDisk;
    hostFiguresByConnection.set(connection, read);
    return read;
  }

  /** Writes status when it changed (beyond check times) and records Events for condition flips. */
  private async finish(server: Server, status: ServerStatus, previous: ServerStatus, wakeAt?: Date): Promise<ReconcileResult> {
    for (const e of pressureEvents(previous.conditions ?? [], status.conditions ?? [])) await this.events.record(server, e.type, e.reason, e.message);
    for (const c of status.conditions ?? []) {
      const before = previous.conditions?.find((p) => p.type === c.type);
      if (c.type === 'HostKeyVerified' && c.status === 'False' && before?.status !== 'False') {
        await this.events.record(server, 'Warning', 'HostKeyMismatch', c.message);
      }
      if (c.type === 'Ready' && before?.status !== c.status) {
        // A stable message for the ready case (no latency in it), so repeats fold into one Event.
        await this.events.record(server, c.status === 'True' ? 'Normal' : 'Warning', c.status === 'True' ? 'ServerReady' : c.reason, c.status === 'True' ? 'all readiness checks pass' : c.message);
      }
    }
    try {
      // Written every poll: lastContactTime and latency are part of what operators read.
      await this.store.replaceStatus({ ...server, status }, { actor: 'system:controller:server', skipAudit: true });
    } catch (err) {
      // A concurrent write (the user edited the Server): the next reconcile sees the new version.
      if ((err as { reason?: string }).reason !== 'Conflict') throw err;
      return { requeueAfterMs: 100 };
    }
    this.log.debug({ server: server.metadata.name, ready: status.conditions?.find((c) => c.type === 'Ready')?.status }, 'server checked');
    // A scheduled cleanup due before the next poll is looked at on time.
    const untilCleanup = wakeAt ? Math.max(1000, wakeAt.getTime() - this.clock().getTime() + 1000) : Infinity;
    return { requeueAfterMs: Math.min(this.opts.pollIntervalMs, untilCleanup) };
  }
}
