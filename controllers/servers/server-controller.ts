// The Server controller: reaches each server over its kept session and writes what it found into
// status — checks (ssh, hostKey, docker, compose, swarm, ipvs, disk), latency, Docker facts, free
// disk and load, the host key pinned on first contact — with conditions Ready, HostKeyVerified,
// DockerAvailable, ComposeAvailable, DiskPressure, and Events when something changes. It looks again
// every poll interval.
import { setCondition, type Resource } from '../../core/resource.js';
import type { ServerSpec, ServerStatus, ServerStatusCheck } from '../../core/schema/types.generated.js';
import { isHostError, type HostConnection, type HostError } from '../../hosts/index.js';
import type { Logger } from '../../observability/logger.js';
import type { ResourceStore } from '../../store/resource-store.js';
import type { EventRecorder } from '../events.js';
import type { Reconciler, ReconcileResult } from '../manager.js';
import { hostFiguresCommand, judgeDisk, parseHostFigures, type HostFigures } from './host-figures.js';
import type { ServerConnector } from './server-connector.js';

type CheckResult = ServerStatusCheck['result'];

export interface ServerControllerOptions {
  pollIntervalMs: number;
  clock?: () => Date;
}

interface OsFacts {
  compose?: { version: string; variant: 'plugin' | 'standalone' };
  ipvs?: boolean;
}

/** Facts that need a shell command are read once per connection, so a steady-state poll runs none. */
const osFactsByConnection = new WeakMap<HostConnection, OsFacts>();

/** Disk and load change, but slowly: read them (one shell command) at most this often per connection. */
const HOST_FIGURES_INTERVAL_MS = 5 * 60_000;
const hostFiguresByConnection = new WeakMap<HostConnection, { at: number; figures: HostFigures | undefined; error?: string }>();

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
      if (disk.figures) {
        status.resources.diskFreeBytes = disk.figures.diskFreeBytes;
        if (disk.figures.load1 !== undefined) status.resources.load1 = disk.figures.load1;
        const judged = judgeDisk(disk.figures);
        check('disk', judged.result, judged.message);
        cond('DiskPressure', judged.result !== 'Pass', judged.result === 'Fail' ? 'DiskFull' : judged.result === 'Warn' ? 'DiskSpaceLow' : 'DiskSpaceOk', judged.message);
      } else {
        check('disk', 'Unknown', `free disk space unknown: ${disk.error ?? 'no answer'}`);
        cond('DiskPressure', 'Unknown', 'NotMeasured', disk.error ?? 'free disk space unknown');
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
      if (spec.kind === 'docker-swarm-manager') {
        const swarm = status.docker.swarm;
        if (swarm?.role === 'manager') check('swarm', 'Pass', `manager of a swarm with ${swarm.nodes} node(s), ${swarm.managers} manager(s)`);
        else check('swarm', 'Fail', `declared a Swarm manager, but the engine's swarm state is ${info.Swarm?.LocalNodeState ?? 'unknown'}${swarm ? ` (role ${swarm.role})` : ''}`);
        if (facts.ipvs === false) check('ipvs', 'Warn', 'the kernel has no IPVS: the Swarm ingress routing mesh will not route; publish ports in mode=host');
      }
      const failed = checks.filter((c) => c.result === 'Fail');
      cond('Ready', failed.length === 0, failed.length ? 'ChecksFailed' : 'AllChecksPassed', failed.length ? failed.map((c) => `${c.name}: ${c.message}`).join('; ') : `reachable in ${status.latencyMs} ms`);
    } catch (err) {
      this.describeFailure(err, spec, check, cond);
    }
    return this.finish(server, { ...status, checks, conditions }, previous);
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
  private async hostFigures(connection: HostConnection, dockerRootDir: string, now: number, signal: AbortSignal): Promise<{ figures?: HostFigures; error?: string }> {
    const known = hostFiguresByConnection.get(connection);
    if (known && now - known.at < HOST_FIGURES_INTERVAL_MS) return known;
    let read: { at: number; figures: HostFigures | undefined; error?: string };
    try {
      const result = await connection.commands.run(hostFiguresCommand(dockerRootDir), { signal, timeoutMs: 10_000 });
      const figures = result.exitCode === 0 ? parseHostFigures(result.stdout) : undefined;
      read = { at: now, figures, error: figures ? undefined : `df of ${dockerRootDir} failed: ${(result.stderr || result.stdout).trim().slice(0, 200) || `exit status ${result.exitCode}`}` };
    } catch (err) {
      if (signal.aborted) throw err;
      read = { at: now, figures: undefined, error: (err as Error).message };
    }
    hostFiguresByConnection.set(connection, read);
    return read;
  }

  /** Writes status when it changed (beyond check times) and records Events for condition flips. */
  private async finish(server: Resource, status: ServerStatus, previous: ServerStatus): Promise<ReconcileResult> {
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
    return { requeueAfterMs: this.opts.pollIntervalMs };
  }
}
