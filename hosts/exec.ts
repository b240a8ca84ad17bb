// Shell commands on a host, only where the Engine API has no answer (git clone, compose, OS probes).
// Commands are argv arrays; over SSH each argument is single-quoted for the remote shell, so no user
// value is ever parsed as shell syntax. Secrets go through stdin, never the command line.
import { spawn } from 'node:child_process';
import type { Readable, Writable } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import { CommandFailed, HostError, OperationAborted, OperationTimeout } from './errors.js';
import type { HostObserver } from '../core/observers.js';
import { openExec, type SshSession } from './ssh-session.js';

export interface ExecOptions {
  timeoutMs?: number;
  signal?: AbortSignal;
  /** Bytes kept per stream; output beyond it is read and dropped, and `truncated` is set. */
  maxOutputBytes?: number;
  /** Fed to the command; a stream is piped (large data), and its failure ends the command. */
  stdin?: string | Buffer | Readable;
  /** Receives stdout as it comes (with backpressure) instead of collecting it; ended when the command ends. */
  stdout?: Writable;
}

export interface ExecResult {
  /** Null when the command ended by a signal. */
  exitCode: number | null;
  signal?: string;
  stdout: string;
  stderr: string;
  truncated: boolean;
  durationMs: number;
}

export interface CommandRunner {
  readonly server: string;
  run(argv: readonly string[], options?: ExecOptions): Promise<ExecResult>;
}

const DEFAULT_TIMEOUT_MS = 60_000;
const DEFAULT_MAX_OUTPUT_BYTES = 1024 * 1024;
const SAFE_ARG = /^[A-Za-z0-9_@%+=:,./-]+$/;

/** One argument as POSIX shell text: bare when it holds only safe characters, else single-quoted. */
export function quoteArg(arg: string): string {
  if (arg.includes('\0')) throw new TypeError('command arguments cannot contain NUL bytes');
  if (arg === '') return "''";
  if (SAFE_ARG.test(arg)) return arg;
  return `'${arg.replace(/'/g, `'\\''`)}'`;
}

/** The command line a POSIX shell parses back into exactly `argv`. */
export function quoteArgv(argv: readonly string[]): string {
  if (argv.length === 0) throw new TypeError('a command needs at least a program name');
  return argv.map(quoteArg).join(' ');
}

/** Throws CommandFailed unless the command exited 0. */
export function expectSuccess(server: string, argv: readonly string[], result: ExecResult): ExecResult {
  if (result.exitCode === 0) return result;
  const tail = result.stderr.trim().split('\n').slice(-3).join(' | ').slice(0, 500);
  throw new CommandFailed(server, argv[0] ?? '', result.exitCode, tail);
}

class OutputCollector {
  readonly #chunks: Buffer[] = [];
  #kept = 0;
  truncated = false;

  constructor(private readonly limit: number) {}

  add(chunk: Buffer): void {
    const room = this.limit - this.#kept;
    if (room <= 0) {
      this.truncated ||= chunk.length > 0;
      return;
    }
    const kept = chunk.length > room ? chunk.subarray(0, room) : chunk;
    if (kept.length < chunk.length) this.truncated = true;
    this.#chunks.push(kept);
    this.#kept += kept.length;
  }

  text(): string {
    return Buffer.concat(this.#chunks).toString('utf8');
  }
}

/**
 * The remote side of a command: `sh` prints a marked line with its pid, then becomes the command.
 * sshd makes each session its own process group, so that pid names the command and everything it
 * started. Whatever the login shell's startup files print comes before the mark and is dropped.
 */
const PID_MARK = '@@holdfast-pid ';
const REMOTE_WRAPPER = ['sh', '-c', `echo "${PID_MARK}$$" && exec "$@"`, 'sh'];
const PID_LINE = new RegExp(`(?:^|\\n)${PID_MARK}(\\d+)\\n`);
const MAX_PREAMBLE_BYTES = 64 * 1024;
/** `--` is POSIX; BusyBox's kill wants the group without it. */
const KILL_GROUP = 'kill -KILL -- "-$1" 2>/dev/null || kill -KILL "-$1"';
const KILL_TIMEOUT_MS = 10_000;

/** Runs commands over the server's kept SSH session; each is one operation of the session. */
export class SshCommandRunner implements CommandRunner {
  readonly server: string;

  constructor(
    private readonly session: SshSession,
    private readonly options: { observer?: HostObserver } = {},
  ) {
    this.server = session.server;
  }

  run(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    const command = quoteArgv([...REMOTE_WRAPPER, ...checkedArgv(argv)]);
    const operation = `exec ${argv[0]}`;
    return this.session.run(
      operation,
      async (client, signal) => {
        this.options.observer?.exec?.(this.server);
        const started = Date.now();
        const channel = await openExec(client, command);
        return collect(channel, options, signal, started, (pid) => this.#killGroup(pid), (why) => new CommandFailed(this.server, argv[0] ?? '', null, why));
      },
      { timeoutMs: options.timeoutMs ?? DEFAULT_TIMEOUT_MS, signal: options.signal },
    );
  }

  /**
   * Ends a command whose operation timed out or was canceled. Closing its channel is not enough (the
   * process lives on), and sshd refuses signal requests on root sessions, so this is a second command.
   */
  #killGroup(pid: number): void {
    void this.session
      .run(
        'exec kill',
        async (client) => {
          this.options.observer?.exec?.(this.server);
          const channel = await openExec(client, quoteArgv(['sh', '-c', KILL_GROUP, 'sh', String(pid)]));
          await new Promise((resolve) => channel.on('close', resolve).resume().end());
        },
        { timeoutMs: KILL_TIMEOUT_MS, unbounded: true },
      )
      .catch(() => undefined);
  }
}

function checkedArgv(argv: readonly string[]): readonly string[] {
  if (argv.length === 0) throw new TypeError('a command needs at least a program name');
  return argv;
}

/** Collects a wrapped command's output; the pid mark (and anything before it) is kept out of stdout. */
function collect(
  channel: ClientChannel,
  options: ExecOptions,
  signal: AbortSignal,
  started: number,
  killGroup: (pid: number) => void,
  inputFailed: (why: string) => Error,
): Promise<ExecResult> {
  const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
  const stdout = new OutputCollector(limit);
  const stderr = new OutputCollector(limit);
  return new Promise<ExecResult>((resolve, reject) => {
    let exitCode: number | null = null;
    let exitSignal: string | undefined;
    let pid: number | undefined;
    let preamble = '';
    let aborted = false;
    let giveUp: ReturnType<typeof setTimeout> | undefined;
    const end = () => {
      if (giveUp) clearTimeout(giveUp);
      channel.close();
    };
    const onAbort = () => {
      aborted = true;
      // Works where sshd allows it (not for root); the kill command below covers the rest.
      try {
        channel.signal('KILL');
      } catch {
        // The channel may already be closing.
      }
      if (pid !== undefined) {
        killGroup(pid);
        end();
      } else {
        // The command has not said who it is yet; wait for it (briefly) so it can be stopped.
        giveUp = setTimeout(end, KILL_TIMEOUT_MS);
      }
      reject(signal.reason);
    };
    let marked = false;
    let inputError: Error | undefined;
    const sink = options.stdout;
    const toStdout = (chunk: Buffer) => {
      if (!sink) return stdout.add(chunk);
      if (!sink.write(chunk)) {
        channel.pause();
        sink.once('drain', () => channel.resume());
      }
    };
    channel.on('data', (chunk: Buffer) => {
      if (marked) {
        toStdout(chunk);
        return;
      }
      preamble += chunk.toString('latin1');
      const mark = PID_LINE.exec(preamble);
      if (!mark) {
        // No mark after this much output: not our wrapper's doing; keep everything as output.
        if (preamble.length > MAX_PREAMBLE_BYTES) {
          marked = true;
          toStdout(Buffer.from(preamble, 'latin1'));
          preamble = '';
        }
        return;
      }
      marked = true;
      pid = Number(mark[1]);
      const rest = Buffer.from(preamble.slice(mark.index + mark[0].length), 'latin1');
      preamble = '';
      if (rest.length > 0) toStdout(rest);
      if (aborted && pid > 1) {
        killGroup(pid);
        end();
      }
    });
    channel.stderr.on('data', (chunk: Buffer) => stderr.add(chunk));
    channel.on('exit', (code: number | null, signalName?: string) => {
      exitCode = code;
      if (code === null && signalName) exitSignal = signalName;
    });
    // ssh2 repeats the exit status on close. A fast command's whole answer (output, exit status,
    // close) can arrive in the same read as the exec confirmation, before the listeners above are
    // attached: its 'exit' event is then gone, and only these arguments carry the status.
    channel.on('close', (code?: number | null, signalName?: string) => {
      if (exitCode === null && exitSignal === undefined) {
        if (typeof code === 'number') exitCode = code;
        else if (code === null && signalName) exitSignal = signalName;
      }
      if (giveUp) clearTimeout(giveUp);
      signal.removeEventListener('abort', onAbort);
      if (!marked && preamble) toStdout(Buffer.from(preamble, 'latin1'));
      sink?.end();
      if (inputError) {
        reject(inputFailed(`input failed: ${inputError.message}`));
        return;
      }
      resolve({
        exitCode,
        signal: exitSignal,
        stdout: stdout.text(),
        stderr: stderr.text(),
        truncated: stdout.truncated || stderr.truncated,
        durationMs: Date.now() - started,
      });
    });
    const input = options.stdin;
    if (input === undefined) channel.end();
    else if (typeof input === 'string' || Buffer.isBuffer(input)) channel.end(input);
    else {
      // A failed source must not look like a complete one: end the command, and fail.
      input.once('error', (err) => {
        inputError = err;
        try {
          channel.signal('KILL');
        } catch {
          // The channel may already be closing.
        }
        if (pid !== undefined) killGroup(pid);
        channel.close();
      });
      input.pipe(channel);
    }
    // The operation may have timed out while the command was still being started.
    if (signal.aborted) onAbort();
    else signal.addEventListener('abort', onAbort, { once: true });
  });
}

/** Runs commands on this machine (Servers of kind `local`), without a shell. */
export class LocalCommandRunner implements CommandRunner {
  constructor(
    readonly server: string,
    private readonly options: { observer?: HostObserver } = {},
  ) {}

  run(argv: readonly string[], options: ExecOptions = {}): Promise<ExecResult> {
    if (argv.length === 0) return Promise.reject(new TypeError('a command needs at least a program name'));
    for (const arg of argv) if (arg.includes('\0')) return Promise.reject(new TypeError('command arguments cannot contain NUL bytes'));
    this.options.observer?.exec?.(this.server);
    const timeoutMs = options.timeoutMs ?? DEFAULT_TIMEOUT_MS;
    const operation = `exec ${argv[0]}`;
    const limit = options.maxOutputBytes ?? DEFAULT_MAX_OUTPUT_BYTES;
    const started = Date.now();
    return new Promise<ExecResult>((resolve, reject) => {
      const stdout = new OutputCollector(limit);
      const stderr = new OutputCollector(limit);
      // Its own process group, so a timeout ends whatever the command started too.
      const child = spawn(argv[0]!, argv.slice(1), { stdio: ['pipe', 'pipe', 'pipe'], detached: true });
      let failure: HostError | Error | undefined;
      const stop = (err: HostError) => {
        failure ??= err;
        try {
          if (child.pid) process.kill(-child.pid, 'SIGKILL');
        } catch {
          child.kill('SIGKILL');
        }
      };
      const timer = setTimeout(() => stop(new OperationTimeout(this.server, operation, timeoutMs)), timeoutMs);
      const onAbort = () => stop(new OperationAborted(this.server, operation));
      if (options.signal?.aborted) onAbort();
      else options.signal?.addEventListener('abort', onAbort, { once: true });
      if (options.stdout) child.stdout.pipe(options.stdout);
      else child.stdout.on('data', (chunk: Buffer) => stdout.add(chunk));
      child.stderr.on('data', (chunk: Buffer) => stderr.add(chunk));
      child.stdin.on('error', () => undefined);
      child.once('error', (err) => (failure ??= new CommandFailed(this.server, argv[0]!, null, err.message)));
      child.once('close', (code, signalName) => {
        clearTimeout(timer);
        options.signal?.removeEventListener('abort', onAbort);
        if (failure) {
          reject(failure);
          return;
        }
        resolve({
          exitCode: code,
          signal: signalName ?? undefined,
          stdout: stdout.text(),
          stderr: stderr.text(),
          truncated: stdout.truncated || stderr.truncated,
          durationMs: Date.now() - started,
        });
      });
      const input = options.stdin;
      if (input === undefined || typeof input === 'string' || Buffer.isBuffer(input)) child.stdin.end(input);
      else {
        input.once('error', (err) => stop(new CommandFailed(this.server, argv[0]!, null, `input failed: ${err.message}`)));
        input.pipe(child.stdin);
      }
    });
  }
}
