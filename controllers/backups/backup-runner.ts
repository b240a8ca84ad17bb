// Takes, verifies, prunes and restores the backups of one BackupPolicy. A volume is read from the
// running container that mounts it (the Service's last completed deployment names the containers
// and their mounts) as a tar through the Engine API; a database is dumped by its own tool run in
// the Service's container through Docker exec. Either is streamed over SSH into one shell command
// on the destination server; restore streams the file back into the same mount, or into the
// database's restore tool. Nothing is buffered whole in memory. The stream is copied to every
// destination of the policy at once (backup-stores.ts); a destination that fails is reported for
// itself while the others are kept.
import { createHash, randomBytes, type Hash } from 'node:crypto';
import { PassThrough, Transform, type Readable } from 'node:stream';
import { databaseCommands, TARGET_NOT_THIS_ENGINE, type DatabaseCommands } from '../../core/backup/database-commands.js';
import { renameDumpDatabase } from '../../core/backup/mysql-dump-rename.js';
import { heldFor } from '../../core/backup/consistency.js';
import { policyDestinations, type BackupDestination } from '../../core/backup/destinations.js';
import { backupFormat, backupName, backupStamp, backupTime, isEncryptedBackup, type BackupFormat } from '../../core/backup/naming.js';
import type { Restored } from '../../core/backup/restored.js';
import { selectRetained } from '../../core/backup/retention.js';
import type { ContainerSpec, FrozenInput } from '../../core/deploy/container-spec.js';
import { HoldfastError } from '../../core/errors.js';
import type { ObjectMeta } from '../../core/resource.js';
import type { BackupPolicySpec, BackupPolicyStatus } from '../../core/schema/types.generated.js';
import { isDockerNotFound, type HostConnection } from '../../hosts/index.js';
import type { DeploymentStore } from '../../store/deployments.js';
import type { ResourceStore } from '../../store/resource-store.js';
import type { ServerConnector } from '../servers/server-connector.js';
import { ageIdentity, ageRecipient, decryptStream, encryptStream } from './archive-crypto.js';
import { asBackupFailure, BackupFailure } from './backup-errors.js';
import { COMMAND_TIMEOUT_MS, DirectoryStore, S3Store, STREAM_TIMEOUT_MS, tail, type BackupStore } from './backup-stores.js';
import { RunRecord } from './run-record.js';
import { fanOut } from './stream-fan-out.js';

/** A stored policy: defaults applied, so its spec is there. */
export interface BackupPolicy {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta & { namespace: string };
  spec: BackupPolicySpec;
  status?: BackupPolicyStatus;
}

export type BackupEntry = NonNullable<BackupPolicyStatus['backups']>[number];
/** The outcome of one destination's copy of a backup. */
export type BackupCopy = NonNullable<NonNullable<BackupPolicyStatus['lastBackup']>['copies']>[number];

export interface BackupRunnerDeps {
  store: ResourceStore;
  deployments: DeploymentStore;
  connector: ServerConnector;
  clock: () => Date;
  /** A Secret's value (age keys, database passwords, S3 credentials), opened only here. */
  secretValue?: (namespace: string, name: string, key: string) => Promise<string>;
}

/** Labels of the scratch volume and container a restore test makes (never a Service's labels). */
const RESTORE_TEST_LABEL = 'holdfast.dev/restore-test';
const SCRATCH_MOUNT = '/restore';
const DEFAULT_CONSISTENCY_TIMEOUT_S = 600;
/** How long a scratch database server may take to accept connections (it initialises its files first). */
const SCRATCH_READY_TIMEOUT_MS = 120_000;

/** Where a database restore or check runs: a running container on a server. */
interface ContainerAt {
  server: string;
  connection: HostConnection;
  container: string;
}

/** What a backup file is streamed into on its way back: a container's mount, or a tool's stdin. */
interface StreamTarget {
  /** For messages: `/data in container web-1 on server edge-1`. */
  describe: string;
  write: (content: Readable) => Promise<void>;
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
  /** Where the first good copy is (restore tests read it). */
  location: string;
  /** Each destination's copy, in the policy's order. */
  copies: BackupCopy[];
  verification?: Verification;
  /** How long the container was paused or stopped for the read (spec.consistency). */
  pausedSeconds?: number;
}

export interface Verification {
  result: 'Succeeded' | 'Failed';
  message: string;
  restoreTested?: boolean;
}

export interface Pruned {
  kept: BackupEntry[];
  removed: string[];
  /** Destinations whose old backups could not be listed or deleted, and why. */
  failures: Array<{ destination: string; message: string }>;
}

/** Where a restore reads from and, for a database backup, what it restores into instead of the policy's own database. */
export interface RestoreOptions {
  /** The destination to read from (spec.destinations); else the first that holds the backup. */
  from?: string;
  /** Another Service of the project, serving the same kind of database. */
  service?: string;
  /** Another database name (of a dump of one database). */
  database?: string;
}

/** Refuses a restore request that cannot be done, naming the request's field. */
const invalid = (field: string, message: string) => new HoldfastError('Invalid', message, { causes: [{ field, message, reason: 'FieldValueInvalid' }] });

const policyLabel = (p: BackupPolicy) => `backuppolicy ${p.metadata.namespace}/${p.metadata.name}`;

/** A destination, opened (connected, credentials read) or not. */
type Opened = { destination: BackupDestination; store: BackupStore; failure?: undefined } | { destination: BackupDestination; store?: undefined; failure: BackupFailure };

export class BackupRunner {
  constructor(private readonly deps: BackupRunnerDeps) {}

  /** Reads the volume into a new backup on every destination and checks each copy when asked to. */
  async take(policy: BackupPolicy, signal: AbortSignal, record = new RunRecord(this.deps.clock)): Promise<TakenBackup> {
    if (policy.spec.target.database) return this.takeDump(policy, signal, record);
    const { source, opened, recipient, startTime, name } = await record.step(
      'prepare',
      async () => {
        const source = await this.source(policy, signal);
        const opened = await this.openAll(policy, source.server);
        const recipient = await this.recipient(policy);
        return { source, opened, recipient, ...(await this.newBackupName(policy, recipient !== undefined, 'tar')) };
      },
      (p) => ({ message: `volume "${policy.spec.target.volume}" at ${p.source.mountPath} in container ${p.source.container} on server ${p.source.server}` }),
    );
    const encrypted = recipient !== undefined;
    const fileHash = createHash('sha256');
    const plainHash = createHash('sha256');
    let size = 0;
    let plainSize = 0;
    const what = `reading volume "${policy.spec.target.volume}" (${source.mountPath} in container ${source.container} on server ${source.server})`;
    let written: Opened[] = opened;
    if (!opened.some((o) => o.store)) {
      this.recordUnopened(record, opened);
      return this.finish(policy, { name, startTime, size, fileHash, plainHash, encrypted, written }, undefined, signal, record);
    }
    const archive = record.begin('archive');
    const encrypt = encrypted ? record.begin('encrypt') : undefined;
    const still = await this.holdStill(policy, source, signal).catch((err: BackupFailure) => {
      archive.fail(err.message);
      encrypt?.fail(err.message);
      throw err;
    });
    let pausedSeconds: number | undefined;
    try {
      written = await source.connection.docker.getArchive(
        source.container,
        `${source.mountPath.replace(/\/+$/, '')}/.`,
        async (tar: Readable) => {
          const plain = metered(tar, plainHash, (n) => (plainSize += n));
          const sent = metered(recipient ? await encryptStream(plain, recipient) : plain, fileHash, (n) => (size += n));
          const copies = await this.writeAll(opened, name, sent, still.signal, record);
          // Every write ended early (they failed): stop reading the archive.
          if (!tar.readableEnded) tar.destroy();
          return copies;
        },
        { signal: still.signal, timeoutMs: STREAM_TIMEOUT_MS },
      );
    } catch (err) {
      pausedSeconds = await still.release();
      const failure = still.expired()
        ? new BackupFailure('ConsistencyFailed', `reading volume "${policy.spec.target.volume}" took longer than spec.consistency.timeoutSeconds (${still.timeoutSeconds} s): container ${source.container} was resumed and the partial backup removed`)
        : new BackupFailure(asBackupFailure(err, 'BackupFailed').condition, `${what} failed: ${asBackupFailure(err, 'BackupFailed').message}`);
      archive.fail(failure.message);
      encrypt?.fail(failure.message);
      throw failure;
    }
    pausedSeconds ??= await still.release();
    const held = pausedSeconds !== undefined ? `; ${heldFor(policy.spec.consistency!.mode, pausedSeconds)}` : '';
    const plainSha256 = plainHash.copy().digest('hex');
    archive.done({ sizeBytes: plainSize, sha256: plainSha256, message: `tar of ${source.mountPath} in container ${source.container}${held}` });
    encrypt?.done({ sizeBytes: size, sha256: fileHash.copy().digest('hex'), message: 'age, to the recipient of spec.encryption.recipientSecretRef' });
    return this.finish(policy, { name, startTime, size, fileHash, plainHash, encrypted, written, pausedSeconds }, undefined, signal, record);
  }

  /** Upload steps, failed, for the destinations that could not even be opened. */
  private recordUnopened(record: RunRecord, opened: readonly Opened[]): void {
    for (const o of opened) if (!o.store) record.begin('upload', o.destination.name).fail(o.failure.message);
  }

  /**
   * Dumps the database with its own tool inside the Service's container and streams the dump to
   * every destination; a dump that fails leaves no file on any.
   */
  private async takeDump(policy: BackupPolicy, signal: AbortSignal, record: RunRecord): Promise<TakenBackup> {
    const database = policy.spec.target.database!;
    const commands = databaseCommands(database);
    const { source, opened, recipient, env, startTime, name } = await record.step(
      'prepare',
      async () => {
        const source = await this.databaseSource(policy, signal);
        const opened = await this.openAll(policy, source.server);
        const recipient = await this.recipient(policy);
        const env = await this.databaseEnv(policy);
        return { source, opened, recipient, env, ...(await this.newBackupName(policy, recipient !== undefined, commands.format)) };
      },
      (p) => ({ message: `${database.name ? `database ${database.name}` : 'every database'} in container ${p.source.container} on server ${p.source.server}` }),
    );
    const encrypted = recipient !== undefined;
    const fileHash = createHash('sha256');
    const plainHash = createHash('sha256');
    let size = 0;
    let plainSize = 0;
    if (!opened.some((o) => o.store)) {
      this.recordUnopened(record, opened);
      return this.finish(policy, { name, startTime, size, fileHash, plainHash, encrypted, written: opened }, source, signal, record);
    }
    const dumpStep = record.begin('dump');
    const encrypt = encrypted ? record.begin('encrypt') : undefined;
    const dump = new PassThrough();
    const plain = metered(dump, plainHash, (n) => (plainSize += n));
    const sent = metered(recipient ? await encryptStream(plain, recipient) : plain, fileHash, (n) => (size += n));
    // The dump failing stops every write (none may keep a cut dump); every write failing stops the dump.
    const stop = new AbortController();
    let stoppedBy: 'dump' | 'writes' | undefined;
    const both = AbortSignal.any([signal, stop.signal]);
    const tool = commands.dumpTool;
    const dumping = source.connection.docker.runInContainer(source.container, { cmd: commands.dump, env, stdout: dump }, { signal: both, timeoutMs: STREAM_TIMEOUT_MS }).then(
      (result) => {
        if (result.exitCode === 0) dump.end();
        else {
          stoppedBy ??= 'dump';
          stop.abort();
        }
        return result;
      },
      (err) => {
        stoppedBy ??= 'dump';
        stop.abort();
        throw err;
      },
    );
    const writing = this.writeAll(opened, name, sent, both, record).then((copies) => {
      if (!copies.some((c) => c.store)) {
        stoppedBy ??= 'writes';
        stop.abort();
      }
      return copies;
    });
    const [dumped, written] = await Promise.all([dumping.then((r) => ({ ok: r }), (err: unknown) => ({ err })), writing]);
    const at = `container ${source.container} on server ${source.server}`;
    const fail = (failure: BackupFailure): never => {
      dumpStep.fail(failure.message);
      encrypt?.fail(failure.message);
      throw failure;
    };
    if ('ok' in dumped && dumped.ok.exitCode !== 0) {
      fail(new BackupFailure('BackupFailed', `${tool} in ${at} exited with status ${dumped.ok.exitCode ?? 'unknown'}: ${tail(dumped.ok.stderr) || 'it printed nothing'}`));
    }
    if ('err' in dumped && stoppedBy !== 'writes') {
      const failure = asBackupFailure(dumped.err, 'BackupFailed');
      fail(new BackupFailure(failure.condition, `${tool} in ${at} failed: ${failure.message}`));
    }
    if ('err' in dumped) {
      // Every write failed, which stopped the dump: finish reports the writes.
      dumpStep.fail(`${tool} in ${at} was stopped: no destination took the dump`);
      encrypt?.fail('stopped: no destination took the dump');
    } else {
      dumpStep.done({ sizeBytes: plainSize, sha256: plainHash.copy().digest('hex'), message: `${tool} in ${at}` });
      encrypt?.done({ sizeBytes: size, sha256: fileHash.copy().digest('hex'), message: 'age, to the recipient of spec.encryption.recipientSecretRef' });
    }
    return this.finish(policy, { name, startTime, size, fileHash, plainHash, encrypted, written }, source, signal, record);
  }

  /** Streams `content` into every opened destination at once; a destination that fails is dropped, the others go on. */
  private async writeAll(opened: readonly Opened[], name: string, content: Readable, signal: AbortSignal, record: RunRecord): Promise<Opened[]> {
    this.recordUnopened(record, opened);
    const open = opened.filter((o) => o.store);
    const branches = fanOut(content, open.length);
    const results = await Promise.allSettled(
      open.map(async (o, i) => {
        const step = record.begin('upload', o.destination.name);
        try {
          await o.store!.write(name, branches[i], signal);
          // Its size and checksum are the whole file's, known once every write has ended (finish).
          step.done({ message: o.store!.location(name) });
        } catch (err) {
          branches[i].destroy();
          step.fail(asBackupFailure(err, 'BackupFailed').message);
          throw err;
        }
      }),
    );
    return opened.map((o) => {
      const at = open.indexOf(o);
      if (at < 0) return o;
      const result = results[at];
      return result.status === 'fulfilled' ? o : { destination: o.destination, failure: asBackupFailure(result.reason, 'BackupFailed') };
    });
  }

  /**
   * The backup's entry once every destination's write has ended: each written copy verified, each
   * failed one reported. A backup no destination took fails (with the failure itself when there is
   * one destination).
   */
  private async finish(
    policy: BackupPolicy,
    w: { name: string; startTime: Date; size: number; fileHash: Hash; plainHash: Hash; encrypted: boolean; written: Opened[]; pausedSeconds?: number },
    dumpSource: ContainerAt | undefined,
    signal: AbortSignal,
    record: RunRecord,
  ): Promise<TakenBackup> {
    const good = w.written.filter((o) => o.store);
    const fileSha256 = w.fileHash.copy().digest('hex');
    for (const step of record.steps) if (step.name === 'upload' && step.result === 'Succeeded') Object.assign(step, { sizeBytes: w.size, sha256: fileSha256 });
    if (!good.length) {
      const failures = w.written.map((o) => o.failure!);
      if (failures.length === 1) throw failures[0];
      throw new BackupFailure(failures[0].condition, `no destination took the backup: ${w.written.map((o) => `${o.destination.name}: ${o.failure!.message}`).join('; ')}`);
    }
    const sha256 = w.fileHash.digest('hex');
    const entry: BackupEntry = { name: w.name, time: w.startTime.toISOString(), sizeBytes: w.size, sha256, ...(w.encrypted ? { encrypted: true, plaintextSha256: w.plainHash.digest('hex') } : {}) };
    const copies: BackupCopy[] = [];
    const checks: Array<{ destination: string; verification: Verification }> = [];
    for (const o of w.written) {
      if (!o.store) {
        copies.push({ destination: o.destination.name, result: 'Failed', reason: o.failure.condition, message: o.failure.message });
        continue;
      }
      const location = o.store.location(w.name);
      if (policy.spec.verification?.enabled === false) {
        copies.push({ destination: o.destination.name, location, result: 'Succeeded' });
        continue;
      }
      const verifying = record.begin('verify', o.destination.name);
      const verification = await this.verifyCopy(policy, o.store, entry, dumpSource, signal);
      if (verification.result === 'Succeeded') verifying.done({ message: verification.message });
      else verifying.fail(verification.message);
      checks.push({ destination: o.destination.name, verification });
      const ok = verification.result === 'Succeeded';
      copies.push({ destination: o.destination.name, location, result: ok ? 'Succeeded' : 'Failed', verified: ok, ...(ok ? {} : { reason: 'VerificationFailed', message: verification.message }) });
    }
    let verification: Verification | undefined;
    if (checks.length) {
      const failed = checks.filter((c) => c.verification.result === 'Failed');
      const several = checks.length > 1;
      const say = (c: (typeof checks)[number]) => (several ? `${c.destination}: ${c.verification.message}` : c.verification.message);
      verification = failed.length ? { result: 'Failed', message: failed.map(say).join('; ') } : { result: 'Succeeded', message: checks.map(say).join('; ') };
      entry.verified = !failed.length;
    }
    if (policy.spec.destinations?.length) entry.destinations = good.map((o) => o.destination.name);
    return {
      entry,
      startTime: w.startTime,
      completionTime: this.deps.clock(),
      location: good[0].store!.location(w.name),
      copies,
      verification,
      ...(w.pausedSeconds !== undefined ? { pausedSeconds: w.pausedSeconds } : {}),
    };
  }

  /**
   * A copy read back where it is kept: its SHA-256 there; a tar listed there (or, encrypted, read
   * back through the control plane and its plaintext compared, when the identity is at hand); a
   * custom-format dump read back into `pg_restore --list` in the database's container.
   */
  private async verifyCopy(policy: BackupPolicy, store: BackupStore, entry: BackupEntry, dumpSource: ContainerAt | undefined, signal: AbortSignal): Promise<Verification> {
    const format = backupFormat(entry.name);
    const location = store.location(entry.name);
    if (format === 'tar' && !entry.encrypted && store.checkTar) {
      const checked = await store.checkTar(entry.name, entry.sha256!, signal);
      return { result: checked.ok ? 'Succeeded' : 'Failed', message: checked.message };
    }
    let onHost: string;
    try {
      onHost = await store.checksum(entry.name, signal);
    } catch (err) {
      return { result: 'Failed', message: `${location} could not be read back: ${asBackupFailure(err, 'VerificationFailed').message}` };
    }
    if (onHost !== entry.sha256) return { result: 'Failed', message: `${location} has sha256 ${onHost}, but ${entry.sha256} was written` };
    const readBack = `sha256 ${onHost} read back from ${location}`;
    const identityRef = policy.spec.encryption?.identitySecretRef;
    const check = dumpSource && format && format !== 'tar' ? databaseCommands(policy.spec.target.database!).checkDump(format) : undefined;
    if (check) {
      if (entry.encrypted && !identityRef) return { result: 'Succeeded', message: `${readBack} (the dump is not read back: spec.encryption has no identitySecretRef)` };
      try {
        await this.streamInto(policy, store, entry.name, entry.sha256!, this.intoTool(dumpSource!, check.argv, [], check.tool, signal), signal);
      } catch (err) {
        return { result: 'Failed', message: `${location} is not a whole dump: ${asBackupFailure(err, 'VerificationFailed').message}` };
      }
      return { result: 'Succeeded', message: `${readBack}; ${check.says}` };
    }
    if (!entry.encrypted) return { result: 'Succeeded', message: readBack };
    if (!identityRef) return { result: 'Succeeded', message: `${readBack} (the plaintext is not checked: spec.encryption has no identitySecretRef)` };
    return this.verifyPlaintext(policy, store, entry, readBack, signal);
  }

  /** Reads an encrypted copy back through the control plane, decrypts it, and compares its plaintext with what was archived. */
  private async verifyPlaintext(policy: BackupPolicy, store: BackupStore, entry: BackupEntry, readBack: string, signal: AbortSignal): Promise<Verification> {
    const location = store.location(entry.name);
    const identity = await this.identity(policy, entry.name);
    const cipher = new PassThrough();
    const plainHash = createHash('sha256');
    const hashed = new Promise<void>((ok, fail) => {
      decryptStream(cipher, identity).then((plain) => {
        plain.on('data', (chunk: Buffer) => plainHash.update(chunk));
        plain.once('end', ok);
        plain.once('error', fail);
      }, fail);
    });
    const [read, decrypted] = await Promise.allSettled([store.read(entry.name, cipher, signal), hashed]);
    if (read.status === 'rejected') return { result: 'Failed', message: `${location} could not be read back: ${(read.reason as Error).message}` };
    if (decrypted.status === 'rejected') return { result: 'Failed', message: `${location} does not decrypt: ${(decrypted.reason as Error).message}` };
    const plain = plainHash.digest('hex');
    if (plain !== entry.plaintextSha256) return { result: 'Failed', message: `${location} decrypts to sha256 ${plain}, but ${entry.plaintextSha256} was archived` };
    return { result: 'Succeeded', message: `${readBack}; it decrypts to the archive written (sha256 ${plain})` };
  }

  /** Streams into a tool's stdin in a container; a non-zero exit fails the stream. */
  private intoTool(at: ContainerAt, cmd: string[], env: string[], tool: string, signal: AbortSignal): StreamTarget {
    const describe = `${tool} in container ${at.container} on server ${at.server}`;
    return {
      describe,
      write: async (content) => {
        const result = await at.connection.docker.runInContainer(at.container, { cmd, env, stdin: content }, { signal, timeoutMs: STREAM_TIMEOUT_MS });
        if (result.exitCode !== 0) throw new BackupFailure('RestoreFailed', `${tool} exited with status ${result.exitCode ?? 'unknown'}: ${tail(result.stderr) || 'it printed nothing'}`);
      },
    };
  }

  /** A name for a new backup; names have a one-second resolution, so a second backup within the same second waits for the next. */
  private async newBackupName(policy: BackupPolicy, encrypted: boolean, format: BackupFormat): Promise<{ startTime: Date; name: string }> {
    const known = new Set(((policy.status ?? {}) as BackupPolicyStatus).backups?.map((b) => backupTime(policy.metadata.name, b.name)?.getTime()) ?? []);
    let startTime = this.deps.clock();
    while (known.has(backupTime(policy.metadata.name, backupName(policy.metadata.name, startTime))!.getTime())) {
      await new Promise((ok) => setTimeout(ok, 1000 - (startTime.getTime() % 1000) + 5));
      startTime = this.deps.clock();
    }
    return { startTime, name: backupName(policy.metadata.name, startTime, encrypted, format) };
  }

  /** The age recipient of spec.encryption, when backups are encrypted. */
  private async recipient(policy: BackupPolicy): Promise<string | undefined> {
    if (!policy.spec.encryption) return undefined;
    const value = await this.secret(policy, policy.spec.encryption.recipientSecretRef, 'spec.encryption.recipientSecretRef', 'EncryptionKeyNotFound');
    return ageRecipient(value, 'spec.encryption.recipientSecretRef');
  }

  /** The environment the database tools run with: the password of target.database.passwordSecretRef, when set. */
  private async databaseEnv(policy: BackupPolicy): Promise<string[]> {
    const database = policy.spec.target.database!;
    const ref = database.passwordSecretRef;
    if (!ref) return [];
    return [databaseCommands(database).passwordEnv(await this.secret(policy, ref, 'spec.target.database.passwordSecretRef', 'CredentialsNotFound'))];
  }

  /**
   * Keeps the container still for the read as spec.consistency asks: paused, stopped or held by its
   * command, and resumed (or postCommand run) by `release` — or at the deadline, which also aborts
   * the read.
   */
  private async holdStill(policy: BackupPolicy, source: VolumeSource, signal: AbortSignal) {
    const consistency = policy.spec.consistency;
    const mode = consistency?.mode ?? 'none';
    const timeoutSeconds = consistency?.timeoutSeconds ?? DEFAULT_CONSISTENCY_TIMEOUT_S;
    if (mode === 'none') return { signal, timeoutSeconds, expired: () => false, release: async (): Promise<number | undefined> => undefined };
    const docker = source.connection.docker;
    const at = `container ${source.container} on server ${source.server}`;
    const runCommand = async (field: 'command' | 'postCommand', cmd: string[], timeoutMs: number) => {
      const result = await this.captureInContainer(source, cmd, [], signal, timeoutMs).catch((err) => {
        throw new BackupFailure('ConsistencyFailed', `spec.consistency.${field} in ${at} failed: ${asBackupFailure(err, 'BackupFailed').message}`);
      });
      if (result.exitCode !== 0) throw new BackupFailure('ConsistencyFailed', `spec.consistency.${field} in ${at} exited with status ${result.exitCode ?? 'unknown'}: ${tail(result.stderr) || 'it printed nothing'}`);
    };
    const resume = (): Promise<unknown> => {
      if (mode === 'pause') return docker.unpauseContainer(source.container);
      if (mode === 'stop') return docker.startContainer(source.container);
      return consistency?.postCommand ? runCommand('postCommand', consistency.postCommand, timeoutSeconds * 1000) : Promise.resolve();
    };
    const resumeFailed = (err: unknown) =>
      err instanceof BackupFailure ? err : new BackupFailure('ConsistencyFailed', `${at} could not be ${mode === 'pause' ? 'unpaused' : 'started again'} after the backup: ${(err as Error).message}`);
    try {
      if (mode === 'pause') await docker.pauseContainer(source.container, { signal });
      else if (mode === 'stop') await docker.stopContainer(source.container, {}, { signal });
      else await runCommand('command', consistency!.command!, timeoutSeconds * 1000);
    } catch (err) {
      // A command that failed half-way may have locked something: postCommand runs whatever happened.
      if (mode === 'command') {
        await resume().catch(() => undefined);
        throw err;
      }
      throw new BackupFailure('ConsistencyFailed', `${at} could not be ${mode === 'pause' ? 'paused' : 'stopped'} for the backup: ${asBackupFailure(err, 'BackupFailed').message}`);
    }
    const since = Date.now();
    const deadline = AbortSignal.timeout(timeoutSeconds * 1000);
    let released: Promise<number> | undefined;
    const release = () =>
      (released ??= (async () => {
        // Resumed whatever happened to the read (and whatever signal ended it).
        await resume().catch((err) => {
          throw resumeFailed(err);
        });
        return Math.round((Date.now() - since) / 100) / 10;
      })());
    deadline.addEventListener('abort', () => void release().catch(() => undefined), { once: true });
    return { signal: AbortSignal.any([signal, deadline]), timeoutSeconds, expired: () => deadline.aborted, release };
  }

  /**
   * Deletes, on each destination, the policy's backups its retention does not keep, each
   * destination a prune step of its own in `record`. Returns the backups kept anywhere, newest
   * first; a destination that cannot be listed keeps what was recorded.
   */
  async prune(policy: BackupPolicy, recorded: readonly BackupEntry[], signal: AbortSignal, record: RunRecord): Promise<Pruned> {
    const byName = new Map(recorded.map((b) => [b.name, b]));
    const several = Boolean(policy.spec.destinations?.length);
    const holders = new Map<string, string[]>();
    const removed: string[] = [];
    const failures: Pruned['failures'] = [];
    for (const o of await this.openAll(policy, await this.serviceServer(policy))) {
      const name = o.destination.name;
      const keep = (backup: string) => holders.set(backup, [...(holders.get(backup) ?? []), name]);
      const step = record.begin('prune', name);
      try {
        if (!o.store) throw o.failure;
        const present = (await o.store.list(signal)).flatMap((n) => {
          const time = backupTime(policy.metadata.name, n);
          return time ? [{ name: n, time }] : [];
        });
        const verdict = selectRetained(present, o.destination.retention);
        await o.store.remove(
          verdict.remove.map((b) => b.name),
          signal,
        );
        verdict.keep.forEach((b) => keep(b.name));
        removed.push(...verdict.remove.map((b) => (several ? `${b.name} (${name})` : b.name)));
        step.done({ message: verdict.remove.length ? `deleted ${verdict.remove.map((b) => b.name).join(', ')}` : 'nothing to delete' });
      } catch (err) {
        const message = asBackupFailure(err, 'BackupFailed').message;
        step.fail(message);
        failures.push({ destination: name, message });
        for (const b of recorded) if (!several || !b.destinations || b.destinations.includes(name)) keep(b.name);
      }
    }
    const kept = [...holders.entries()]
      .map(([name, destinations]) => {
        const time = backupTime(policy.metadata.name, name)!;
        const entry: BackupEntry = { ...(byName.get(name) ?? { name }), time: byName.get(name)?.time ?? time.toISOString() };
        if (several) entry.destinations = [...new Set(destinations)];
        else delete entry.destinations;
        return entry;
      })
      .sort((a, b) => Date.parse(b.time!) - Date.parse(a.time!) || b.name.localeCompare(a.name));
    return { kept, removed, failures };
  }

  /**
   * Streams a backup file back into the volume (files in it are written over; files made since stay),
   * or into the database, read from `options.from` or the first destination that holds it. A
   * database dump may go into another database (made when it does not exist) or into the database
   * of another Service of the project.
   */
  async restore(policy: BackupPolicy, name: string, signal: AbortSignal, options: RestoreOptions = {}): Promise<Restored> {
    if (!backupTime(policy.metadata.name, name)) {
      throw new HoldfastError('BadRequest', `"${name}" is not a backup of ${policyLabel(policy)}: backups are named ${policy.metadata.name}-YYYYMMDDTHHMMSSZ.tar or .tar.age (see holdfast backup list)`);
    }
    const database = policy.spec.target.database;
    const format = backupFormat(name)!;
    if ((format === 'tar') !== !database) {
      throw new HoldfastError('BadRequest', `"${name}" is ${format === 'tar' ? 'a volume archive' : 'a database dump'}: it cannot be restored into the ${database ? 'database' : 'volume'} of ${policyLabel(policy)}`);
    }
    const destination = this.restoreSource(policy, name, options.from);
    if (database) return this.restoreDump(policy, name, format, destination, options, signal);
    for (const field of ['database', 'service'] as const) {
      if (options[field] !== undefined) throw invalid(field, `${policyLabel(policy)} backs up volume "${policy.spec.target.volume}": only a database backup can be restored into another ${field}`);
    }
    const source = await this.source(policy, signal);
    const store = await this.mustOpen(policy, destination, source.server);
    const onHost = await this.checkedChecksum(policy, store, name, signal);
    const size = await this.streamInto(policy, store, name, onHost, this.intoMount(source.connection, source.server, source.container, source.mountPath, signal), signal);
    return { backup: name, destination: destination.name, location: store.location(name), service: policy.spec.service, server: source.server, container: source.container, path: source.mountPath, sizeBytes: size };
  }

  /**
   * A dump into the policy's database, another database of the same server, or the database of
   * another Service. The target container is asked first whether it serves the same engine and
   * whether the database exists; a missing one is made only once the backup's checksum is known good.
   */
  private async restoreDump(policy: BackupPolicy, name: string, format: BackupFormat, destination: BackupDestination, options: RestoreOptions, signal: AbortSignal): Promise<Restored> {
    const database = policy.spec.target.database!;
    const commands = databaseCommands(database);
    if (options.database !== undefined && (!database.name || format !== commands.format)) {
      const why = database.name ? '' : ` (${policyLabel(policy)} names no spec.target.database.name)`;
      throw invalid('database', `"${name}" is a dump of every database${why}: it can only be restored into every database, not into database "${options.database}"`);
    }
    const service = options.service ?? policy.spec.service;
    const other = service !== policy.spec.service;
    const at = other ? await this.otherDatabaseSource(policy, service, signal) : await this.databaseSource(policy, signal);
    // Another Service's database is entered with its own container's password (its env, Secrets included).
    const env = other ? [] : await this.databaseEnv(policy);
    const into = options.database ?? database.name;
    const state = await this.targetState(policy, service, at, commands, into, env, signal);
    // A destination directory that names no server is on the policy's own Service's server, wherever the restore goes.
    const store = await this.mustOpen(policy, destination, other ? await this.serviceServer(policy) : at.server);
    const onHost = await this.checkedChecksum(policy, store, name, signal);
    const created = state === 'absent';
    const create = created && into ? commands.createDatabase(into) : undefined;
    if (create) {
      const made = await this.captureInContainer(at, create, env, signal);
      if (made.exitCode !== 0) throw new BackupFailure('RestoreFailed', `creating database "${into}" in container ${at.container} on server ${at.server} failed (exit status ${made.exitCode ?? 'unknown'}): ${tail(made.stderr) || 'it printed nothing'}`);
    }
    const tool = this.intoTool(at, commands.restore(format, into), env, commands.restoreTool(format), signal);
    const renamed = database.type === 'mysql' && into !== undefined && into !== database.name ? renaming(tool, database.name!, into) : tool;
    const size = await this.streamInto(policy, store, name, onHost, renamed, signal);
    return {
      backup: name,
      destination: destination.name,
      location: store.location(name),
      service,
      server: at.server,
      container: at.container,
      path: into ? `database ${into}` : 'every database',
      ...(into ? { database: into, ...(created ? { createdDatabase: true } : {}) } : {}),
      sizeBytes: size,
    };
  }

  /**
   * Whether the container at `at` serves the policy's kind of database and lets its user in, and
   * whether `database` exists there (`exists`, `absent`; undefined when no database is named).
   */
  private async targetState(policy: BackupPolicy, service: string, at: ContainerAt, commands: DatabaseCommands, database: string | undefined, env: string[], signal: AbortSignal): Promise<'exists' | 'absent' | undefined> {
    const { exitCode, stdout, stderr } = await this.captureInContainer(at, commands.checkTarget(database), env, signal);
    if (exitCode === TARGET_NOT_THIS_ENGINE) {
      throw invalid('service', `service "${service}" does not serve a ${commands.engine} database, which backups of ${policyLabel(policy)} are: ${tail(stderr)} (container ${at.container} on server ${at.server})`);
    }
    if (exitCode !== 0) {
      throw new BackupFailure('RestoreFailed', `the database of service "${service}" in container ${at.container} on server ${at.server} cannot be used (exit status ${exitCode ?? 'unknown'}): ${tail(stderr) || 'it printed nothing'}`);
    }
    if (database === undefined) return undefined;
    const said = stdout.trim();
    if (said !== 'exists' && said !== 'absent') throw new BackupFailure('RestoreFailed', `could not tell whether database "${database}" exists in container ${at.container} on server ${at.server}`);
    return said;
  }

  /** The destination a restore reads from: the one asked for, else the first that holds the backup by the policy's status. */
  private restoreSource(policy: BackupPolicy, name: string, from: string | undefined): BackupDestination {
    const destinations = policyDestinations(policy.spec);
    if (from !== undefined) {
      const named = destinations.find((d) => d.name === from);
      if (!named) throw new HoldfastError('BadRequest', `${policyLabel(policy)} has no destination "${from}" (its destinations: ${destinations.map((d) => d.name).join(', ')})`);
      return named;
    }
    const holders = ((policy.status ?? {}) as BackupPolicyStatus).backups?.find((b) => b.name === name)?.destinations;
    return destinations.find((d) => !holders || holders.includes(d.name)) ?? destinations[0];
  }

  /** Streams a tar into `path` of a container. */
  private intoMount(connection: HostConnection, server: string, container: string, path: string, signal: AbortSignal): StreamTarget {
    return {
      describe: `${path} in container ${container} on server ${server}`,
      write: (archive) => connection.docker.putArchive(container, path, archive, { signal, timeoutMs: STREAM_TIMEOUT_MS }),
    };
  }

  /**
   * Restores the new backup into a scratch volume on the Service's server, checks the files
   * spec.verification.restoreChecks names, and removes the scratch container and volume whatever happened.
   */
  async restoreTest(policy: BackupPolicy, taken: TakenBackup, signal: AbortSignal): Promise<Verification> {
    if (policy.spec.target.database) return this.restoreTestDump(policy, taken, signal);
    const frozen = await this.frozenInput(policy);
    const { mounts } = await this.locate(policy);
    const image = frozen.containers.find((c) => c.name === mounts[0].container)?.image ?? frozen.containers[0]?.image;
    const server = frozen.target.server;
    const connection = await this.connect(server);
    const store = await this.takenStore(policy, taken, server);
    const scratch = `hf-restoretest-${policy.metadata.namespace}-${policy.metadata.name}-${backupStamp(taken.startTime).toLowerCase()}`;
    const labels = { 'holdfast.dev/managed-by': 'holdfast', [RESTORE_TEST_LABEL]: `${policy.metadata.namespace}.${policy.metadata.name}` };
    const where = `a scratch volume on server ${server}`;
    let created: string | undefined;
    let volumeMade = false;
    try {
      await connection.docker.createVolume({ Name: scratch, Labels: labels }, { signal });
      volumeMade = true;
      created = (await connection.docker.createContainer(scratch, { Image: image, Cmd: ['true'], Labels: labels, HostConfig: { Mounts: [{ Type: 'volume', Source: scratch, Target: SCRATCH_MOUNT }] } }, { signal })).Id;
      await this.streamInto(policy, store, taken.entry.name, taken.entry.sha256!, this.intoMount(connection, server, created, SCRATCH_MOUNT, signal), signal);
      const files = policy.spec.verification?.restoreChecks?.files ?? [];
      const missing: string[] = [];
      for (const f of files) if (!(await connection.docker.pathExists(created, `${SCRATCH_MOUNT}/${f}`, { signal }))) missing.push(f);
      if (missing.length) return { result: 'Failed', restoreTested: true, message: `restored into ${where}, but ${missing.map((f) => `"${f}"`).join(', ')} ${missing.length === 1 ? 'is' : 'are'} missing` };
      return { result: 'Succeeded', restoreTested: true, message: `restored into ${where}${files.length ? ` and found ${files.map((f) => `"${f}"`).join(', ')}` : ''}` };
    } catch (err) {
      return { result: 'Failed', restoreTested: true, message: `restoring into ${where} failed: ${asBackupFailure(err, 'RestoreFailed').message}` };
    } finally {
      if (created) await connection.docker.removeContainer(created, { force: true }).catch(() => undefined);
      if (volumeMade) await connection.docker.removeVolume(scratch, { force: true }).catch(() => undefined);
    }
  }

  /**
   * Restores the new dump into a scratch container of the Service's own image on its server (a new,
   * empty database server), counts the rows of the tables spec.verification.restoreChecks names, and
   * removes the scratch container whatever happened.
   */
  private async restoreTestDump(policy: BackupPolicy, taken: TakenBackup, signal: AbortSignal): Promise<Verification> {
    const database = policy.spec.target.database!;
    const { server, containers } = await this.databaseContainers(policy);
    const connection = await this.connect(server);
    const store = await this.takenStore(policy, taken, server);
    const format = backupFormat(taken.entry.name)!;
    const commands = databaseCommands(database);
    // The scratch server's own password, known only for its lifetime.
    const password = randomBytes(18).toString('base64url');
    const scratchServer = commands.scratch(password);
    const user = scratchServer.user;
    const env = [commands.passwordEnv(password)];
    const scratch = `hf-restoretest-${policy.metadata.namespace}-${policy.metadata.name}-${backupStamp(taken.startTime).toLowerCase()}`;
    const labels = { 'holdfast.dev/managed-by': 'holdfast', [RESTORE_TEST_LABEL]: `${policy.metadata.namespace}.${policy.metadata.name}` };
    const where = `a scratch database container on server ${server}`;
    let created: string | undefined;
    try {
      const config = { Image: containers[0].image, Env: scratchServer.env, Labels: labels };
      created = (await connection.docker.createContainer(scratch, config, { signal })).Id;
      await connection.docker.startContainer(created, { signal });
      const at: ContainerAt = { server, connection, container: created };
      await this.untilAccepting(at, commands.ready(user), env, signal);
      await this.streamInto(policy, store, taken.entry.name, taken.entry.sha256!, this.intoTool(at, commands.restoreIntoScratch(user, format), env, commands.restoreTool(format), signal), signal);
      const tables = policy.spec.verification?.restoreChecks?.tables ?? [];
      const short: string[] = [];
      const counted: string[] = [];
      for (const table of tables) {
        const { exitCode, stdout, stderr } = await this.captureInContainer(at, commands.countRows(user, table.name), env, signal);
        const rows = exitCode === 0 ? Number(stdout.trim()) : NaN;
        const minRows = table.minRows ?? 1;
        if (!Number.isInteger(rows)) short.push(`"${table.name}" cannot be counted (${tail(stderr) || `exit status ${exitCode}`})`);
        else if (rows < minRows) short.push(`"${table.name}" has ${rows} row(s), fewer than ${minRows}`);
        else counted.push(`"${table.name}" ${rows} row(s)`);
      }
      if (short.length) return { result: 'Failed', restoreTested: true, message: `restored into ${where}, but ${short.join('; ')}` };
      return { result: 'Succeeded', restoreTested: true, message: `restored into ${where}${counted.length ? `: ${counted.join(', ')}` : ''}` };
    } catch (err) {
      return { result: 'Failed', restoreTested: true, message: `restoring into ${where} failed: ${asBackupFailure(err, 'RestoreFailed').message}` };
    } finally {
      if (created) await connection.docker.removeContainer(created, { force: true, volumes: true }).catch(() => undefined);
    }
  }

  /** Waits until a (scratch) database server accepts connections; fails when it stops or the deadline passes. */
  private async untilAccepting(at: ContainerAt, ready: string[], env: string[], signal: AbortSignal): Promise<void> {
    const deadline = Date.now() + SCRATCH_READY_TIMEOUT_MS;
    for (;;) {
      const { exitCode, stderr } = await this.captureInContainer(at, ready, env, signal);
      if (exitCode === 0) return;
      const state = (await at.connection.docker.inspectContainer(at.container, { signal })).State;
      if (!state?.Running) throw new BackupFailure('RestoreFailed', `the scratch database container stopped (exit code ${state?.ExitCode ?? 'unknown'}) before it accepted connections`);
      if (Date.now() > deadline) throw new BackupFailure('RestoreFailed', `the scratch database did not accept connections within ${SCRATCH_READY_TIMEOUT_MS / 1000} s: ${tail(stderr)}`);
      await new Promise((ok) => setTimeout(ok, 500));
    }
  }

  /** Runs a short command in a container and keeps its output (at most 64 KiB). */
  private async captureInContainer(at: ContainerAt, cmd: string[], env: string[], signal: AbortSignal, timeoutMs = COMMAND_TIMEOUT_MS): Promise<{ exitCode: number | null; stdout: string; stderr: string }> {
    const out = new PassThrough();
    let stdout = '';
    out.on('data', (chunk: Buffer) => {
      if (stdout.length < 64 * 1024) stdout += chunk.toString('utf8');
    });
    const result = await at.connection.docker.runInContainer(at.container, { cmd, env, stdout: out }, { signal, timeoutMs });
    return { ...result, stdout };
  }

  /** The backup's SHA-256 where it is kept, refusing a file that changed since it was recorded. */
  private async checkedChecksum(policy: BackupPolicy, store: BackupStore, name: string, signal: AbortSignal): Promise<string> {
    let onHost: string;
    try {
      onHost = await store.checksum(name, signal);
    } catch (err) {
      throw new BackupFailure('BackupNotFound', `backup "${name}" not found: ${asBackupFailure(err, 'BackupNotFound').message}`);
    }
    const recorded = ((policy.status ?? {}) as BackupPolicyStatus).backups?.find((b) => b.name === name)?.sha256;
    if (recorded && recorded !== onHost) {
      throw new BackupFailure('ChecksumMismatch', `backup "${name}" changed since it was written (sha256 ${onHost} at ${store.location(name)}, ${recorded} recorded): not restoring it`);
    }
    return onHost;
  }

  /** Streams a backup file from the destination (decrypted when it is encrypted) into `path` of a container. Returns the bytes read. */
  private async streamInto(
    policy: BackupPolicy,
    store: BackupStore,
    name: string,
    expectedSha256: string,
    into: StreamTarget,
    signal: AbortSignal,
  ): Promise<number> {
    const identity = isEncryptedBackup(name) ? await this.identity(policy, name) : undefined;
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
    // The read starts first: decryption waits for the file's header before it hands over a stream.
    const reading = store.read(name, pipe, AbortSignal.any([signal, stopRead.signal]));
    const writing = (async () => {
      const archive = identity ? await decryptStream(pipe, identity) : pipe;
      archive.once('error', (err) => stopRead.abort(err));
      await into.write(archive);
      // The engine may answer once it has read the archive's end marker, before the padding after
      // it (a tool may stop reading early too): read what is left, so the command is not left
      // waiting on a full pipe.
      archive.resume();
      pipe.resume();
    })().catch((err) => {
      stopRead.abort(err);
      throw err;
    });
    const [put, read] = await Promise.allSettled([writing, reading]);
    const target = into.describe;
    if (put.status === 'rejected') {
      const failure = asBackupFailure(put.reason, 'RestoreFailed');
      throw new BackupFailure(failure.condition, `writing backup "${name}" into ${target} failed: ${failure.message}`);
    }
    if (read.status === 'rejected') {
      throw new BackupFailure('RestoreFailed', `reading ${store.location(name)} failed while restoring into ${target}: ${asBackupFailure(read.reason, 'RestoreFailed').message}`);
    }
    // What went into the container is judged by its checksum: a channel may close without an exit status.
    const sent = streamed.digest('hex');
    if (sent !== expectedSha256) {
      throw new BackupFailure('RestoreFailed', `reading ${store.location(name)} failed while restoring into ${target} (the volume may be partly restored): ${size} bytes with sha256 ${sent} read`);
    }
    return size;
  }

  private async secret(policy: BackupPolicy, ref: { name: string; key: string }, field: string, missing: 'EncryptionKeyNotFound' | 'CredentialsNotFound'): Promise<string> {
    if (!this.deps.secretValue) throw new BackupFailure(missing, 'this control plane cannot open Secrets for backups');
    try {
      return await this.deps.secretValue(policy.metadata.namespace, ref.name, ref.key);
    } catch (err) {
      throw new BackupFailure(missing, `${field}: ${(err as Error).message}`);
    }
  }

  private async identity(policy: BackupPolicy, name: string): Promise<string> {
    const ref = policy.spec.encryption?.identitySecretRef;
    if (!ref) throw new BackupFailure('EncryptionKeyNotFound', `backup "${name}" is encrypted: spec.encryption.identitySecretRef must name the age identity to read it`);
    return ageIdentity(await this.secret(policy, ref, 'spec.encryption.identitySecretRef', 'EncryptionKeyNotFound'), 'spec.encryption.identitySecretRef');
  }

  /** Removes what runs of the policy that were cut off (the control plane killed mid-write) left on its destinations. */
  async removeStalePartials(policy: BackupPolicy): Promise<void> {
    const failures: string[] = [];
    for (const o of await this.openAll(policy, await this.serviceServer(policy))) {
      try {
        if (!o.store) throw o.failure;
        await o.store.removeStalePartials(policy.metadata.name);
      } catch (err) {
        failures.push(`${o.destination.name}: ${(err as Error).message}`);
      }
    }
    if (failures.length) throw new BackupFailure('DestinationUnwritable', failures.join('; '));
  }

  /** The Service's last completed deployment: what runs, on which server. */
  private async frozenInput(policy: BackupPolicy): Promise<FrozenInput> {
    const { namespace } = policy.metadata;
    const serviceName = policy.spec.service;
    const service = await this.deps.store.get('Service', namespace, serviceName);
    if (!service) throw new BackupFailure('ServiceNotFound', `service "${serviceName}" not found in project ${namespace}`);
    const completed = await this.deps.deployments.lastCompleted(service.metadata.uid!);
    if (!completed) throw new BackupFailure('ServiceNotDeployed', `service "${serviceName}" has no completed deployment yet: there is nothing to back up`);
    return completed.frozen;
  }

  private async serviceServer(policy: BackupPolicy): Promise<string> {
    return (await this.frozenInput(policy)).target.server;
  }

  /**
   * Where the policy's volume is mounted, from the Service's last completed deployment; no host is
   * asked. Throws the BackupFailure that says why a backup cannot be taken.
   */
  async locate(policy: BackupPolicy): Promise<{ server: string; mounts: Array<{ container: string; path: string }> }> {
    // A database is read through its container, not a mount: only its server is of use to callers.
    if (policy.spec.target.database) return { server: (await this.databaseContainers(policy)).server, mounts: [] };
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

  /** The containers of the component that serves the policy's database, from the Service's last completed deployment. */
  private async databaseContainers(policy: BackupPolicy): Promise<{ server: string; containers: ContainerSpec[] }> {
    return this.componentContainers(policy.spec.service, await this.frozenInput(policy), policy.spec.target.database!.component);
  }

  /** The containers of `component` of a deployed Service (its only component when none is named). */
  private componentContainers(serviceName: string, frozen: FrozenInput, wanted: string | undefined): { server: string; containers: ContainerSpec[] } {
    const components = [...new Set(frozen.containers.map((c) => c.component))];
    const component = wanted ?? (components.length === 1 ? components[0] : undefined);
    if (!component) {
      throw new BackupFailure('ComponentRequired', `service "${serviceName}" runs ${components.join(', ')}: spec.target.database.component must name the one that serves the database`);
    }
    const containers = frozen.containers.filter((c) => c.component === component);
    if (!containers.length) throw new BackupFailure('ComponentNotFound', `service "${serviceName}" has no component "${component}" (its components: ${components.join(', ')})`);
    return { server: frozen.target.server, containers };
  }

  /** A running container of the database's component. */
  private async databaseSource(policy: BackupPolicy, signal: AbortSignal): Promise<ContainerAt> {
    return this.runningContainer(policy.spec.service, await this.databaseContainers(policy), signal);
  }

  /**
   * A running container of another Service of the policy's project that a dump is restored into:
   * the component the policy names when that Service has one of that name, else its only one.
   */
  private async otherDatabaseSource(policy: BackupPolicy, serviceName: string, signal: AbortSignal): Promise<ContainerAt> {
    const { namespace } = policy.metadata;
    const service = await this.deps.store.get('Service', namespace, serviceName);
    if (!service) throw invalid('service', `service "${serviceName}" not found in project ${namespace}: a restore can go into the database of a Service of the policy's own project`);
    const completed = await this.deps.deployments.lastCompleted(service.metadata.uid!);
    if (!completed) throw new BackupFailure('ServiceNotDeployed', `service "${serviceName}" has no completed deployment yet: there is no database to restore into`);
    const frozen = completed.frozen;
    const named = policy.spec.target.database!.component;
    const component = named && frozen.containers.some((c) => c.component === named) ? named : undefined;
    const components = [...new Set(frozen.containers.map((c) => c.component))];
    if (!component && components.length > 1) {
      throw invalid('service', `service "${serviceName}" runs ${components.join(', ')}${named ? `, none of them "${named}" (spec.target.database.component)` : ''}: the restore cannot tell which of them serves the database`);
    }
    return this.runningContainer(serviceName, this.componentContainers(serviceName, frozen, component), signal);
  }

  private async runningContainer(serviceName: string, { server, containers }: { server: string; containers: ContainerSpec[] }, signal: AbortSignal): Promise<ContainerAt> {
    const connection = await this.connect(server);
    for (const container of containers) {
      const inspect = await connection.docker.inspectContainer(container.name, { signal }).catch((err) => {
        if (isDockerNotFound(err)) return undefined;
        throw asBackupFailure(err, 'BackupFailed');
      });
      if (inspect?.State?.Running) return { server, connection, container: container.name };
    }
    throw new BackupFailure('ContainerNotRunning', `no container of the database of service "${serviceName}" is running on server ${server} (${containers.map((c) => c.name).join(', ')})`);
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

  /** Every destination of the policy, opened; one that cannot be (its server unreachable, no credentials) carries why. */
  private async openAll(policy: BackupPolicy, serviceServer: string): Promise<Opened[]> {
    return Promise.all(
      policyDestinations(policy.spec).map(async (destination): Promise<Opened> => {
        try {
          return { destination, store: await this.open(policy, destination, serviceServer) };
        } catch (err) {
          return { destination, failure: asBackupFailure(err, 'BackupFailed') };
        }
      }),
    );
  }

  private async open(policy: BackupPolicy, destination: BackupDestination, serviceServer: string): Promise<BackupStore> {
    if (destination.kind === 's3') {
      const ref = destination.s3.credentialsSecretRef;
      const field = `${destination.field}.s3.credentialsSecretRef`;
      const accessKeyId = await this.secret(policy, { name: ref.name, key: 'accessKeyId' }, field, 'CredentialsNotFound');
      const secretAccessKey = await this.secret(policy, { name: ref.name, key: 'secretAccessKey' }, field, 'CredentialsNotFound');
      return S3Store.open(destination, { accessKeyId, secretAccessKey });
    }
    const server = destination.server ?? serviceServer;
    return new DirectoryStore(destination, server, await this.connect(server));
  }

  /** A destination opened for a restore: failing to open it fails the restore. */
  private async mustOpen(policy: BackupPolicy, destination: BackupDestination, serviceServer: string): Promise<BackupStore> {
    try {
      return await this.open(policy, destination, serviceServer);
    } catch (err) {
      const failure = asBackupFailure(err, 'RestoreFailed');
      throw new BackupFailure(failure.condition, `destination "${destination.name}": ${failure.message}`);
    }
  }

  /** The destination of a new backup's first good copy. */
  private takenStore(policy: BackupPolicy, taken: TakenBackup, serviceServer: string): Promise<BackupStore> {
    const good = taken.copies.find((c) => c.result === 'Succeeded') ?? taken.copies[0];
    const destination = policyDestinations(policy.spec).find((d) => d.name === good.destination)!;
    return this.mustOpen(policy, destination, serviceServer);
  }

  private async connect(serverName: string): Promise<HostConnection> {
    try {
      const server = await this.deps.connector.server(serverName);
      return await this.deps.connector.connectionFor(server);
    } catch (err) {
      throw new BackupFailure('ServerUnavailable', `server "${serverName}" cannot be used: ${(err as Error).message}`);
    }
  }
}

/**
 * A mysqldump renamed on its way into `tool`. A dump the renaming stops (it holds another database)
 * ends the tool's input where it stopped, so the tool ends, and then fails the write with why.
 */
function renaming(tool: StreamTarget, from: string, to: string): StreamTarget {
  return {
    describe: tool.describe,
    write: async (dump) => {
      const rename = renameDumpDatabase(from, to);
      const input = new PassThrough();
      let stopped: Error | undefined;
      const stop = (err: Error) => {
        stopped ??= err;
        input.end();
      };
      dump.on('error', (err) => rename.destroy(err));
      rename.on('error', stop);
      dump.pipe(rename).pipe(input);
      await tool.write(input);
      if (stopped) throw stopped;
    },
  };
}

/** Passes a stream through, feeding a hash (and a byte count) as it goes. */
function metered(input: Readable, hash: Hash, count?: (bytes: number) => void): Readable {
  const meter = new Transform({
    transform(chunk: Buffer, _encoding, done) {
      hash.update(chunk);
      count?.(chunk.length);
      done(null, chunk);
    },
  });
  input.once('error', (err) => meter.destroy(err));
  return input.pipe(meter);
}
