// Interactive processes for the terminal API: a command in one of a Service's containers (Docker's
// exec API over the server's kept session, the stream handed over by an HTTP upgrade) or a shell on
// the server itself (ssh2's shell channel over the same kept connection). Both live outside the
// host's operation slots, as log streams do: a person at a terminal takes as long as they like.
import { HoldfastError } from '../../core/errors.js';
import { selectLogTargets } from '../../core/logs/log-targets.js';
import type { Server, Service } from '../../core/schema/types.generated.js';
import type { TerminalSize } from '../../core/terminal/channel-protocol.js';
import { LogDemuxer } from '../../hosts/docker-streams.js';
import type { DockerClient } from '../../hosts/index.js';
import type { Duplex } from 'node:stream';
import type { ClientChannel } from 'ssh2';
import type { ServerConnector } from '../servers/server-connector.js';

export type OutputSink = (stream: 'stdout' | 'stderr', data: Buffer) => Promise<void>;

export interface TerminalRequest {
  tty: boolean;
  stdin: boolean;
  /** The size to start with, when the client knows it already. */
  size?: TerminalSize;
}

export interface ExecRequest extends TerminalRequest {
  command: string[];
  /** 1-based replica; the first running one when omitted. */
  replica?: number;
  /** A compose service of the Service; the first when omitted. */
  component?: string;
}

/** A running process the terminal talks to. */
export interface TerminalProcess {
  /** Where it runs, for the audit log and events: `container hf_shop_production_web_1 on server edge-1`. */
  readonly where: string;
  write(data: Buffer): void;
  /** The client closed its input (a script's stdin ended). */
  endInput(): void;
  resize(size: TerminalSize): Promise<void>;
  /** Streams the output to `sink`, awaiting it (back-pressure), until the process ends; resolves with its exit code, null when it could not be learned. */
  run(sink: OutputSink): Promise<number | null>;
  /** Cuts the process off (the client went, or the session idled out). */
  close(): void;
}

const OPEN_TIMEOUT_MS = 20_000;
const HOST_SYNC_WAIT_MS = 10_000;
const EXIT_CODE_WAIT_MS = 3_000;
const DEFAULT_TERM = 'xterm-256color';

export class TerminalSessions {
  constructor(private readonly deps: { connector: ServerConnector }) {}

  /** Starts `request.command` in a running container of the Service (errors before anything starts are user-facing). */
  async execInService(service: Service, request: ExecRequest, signal: AbortSignal): Promise<TerminalProcess> {
    if (request.command.length === 0) throw new HoldfastError('BadRequest', 'exec needs a command (e.g. command=sh)');
    const spec = service.spec!;
    const server = await this.deps.connector.server(spec.server);
    if (server.spec!.kind === 'docker-swarm-manager' && !('compose' in spec.source && spec.source.compose)) {
      throw new HoldfastError('BadRequest', `service ${service.metadata.namespace}/${service.metadata.name} runs as a Swarm service on ${server.metadata.name}: exec into its tasks on the node that runs them (holdfast ssh server/NAME, then docker exec)`);
    }
    const connection = await this.deps.connector.connectionFor(server);
    const cache = connection.liveState;
    await cache.waitForSync(AbortSignal.any([signal, AbortSignal.timeout(HOST_SYNC_WAIT_MS)])).catch(() => {
      if (signal.aborted) throw signal.reason;
      throw new HoldfastError('ServiceUnavailable', `the containers of server ${server.metadata.name} could not be listed within ${HOST_SYNC_WAIT_MS / 1000} s (see holdfast describe server ${server.metadata.name})`);
    });
    const containers = [...cache.snapshot().containers.values()].map((c) => ({
      id: c.Id,
      name: (c.Name ?? '').replace(/^\//, ''),
      labels: c.Config?.Labels ?? {},
      running: c.State?.Running === true,
      tty: c.Config?.Tty === true,
    }));
    const who = { project: service.metadata.namespace!, environment: spec.environment, service: service.metadata.name };
    const targets = selectLogTargets(containers, who, { replica: request.replica, component: request.component });
    const target = targets.find((t) => t.container.running);
    if (!target) {
      throw new HoldfastError('Conflict', `${targets.map((t) => `${t.container.name}`).join(', ')} of service ${who.project}/${who.service} ${targets.length > 1 ? 'are' : 'is'} not running: there is nothing to exec into (holdfast logs service/${who.service} -n ${who.project} --previous shows why it stopped)`);
    }
    const docker = connection.docker;
    const options = { signal: AbortSignal.any([signal, AbortSignal.timeout(OPEN_TIMEOUT_MS)]) };
    const exec = await docker.createExec(target.container.id, { cmd: request.command, tty: request.tty, stdin: request.stdin, env: [`TERM=${DEFAULT_TERM}`], size: request.size }, options);
    const { stream, head } = await docker.startExec(exec, request.tty, options);
    const started = new ExecProcess(docker, exec, stream, head, request.tty, `container ${target.container.name} on server ${server.metadata.name}`);
    if (request.tty && request.size) await started.resize(request.size);
    return started;
  }

  /** Opens the login shell of the server's SSH user over its kept connection. */
  async shellOnServer(server: Server, request: TerminalRequest, signal: AbortSignal): Promise<TerminalProcess> {
    const connection = await this.deps.connector.connectionFor(server);
    if (!connection.session) {
      throw new HoldfastError('BadRequest', `server ${server.metadata.name} is the control plane's own Docker engine (kind local): it has no SSH connection to open a shell on`);
    }
    const size = request.size ?? { rows: 24, cols: 80 };
    const channel = await connection.session.shell(request.tty ? { ...size, term: DEFAULT_TERM } : undefined, { signal, timeoutMs: OPEN_TIMEOUT_MS });
    return new ShellProcess(channel, `server ${server.metadata.name} (${connection.session.endpoint})`);
  }
}

class ExecProcess implements TerminalProcess {
  constructor(
    private readonly docker: DockerClient,
    private readonly exec: string,
    private readonly stream: Duplex,
    private readonly head: Buffer,
    private readonly tty: boolean,
    readonly where: string,
  ) {
    // A write after the process ended must not crash the control plane.
    stream.on('error', () => undefined);
  }

  write(data: Buffer): void {
    if (!this.stream.writableEnded && !this.stream.destroyed) this.stream.write(data);
  }

  endInput(): void {
    if (!this.stream.writableEnded) this.stream.end();
  }

  async resize(size: TerminalSize): Promise<void> {
    if (!this.tty) return;
    // A resize racing the end of the process fails; nothing is left to resize then.
    await this.docker.resizeExec(this.exec, size, { timeoutMs: 10_000 }).catch(() => undefined);
  }

  async run(sink: OutputSink): Promise<number | null> {
    const demuxer = this.tty ? undefined : new LogDemuxer(false);
    const deliver = async (chunk: Buffer) => {
      if (!demuxer) {
        if (chunk.length > 0) await sink('stdout', chunk);
        return;
      }
      for (const frame of demuxer.push(chunk)) if (frame.stream !== 'stdin') await sink(frame.stream, frame.data);
    };
    try {
      await deliver(this.head);
      for await (const chunk of this.stream as AsyncIterable<Buffer>) await deliver(chunk);
    } catch {
      // The connection broke or was cut: the exit code, if any, is still asked for below.
    }
    return this.#exitCode();
  }

  close(): void {
    this.stream.destroy();
  }

  async #exitCode(): Promise<number | null> {
    const deadline = Date.now() + EXIT_CODE_WAIT_MS;
    for (;;) {
      const inspect = await this.docker.inspectExec(this.exec, { timeoutMs: 10_000 }).catch(() => undefined);
      if (!inspect) return null;
      if (!inspect.Running) return inspect.ExitCode;
      // The stream was cut while the process still runs (the client went): it has no exit code.
      if (Date.now() > deadline) return null;
      await new Promise((resolve) => setTimeout(resolve, 100));
    }
  }
}

class ShellProcess implements TerminalProcess {
  #exit: number | null = null;
  readonly #closed: Promise<void>;

  constructor(
    private readonly channel: ClientChannel,
    readonly where: string,
  ) {
    this.#closed = new Promise((resolve) => channel.once('close', () => resolve()));
    channel.on('error', () => undefined);
    channel.on('exit', (code: number | null) => {
      if (typeof code === 'number') this.#exit = code;
    });
  }

  write(data: Buffer): void {
    if (!this.channel.writableEnded && !this.channel.destroyed) this.channel.write(data);
  }

  endInput(): void {
    if (!this.channel.writableEnded) this.channel.end();
  }

  async resize(size: TerminalSize): Promise<void> {
    this.channel.setWindow(size.rows, size.cols, 0, 0);
  }

  async run(sink: OutputSink): Promise<number | null> {
    const pump = async (source: AsyncIterable<Buffer>, stream: 'stdout' | 'stderr') => {
      try {
        for await (const chunk of source) await sink(stream, chunk);
      } catch {
        // The channel closed under the reader.
      }
    };
    await Promise.all([pump(this.channel as AsyncIterable<Buffer>, 'stdout'), pump(this.channel.stderr as AsyncIterable<Buffer>, 'stderr')]);
    await this.#closed;
    return this.#exit;
  }

  close(): void {
    this.channel.close();
  }
}
