// The places backup files are kept, behind one interface: a directory on a server (shell commands
// over the server's kept session) and an S3-compatible bucket (@aws-sdk/client-s3, a streamed
// multipart upload). A write either leaves a whole backup under its name or nothing under it.
import { createHash } from 'node:crypto';
import { PassThrough, type Readable, type Writable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import type { S3Client, S3ClientConfig } from '@aws-sdk/client-s3';
import {
  checksumArgv,
  classifyWriteFailure,
  commitBackupArgv,
  listBackupsArgv,
  parseSha256,
  readBackupArgv,
  removeBackupsArgv,
  removePartialArgv,
  removeStalePartialsArgv,
  verifyBackupArgv,
  writeBackupArgv,
} from '../../core/backup/commands.js';
import { s3Key, s3ListPrefix, type DirectoryDestination, type S3Destination, type BackupDestination } from '../../core/backup/destinations.js';
import { backupFile } from '../../core/backup/naming.js';
import type { ExecResult, HostConnection } from '../../hosts/index.js';
import { asBackupFailure, BackupFailure } from './backup-errors.js';

/** Writing or reading a backup file may take long; listing, checking and deleting may not. */
export const STREAM_TIMEOUT_MS = 60 * 60_000;
export const COMMAND_TIMEOUT_MS = 60_000;
export const VERIFY_TIMEOUT_MS = 30 * 60_000;
/** An S3 upload's part: the smallest S3 accepts, so memory stays small (a few parts in flight). */
const S3_PART_BYTES = 5 * 1024 * 1024;
const S3_CONNECT_TIMEOUT_MS = 10_000;
const S3_REQUEST_TIMEOUT_MS = 120_000;

export interface BackupStore {
  readonly destination: BackupDestination;
  /** Where backup `name` is kept, for messages and status: `/b/x.tar on server edge`, `s3://bucket/x.tar`. */
  location(name: string): string;
  /** Streams `content` into backup `name`; a write that fails leaves nothing under that name. */
  write(name: string, content: Readable, signal: AbortSignal): Promise<void>;
  /** The stored backup's SHA-256; BackupNotFound when it cannot be read. */
  checksum(name: string, signal: AbortSignal): Promise<string>;
  /** Streams the stored backup into `into` (ended at the end). */
  read(name: string, into: Writable, signal: AbortSignal): Promise<void>;
  /** The names in the destination (backups of any policy, or other files). */
  list(signal: AbortSignal): Promise<string[]>;
  remove(names: readonly string[], signal: AbortSignal): Promise<void>;
  /** Removes what runs of `policy` cut off mid-write left. */
  removeStalePartials(policy: string): Promise<void>;
  /** Checks a stored tar where it lies (sha256 and a listing) without streaming it back; absent where that cannot be done. */
  checkTar?(name: string, sha256: string, signal: AbortSignal): Promise<{ ok: boolean; message: string }>;
}

/** The last lines of a command's complaint, short enough for a condition message. */
export function tail(stderr: string): string {
  return stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 500);
}

/** Why writing `file` on the destination failed (a full disk, no permission, …), from the write's exit. */
function writeFailure(written: ExecResult, file: string, server: string): BackupFailure {
  const reason = classifyWriteFailure(written.stderr);
  const what = reason === 'DiskFull' ? 'the destination is out of space' : reason === 'DestinationUnwritable' ? 'the destination is not writable' : 'the write failed';
  return new BackupFailure(reason, `writing ${file} on server ${server} failed, ${what}: ${tail(written.stderr) || `exit status ${written.exitCode ?? written.signal}`}`);
}

const failedRun = (err: unknown): ExecResult => ({ exitCode: 1, stdout: '', stderr: (err as Error).message, truncated: false, durationMs: 0 });

/** A directory on a server: a write streams into `name`.partial and renames it once all of it arrived. */
export class DirectoryStore implements BackupStore {
  constructor(
    readonly destination: DirectoryDestination,
    readonly server: string,
    readonly connection: HostConnection,
  ) {}

  private file(name: string): string {
    return backupFile(this.destination.path, name);
  }

  location(name: string): string {
    return `${this.file(name)} on server ${this.server}`;
  }

  async write(name: string, content: Readable, signal: AbortSignal): Promise<void> {
    const file = this.file(name);
    let written: ExecResult;
    try {
      written = await this.connection.commands.run(writeBackupArgv(this.destination.path, file), { stdin: content, signal, timeoutMs: STREAM_TIMEOUT_MS });
    } catch (err) {
      await this.removePartial(file);
      const failure = asBackupFailure(err, 'BackupFailed');
      throw new BackupFailure(failure.condition, `writing ${file} on server ${this.server} failed: ${failure.message}`);
    }
    if (written.exitCode !== 0) {
      await this.removePartial(file);
      throw writeFailure(written, file, this.server);
    }
    const moved = await this.connection.commands.run(commitBackupArgv(file), { timeoutMs: COMMAND_TIMEOUT_MS }).catch(failedRun);
    if (moved.exitCode === 0) return;
    await this.removePartial(file);
    throw new BackupFailure('DestinationUnwritable', `${file}.partial on server ${this.server} was written but could not be renamed to ${file}: ${tail(moved.stderr)}`);
  }

  async checksum(name: string, signal: AbortSignal): Promise<string> {
    const file = this.file(name);
    const check = await this.connection.commands.run(checksumArgv(file), { signal, timeoutMs: VERIFY_TIMEOUT_MS }).catch(failedRun);
    const sha256 = check.exitCode === 0 ? parseSha256(check.stdout) : undefined;
    if (!sha256) throw new BackupFailure('BackupNotFound', `${file} on server ${this.server} cannot be read (${tail(check.stderr) || 'no checksum printed'})`);
    return sha256;
  }

  async read(name: string, into: Writable, signal: AbortSignal): Promise<void> {
    const file = this.file(name);
    const result = await this.connection.commands.run(readBackupArgv(file), { stdout: into, signal, timeoutMs: STREAM_TIMEOUT_MS });
    // A channel may close without an exit status: the caller judges what arrived by its checksum.
    if (result.exitCode !== 0 && result.exitCode !== null) {
      throw new BackupFailure('BackupNotFound', `reading ${file} on server ${this.server} failed: ${tail(result.stderr) || `exit status ${result.exitCode}`}`);
    }
  }

  async list(signal: AbortSignal): Promise<string[]> {
    const listing = await this.connection.commands.run(listBackupsArgv(this.destination.path), { signal, timeoutMs: COMMAND_TIMEOUT_MS });
    if (listing.exitCode !== 0) throw new BackupFailure('BackupFailed', `listing ${this.destination.path} on server ${this.server} failed: ${tail(listing.stderr)}`);
    return listing.stdout
      .split('\n')
      .map((n) => n.trim())
      .filter(Boolean);
  }

  async remove(names: readonly string[], signal: AbortSignal): Promise<void> {
    if (!names.length) return;
    const result = await this.connection.commands.run(removeBackupsArgv(names.map((n) => this.file(n))), { signal, timeoutMs: COMMAND_TIMEOUT_MS });
    if (result.exitCode !== 0) throw new BackupFailure('DestinationUnwritable', `deleting old backups in ${this.destination.path} on server ${this.server} failed: ${tail(result.stderr)}`);
  }

  async removeStalePartials(policy: string): Promise<void> {
    await this.connection.commands.run(removeStalePartialsArgv(this.destination.path, policy), { timeoutMs: COMMAND_TIMEOUT_MS });
  }

  async checkTar(name: string, sha256: string, signal: AbortSignal): Promise<{ ok: boolean; message: string }> {
    const file = this.file(name);
    let result: ExecResult;
    try {
      result = await this.connection.commands.run(verifyBackupArgv(file), { signal, timeoutMs: VERIFY_TIMEOUT_MS, maxOutputBytes: 64 * 1024 });
    } catch (err) {
      return { ok: false, message: `could not check ${file} on server ${this.server}: ${asBackupFailure(err, 'VerificationFailed').message}` };
    }
    const onHost = parseSha256(result.stdout);
    if (!onHost) return { ok: false, message: `sha256sum of ${file} on server ${this.server} failed: ${tail(result.stderr) || 'no checksum printed'}` };
    if (onHost !== sha256) return { ok: false, message: `${file} on server ${this.server} has sha256 ${onHost}, but ${sha256} was written` };
    if (result.exitCode !== 0) return { ok: false, message: `${file} on server ${this.server} is not a readable tar archive: ${tail(result.stderr)}` };
    return { ok: true, message: `sha256 ${sha256} read back on server ${this.server}; the archive lists cleanly` };
  }

  private async removePartial(file: string): Promise<void> {
    await this.connection.commands.run(removePartialArgv(file), { timeoutMs: COMMAND_TIMEOUT_MS }).catch(() => undefined);
  }
}

/** The S3 SDK, loaded when a policy first uses a bucket: most control planes never do, and it is large. */
const s3Sdk = () => Promise.all([import('@aws-sdk/client-s3'), import('@aws-sdk/lib-storage')]).then(([client, storage]) => ({ ...client, Upload: storage.Upload }));

export interface S3Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/**
 * An S3-compatible bucket. An upload is a multipart upload (a small backup one PUT) that becomes an
 * object only when it completes, so a cut-off write never shows under the backup's name; S3 keeps the
 * parts of an upload nobody completed until the bucket's lifecycle rule for incomplete multipart
 * uploads removes them.
 */
export class S3Store implements BackupStore {
  private constructor(
    readonly destination: S3Destination,
    private readonly sdk: Awaited<ReturnType<typeof s3Sdk>>,
    private readonly client: S3Client,
  ) {}

  static async open(destination: S3Destination, credentials: S3Credentials): Promise<S3Store> {
    const sdk = await s3Sdk();
    const { endpoint, region, forcePathStyle } = destination.s3;
    const config: S3ClientConfig = {
      region,
      forcePathStyle,
      credentials,
      maxAttempts: 2,
      requestHandler: { connectionTimeout: S3_CONNECT_TIMEOUT_MS, requestTimeout: S3_REQUEST_TIMEOUT_MS },
      ...(endpoint ? { endpoint } : {}),
    };
    return new S3Store(destination, sdk, new sdk.S3Client(config));
  }

  private key(name: string): string {
    return s3Key(this.destination.s3.prefix, name);
  }

  location(name: string): string {
    return `s3://${this.destination.s3.bucket}/${this.key(name)}`;
  }

  private failure(reason: 'BackupFailed' | 'BackupNotFound' | 'DestinationUnwritable', what: string, err: unknown): BackupFailure {
    const e = err as { name?: string; message?: string; Code?: string };
    const detail = e.name && e.name !== 'Error' ? `${e.name}: ${e.message ?? ''}` : (e.message ?? String(err));
    const unreachable = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ETIMEDOUT|TimeoutError|socket hang up|ECONNRESET/i.test(detail);
    return new BackupFailure(unreachable ? 'ServerUnavailable' : reason, `${what} ${this.endpointLabel()} failed: ${detail.trim().slice(0, 500)}`);
  }

  private endpointLabel(): string {
    return this.destination.s3.endpoint ? `(endpoint ${this.destination.s3.endpoint})` : '(AWS S3)';
  }

  async write(name: string, content: Readable, signal: AbortSignal): Promise<void> {
    const upload = new this.sdk.Upload({
      client: this.client,
      params: { Bucket: this.destination.s3.bucket, Key: this.key(name), Body: content },
      partSize: S3_PART_BYTES,
      queueSize: 2,
      leavePartsOnError: false,
    });
    const abort = () => void upload.abort().catch(() => undefined);
    signal.addEventListener('abort', abort, { once: true });
    try {
      await upload.done();
    } catch (err) {
      throw this.failure('DestinationUnwritable', `uploading ${this.location(name)}`, signal.aborted ? (signal.reason ?? err) : err);
    } finally {
      signal.removeEventListener('abort', abort);
    }
  }

  async checksum(name: string, signal: AbortSignal): Promise<string> {
    const hash = createHash('sha256');
    const sink = new PassThrough();
    sink.on('data', (chunk: Buffer) => hash.update(chunk));
    await this.read(name, sink, signal);
    return hash.digest('hex');
  }

  async read(name: string, into: Writable, signal: AbortSignal): Promise<void> {
    let body: Readable;
    try {
      const got = await this.client.send(new this.sdk.GetObjectCommand({ Bucket: this.destination.s3.bucket, Key: this.key(name) }), { abortSignal: signal });
      body = got.Body as Readable;
    } catch (err) {
      into.destroy();
      throw this.failure('BackupNotFound', `reading ${this.location(name)}`, err);
    }
    try {
      await pipeline(body, into, { signal });
    } catch (err) {
      throw this.failure('BackupNotFound', `reading ${this.location(name)}`, err);
    }
  }

  async list(signal: AbortSignal): Promise<string[]> {
    const prefix = s3ListPrefix(this.destination.s3.prefix);
    const names: string[] = [];
    let token: string | undefined;
    try {
      do {
        const page = await this.client.send(new this.sdk.ListObjectsV2Command({ Bucket: this.destination.s3.bucket, Prefix: prefix, ContinuationToken: token }), { abortSignal: signal });
        for (const o of page.Contents ?? []) {
          const rest = (o.Key ?? '').slice(prefix.length);
          if (rest && !rest.includes('/')) names.push(rest);
        }
        token = page.IsTruncated ? page.NextContinuationToken : undefined;
      } while (token);
    } catch (err) {
      throw this.failure('BackupFailed', `listing s3://${this.destination.s3.bucket}/${prefix}`, err);
    }
    return names;
  }

  async remove(names: readonly string[], signal: AbortSignal): Promise<void> {
    for (const name of names) {
      try {
        await this.client.send(new this.sdk.DeleteObjectCommand({ Bucket: this.destination.s3.bucket, Key: this.key(name) }), { abortSignal: signal });
      } catch (err) {
        throw this.failure('DestinationUnwritable', `deleting ${this.location(name)}`, err);
      }
    }
  }

  async removeStalePartials(): Promise<void> {
    // An upload that never completed is no object: nothing is there under a backup's name.
  }
}
