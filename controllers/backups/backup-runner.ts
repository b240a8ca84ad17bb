// Takes, verifies, prunes and restores the backups of one BackupPolicy with a volume target. The
// volume is read from the running container that mounts it (the Service's last completed
// deployment names the containers and their mounts) as a tar through the Engine API, and streamed
// over SSH into one shell command on the destination server; restore streams the file back through
// the Engine API into the same mount. Nothing is buffered whole in memory.
import { createHash } from 'node:crypto';
import { PassThrough, Transform, type Readable } from 'node:stream';
import {
  checksumArgv,
  classifyWriteFailure,
  listBackupsArgv,
  parseSha256,
  readBackupArgv,
  removeBackupsArgv,
  removePartialArgv,
  verifyBackupArgv,
  writeBackupArgv,
} from '../../core/backup/commands.js';
import { backupFile, backupName, backupTime } from '../../core/backup/naming.js';
import { selectRetained } from '../../core/backup/retention.js';
import type { FrozenInput } from '../../core/deploy/container-spec.js';
import { HoldfastError } from '../../core/errors.js';
import type { ObjectMeta, Resource } from '../../core/resource.js';
import type { BackupPolicySpec, BackupPolicyStatus } from '../../core/schema/types.generated.js';
import { isDockerNotFound, type ExecResult, type HostConnection } from '../../hosts/index.js';
import type { DeploymentStore } from '../../store/deployments.js';
import type { ResourceStore } from '../../store/resource-store.js';
import type { ServerConnector } from '../servers/server-connector.js';
import { asBackupFailure, BackupFailure } from './backup-errors.js';

/** Writing or reading a backup file may take long; listing, checking and deleting may not. */
const STREAM_TIMEOUT_MS = 60 * 60_000;
const COMMAND_TIMEOUT_MS = 60_000;
const VERIFY_TIMEOUT_MS = 30 * 60_000;

/** A stored policy: defaults applied, so its spec is there. */
export interface BackupPolicy {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta & { namespace: string };
  spec: BackupPolicySpec;
  status?: BackupPolicyStatus;
}

export type BackupEntry = NonNullable<BackupPolicyStatus['backups']>[number];

export interface BackupRunnerDeps {
  store: ResourceStore;
  deployments: DeploymentStore;
  connector: ServerConnector;
  clock: () => Date;
}

/** The running container that mounts the policy's volume, and where. */
interface VolumeSource {
  server: string;
  connection: HostConnection;
  container: string;
  mountPath: string;
}

export interface TakenBackup {
  entry: BackupEntry;
  startTime: Date;
  completionTime: Date;
  server: string;
  file: string;
  verification?: { result: 'Succeeded' | 'Failed'; message: string };
}

export interface Pruned {
  kept: BackupEntry[];
  removed: string[];
}

export interface Restored {
  backup: string;
  server: string;
  container: string;
  path: string;
  sizeBytes: number;
}

const policyLabel = (p: BackupPolicy) => `backuppolicy ${p.metadata.namespace}/${p.metadata.name}`;

export class BackupRunner {
  constructor(private readonly deps: BackupRunnerDeps) {}

  /** Reads the volume into a new backup file on the destination and checks it there when asked to. */
  async take(policy: BackupPolicy, signal: AbortSignal): Promise<TakenBackup> {
    const source = await this.source(policy, signal);
    const dest = await this.destination(policy, source.server);
    const directory = policy.spec.destination.path;
    const known = new Set(((policy.status ?? {}) as BackupPolicyStatus).backups?.map((b) => b.name) ?? []);
    let startTime = this.deps.clock();
    // Names have a one-second resolution: a second backup within the same second waits for the next.
    while (known.has(backupName(policy.metadata.name, startTime))) {
      await new Promise((ok) => setTimeout(ok, 1000 - (startTime.getTime() % 1000) + 5));
      startTime = this.deps.clock();
    }
    const name = backupName(policy.metadata.name, startTime);
    const file = backupFile(directory, name);
    const hash = createHash('sha256');
    let size = 0;
    let written: ExecResult;
    try {
      written = await source.connection.docker.getArchive(
        source.container,
        `${source.mountPath.replace(/\/+$/, '')}/.`,
        async (tar: Readable) => {
          const meter = new Transform({
            transform(chunk: Buffer, _encoding, done) {
              hash.update(chunk);
              size += chunk.length;
              done(null, chunk);
            },
          });
          tar.once('error', (err) => meter.destroy(err));
          tar.pipe(meter);
          const result = await dest.connection.commands.run(writeBackupArgv(directory, file), { stdin: meter, signal, timeoutMs: STREAM_TIMEOUT_MS });
          // The write ended early (it failed): stop reading the archive.
          if (!tar.readableEnded) tar.destroy();
          return result;
        },
        { signal, timeoutMs: STREAM_TIMEOUT_MS },
      );
    } catch (err) {
      await this.removePartial(dest.connection, file);
      const failure = asBackupFailure(err, 'BackupFailed');
      throw new BackupFailure(failure.condition, `reading volume "${policy.spec.target.volume}" (${source.mountPath} in container ${source.container} on server ${source.server}) into ${file} on server ${dest.name} failed: ${failure.message}`);
    }
    if (written.exitCode !== 0) {
      await this.removePartial(dest.connection, file);
      const reason = classifyWriteFailure(written.stderr);
      const detail = tail(written.stderr) || `exit status ${written.exitCode ?? written.signal}`;
      const what = reason === 'DiskFull' ? 'the destination is out of space' : reason === 'DestinationUnwritable' ? 'the destination is not writable' : 'the write failed';
      throw new BackupFailure(reason, `writing ${file} on server ${dest.name} failed, ${what}: ${detail}`);
    }
    const sha256 = hash.digest('hex');
    const entry: BackupEntry = { name, time: startTime.toISOString(), sizeBytes: size, sha256 };
    let verification: TakenBackup['verification'];
    if (policy.spec.verification?.enabled !== false) {
      verification = await this.verify(dest.connection, file, sha256, signal);
      entry.verified = verification.result === 'Succeeded';
    }
    return { entry, startTime, completionTime: this.deps.clock(), server: dest.name, file, verification };
  }

  /** Deletes the policy's backups retention does not keep; returns those kept, newest first. */
  async prune(policy: BackupPolicy, recorded: readonly BackupEntry[], signal: AbortSignal): Promise<Pruned> {
    const dest = await this.destination(policy, await this.serviceServer(policy));
    const directory = policy.spec.destination.path;
    const listing = await dest.connection.commands.run(listBackupsArgv(directory), { signal, timeoutMs: COMMAND_TIMEOUT_MS });
    if (listing.exitCode !== 0) throw new BackupFailure('BackupFailed', `listing ${directory} on server ${dest.name} failed: ${tail(listing.stderr)}`);
    const byName = new Map(recorded.map((b) => [b.name, b]));
    const present = listing.stdout
      .split('\n')
      .map((n) => n.trim())
      .flatMap((n) => {
        const time = backupTime(policy.metadata.name, n);
        return time ? [{ ...(byName.get(n) ?? { name: n, time: time.toISOString() }), time }] : [];
      });
    const verdict = selectRetained(present, policy.spec.retention ?? {});
    const removed = verdict.remove.map((b) => b.name);
    if (removed.length) {
      const argv = removeBackupsArgv(removed.map((n) => backupFile(directory, n)));
      const result = await dest.connection.commands.run(argv, { signal, timeoutMs: COMMAND_TIMEOUT_MS });
      if (result.exitCode !== 0) throw new BackupFailure('DestinationUnwritable', `deleting old backups in ${directory} on server ${dest.name} failed: ${tail(result.stderr)}`);
    }
    return { kept: verdict.keep.map((b) => ({ ...b, time: b.time.toISOString() })), removed };
  }

  /** Streams a backup file back into the volume (files in it are written over; files made since stay). */
  async restore(policy: BackupPolicy, name: string, signal: AbortSignal): Promise<Restored> {
    if (!backupTime(policy.metadata.name, name)) {
      throw new HoldfastError('BadRequest', `"${name}" is not a backup of ${policyLabel(policy)}: backups are named ${policy.metadata.name}-YYYYMMDDTHHMMSSZ.tar (see holdfast backup list)`);
    }
    const source = await this.source(policy, signal);
    const dest = await this.destination(policy, source.server);
    const file = backupFile(policy.spec.destination.path, name);
    const check = await dest.connection.commands.run(checksumArgv(file), { signal, timeoutMs: VERIFY_TIMEOUT_MS });
    const onHost = check.exitCode === 0 ? parseSha256(check.stdout) : undefined;
    if (!onHost) throw new BackupFailure('BackupNotFound', `backup "${name}" not found: ${file} on server ${dest.name} cannot be read (${tail(check.stderr) || 'no checksum'})`);
    const recorded = ((policy.status ?? {}) as BackupPolicyStatus).backups?.find((b) => b.name === name)?.sha256;
    if (recorded && recorded !== onHost) {
      throw new BackupFailure('ChecksumMismatch', `backup "${name}" changed since it was written (sha256 ${onHost} on server ${dest.name}, ${recorded} recorded): not restoring it`);
    }
    const pipe = new PassThrough();
    let size = 0;
    const streamed = createHash('sha256');
    pipe
      .on('data', (chunk: Buffer) => {
        size += chunk.length;
        streamed.update(chunk);
      })
      .pause();
    // The engine refusing the archive must also stop the read, or it would wait on a full pipe.
    const stopRead = new AbortController();
    const [put, read] = await Promise.allSettled([
      source.connection.docker.putArchive(source.container, source.mountPath, pipe, { signal, timeoutMs: STREAM_TIMEOUT_MS }).catch((err) => {
        stopRead.abort(err);
        throw err;
      }).then(() => {
        // The engine may answer once it has read the archive's end marker, before the padding after
        // it: read what is left, so the command is not left waiting on a full pipe.
        pipe.resume();
      }),
      dest.connection.commands.run(readBackupArgv(file), { stdout: pipe, signal: AbortSignal.any([signal, stopRead.signal]), timeoutMs: STREAM_TIMEOUT_MS }),
    ]);
    const into = `${source.mountPath} in container ${source.container} on server ${source.server}`;
    if (put.status === 'rejected') {
      throw new BackupFailure('RestoreFailed', `writing backup "${name}" into ${into} failed: ${asBackupFailure(put.reason, 'RestoreFailed').message}`);
    }
    if (read.status === 'rejected') {
      throw new BackupFailure('RestoreFailed', `reading ${file} on server ${dest.name} failed while restoring into ${into}: ${asBackupFailure(read.reason, 'RestoreFailed').message}`);
    }
    // What went into the container is judged by its checksum: a channel may close without an exit status.
    const sent = streamed.digest('hex');
    if (sent !== onHost || (read.value.exitCode !== 0 && read.value.exitCode !== null)) {
      const why = tail(read.value.stderr) || `exit status ${read.value.exitCode ?? read.value.signal ?? 'unknown'}, ${size} bytes with sha256 ${sent} read`;
      throw new BackupFailure('RestoreFailed', `reading ${file} on server ${dest.name} failed while restoring into ${into} (the volume may be partly restored): ${why}`);
    }
    return { backup: name, server: source.server, container: source.container, path: source.mountPath, sizeBytes: size };
  }

  private async verify(connection: HostConnection, file: string, sha256: string, signal: AbortSignal): Promise<NonNullable<TakenBackup['verification']>> {
    let result: ExecResult;
    try {
      result = await connection.commands.run(verifyBackupArgv(file), { signal, timeoutMs: VERIFY_TIMEOUT_MS, maxOutputBytes: 64 * 1024 });
    } catch (err) {
      return { result: 'Failed', message: `could not check ${file} on server ${connection.name}: ${asBackupFailure(err, 'VerificationFailed').message}` };
    }
    const onHost = parseSha256(result.stdout);
    if (!onHost) return { result: 'Failed', message: `sha256sum of ${file} on server ${connection.name} failed: ${tail(result.stderr) || 'no checksum printed'}` };
    if (onHost !== sha256) return { result: 'Failed', message: `${file} on server ${connection.name} has sha256 ${onHost}, but ${sha256} was written` };
    if (result.exitCode !== 0) return { result: 'Failed', message: `${file} on server ${connection.name} is not a readable tar archive: ${tail(result.stderr)}` };
    return { result: 'Succeeded', message: `sha256 ${sha256} read back on server ${connection.name}; the archive lists cleanly` };
  }

  private async removePartial(connection: HostConnection, file: string): Promise<void> {
    await connection.commands.run(removePartialArgv(file), { timeoutMs: COMMAND_TIMEOUT_MS }).catch(() => undefined);
  }

  /** The Service's last completed deployment: what runs, on which server. */
  private async frozenInput(policy: BackupPolicy): Promise<FrozenInput> {
    const { namespace } = policy.metadata;
    const serviceName = policy.spec.service;
    const service = await this.deps.store.get('Service', namespace, serviceName);
    if (!service) throw new BackupFailure('ServiceNotFound', `service "${serviceName}" not found in project ${namespace}`);
    const completed = await this.deps.deployments.lastCompleted(service.metadata.uid!);
    if (!completed) throw new BackupFailure('ServiceNotDeployed', `service "${serviceName}" has no completed deployment yet: there is nothing to back up`);
    return completed.frozen as FrozenInput;
  }

  private async serviceServer(policy: BackupPolicy): Promise<string> {
    if (policy.spec.destination.server) return policy.spec.destination.server;
    return (await this.frozenInput(policy)).target.server;
  }

  /**
   * Where the policy's volume is mounted, from the Service's last completed deployment; no host is
   * asked. Throws the BackupFailure that says why a backup cannot be taken.
   */
  async locate(policy: BackupPolicy): Promise<{ server: string; mounts: Array<{ container: string; path: string }> }> {
    if (policy.spec.target.database) {
      throw new BackupFailure('NotSupported', 'database targets (spec.target.database) are not supported yet: back up the volume the database keeps its files in with spec.target.volume');
    }
    const volumeKey = policy.spec.target.volume!;
    const frozen = await this.frozenInput(policy);
    const serviceName = policy.spec.service;
    const volume = frozen.volumes.find((v) => v.key === volumeKey);
    if (!volume) {
      const have = frozen.volumes.map((v) => v.key);
      throw new BackupFailure('VolumeNotFound', `service "${serviceName}" has no volume "${volumeKey}" in its deployed spec (${have.length ? `its volumes: ${have.join(', ')}` : 'it has no volumes'})`);
    }
    const mounts = frozen.containers.flatMap((c) => c.mounts.filter((m) => m.type === 'volume' && m.source === volume.name && !m.subpath).map((m) => ({ container: c.name, path: m.target })));
    if (mounts.length === 0) throw new BackupFailure('VolumeNotMounted', `no container of service "${serviceName}" mounts volume "${volumeKey}" whole: there is nothing to read it through`);
    return { server: frozen.target.server, mounts };
  }

  private async source(policy: BackupPolicy, signal: AbortSignal): Promise<VolumeSource> {
    const { server, mounts } = await this.locate(policy);
    const volumeKey = policy.spec.target.volume!;
    const serviceName = policy.spec.service;
    const frozen = { target: { server } };
    const connection = await this.connect(frozen.target.server);
    for (const mount of mounts) {
      const inspect = await connection.docker.inspectContainer(mount.container, { signal }).catch((err) => {
        if (isDockerNotFound(err)) return undefined;
        throw asBackupFailure(err, 'BackupFailed');
      });
      if (inspect?.State?.Running) return { server: frozen.target.server, connection, container: mount.container, mountPath: mount.path };
    }
    throw new BackupFailure('ContainerNotRunning', `no container that mounts volume "${volumeKey}" of service "${serviceName}" is running on server ${frozen.target.server} (${mounts.map((m) => m.container).join(', ')})`);
  }

  private async destination(policy: BackupPolicy, serviceServer: string): Promise<{ name: string; connection: HostConnection }> {
    const name = policy.spec.destination.server ?? serviceServer;
    return { name, connection: await this.connect(name) };
  }

  private async connect(serverName: string): Promise<HostConnection> {
    try {
      const server: Resource = await this.deps.connector.server(serverName);
      return await this.deps.connector.connectionFor(server);
    } catch (err) {
      throw new BackupFailure('ServerUnavailable', `server "${serverName}" cannot be used: ${(err as Error).message}`);
    }
  }
}

/** The last lines of a command's complaint, short enough for a condition message. */
function tail(stderr: string): string {
  return stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 500);
}
