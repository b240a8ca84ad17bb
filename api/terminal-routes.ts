// Terminals over WebSockets, in Kubernetes' exec wire format (core/terminal/channel-protocol.ts):
//   GET …/namespaces/{ns}/services/{name}/exec?command=sh&command=-c&…&stdin=true&tty=true&replica=N&container=C
//   GET …/servers/{name}/shell?stdin=true&tty=true
// The token is checked AT THE UPGRADE, by the same route table and guard as every other request
// (scope terminal:open): a refused client gets an HTTP Status answer and never a socket. The token
// comes as `Authorization: Bearer` or, from browsers, as the bearer subprotocol. The process starts
// before the upgrade, so "not running" or "no such replica" is an HTTP error too. Every session is
// audited when it opens and when it ends (who, where, how long, exit code), recorded as an event on
// the Service or Server, and ended after a time without input or output.
import { STATUS_CODES, type IncomingMessage } from 'node:http';
import type { Duplex } from 'node:stream';
import { randomUUID } from 'node:crypto';
import { Router } from 'express';
import { WebSocketServer, WebSocket, type RawData } from 'ws';
import { HoldfastError } from '../core/errors.js';
import type { AnyResource } from '../core/resource.js';
import {
  Channel,
  CHANNEL_PROTOCOLS,
  decodeFrame,
  encodeFrame,
  exitStatus,
  failureStatus,
  parseResize,
  tokenFromProtocols,
  type ExitStatus,
} from '../core/terminal/channel-protocol.js';
import type { EventRecorder } from '../controllers/events.js';
import type { TerminalProcess, TerminalSessions } from '../controllers/terminal/terminal-sessions.js';
import type { Logger } from '../observability/logger.js';
import type { FailedAuthLimiter } from '../security/failed-auth-limiter.js';
import type { Redactor } from '../security/redactor.js';
import type { TokenIdentity } from '../security/tokens.js';
import { writeAudit } from '../store/audit.js';
import type { ResourceStore } from '../store/resource-store.js';
import { authorize, type GuardOptions } from './auth.js';
import { API_BASE } from './scopes.js';
import { statusFor } from './status.js';
import { queryFlag } from './list-paging.js';

export const SERVICE_EXEC_PATH = `${API_BASE}/namespaces/:namespace/services/:name/exec`;
export const SERVER_SHELL_PATH = `${API_BASE}/servers/:name/shell`;

export const DEFAULT_TERMINAL_IDLE_TIMEOUT_MS = 15 * 60_000;
const MAX_MESSAGE_BYTES = 1024 * 1024;
const MAX_COMMAND_ARGS = 256;

export interface TerminalRoutesDeps {
  store: ResourceStore;
  /** The guard's options: the upgrade is authorized by the same decision as every HTTP request. */
  access: GuardOptions & { limiter: FailedAuthLimiter };
  redactor: Redactor;
  log: Logger;
  /** Starts the processes (the controllers' host connections); without it the routes answer 503. */
  terminals?: TerminalSessions;
  events?: EventRecorder;
  /** A session with neither input nor output this long is ended. */
  idleTimeoutMs?: number;
}

export interface TerminalServer {
  /** For the HTTP server's `upgrade` event. */
  handleUpgrade(req: IncomingMessage, socket: Duplex, head: Buffer): void;
  /** Ends every open session (shutdown). */
  close(): void;
}

/** A plain GET on a terminal path is a client that forgot the upgrade, as Kubernetes answers it. */
export function terminalRouter(): Router {
  const r = Router();
  const needUpgrade = () => {
    throw new HoldfastError('BadRequest', 'Upgrade request required: a terminal is a WebSocket (holdfast exec, holdfast ssh, or the dashboard)');
  };
  r.get(SERVICE_EXEC_PATH, needUpgrade);
  r.get(SERVER_SHELL_PATH, needUpgrade);
  return r;
}

interface Target {
  kind: 'Service' | 'Server';
  namespace?: string;
  name: string;
}

export function terminalServer(deps: TerminalRoutesDeps): TerminalServer {
  const wss = new WebSocketServer({
    noServer: true,
    maxPayload: MAX_MESSAGE_BYTES,
    perMessageDeflate: false,
    // Only the channel protocol is ever chosen: the bearer subprotocol is not echoed back.
    handleProtocols: (offered) => CHANNEL_PROTOCOLS.find((p) => offered.has(p)) ?? false,
  });
  const idleTimeoutMs = deps.idleTimeoutMs ?? DEFAULT_TERMINAL_IDLE_TIMEOUT_MS;

  const handleUpgrade = async (req: IncomingMessage, socket: Duplex, head: Buffer) => {
    socket.on('error', () => undefined);
    const url = new URL(req.url ?? '/', 'http://holdfast.invalid');
    const target = terminalTarget(url.pathname);
    try {
      if (!target) throw new HoldfastError('NotFound', `the server could not find the requested resource (GET ${url.pathname})`);
      const protocols = String(req.headers['sec-websocket-protocol'] ?? '').split(',').map((p) => p.trim()).filter(Boolean);
      const bearer = tokenFromProtocols(protocols);
      const authorization = req.headers.authorization ?? (bearer ? `Bearer ${bearer}` : undefined);
      const identity = await authorize(
        {
          method: 'GET',
          path: url.pathname,
          query: {},
          authorization,
          cookie: req.headers.cookie,
          origin: req.headers.origin,
          host: req.headers.host,
          client: req.socket.remoteAddress ?? 'unknown',
        },
        deps.access,
      );
      if (!identity) throw new HoldfastError('Unauthorized', 'Unauthorized: send an API token');
      if (String(req.headers.upgrade ?? '').toLowerCase() !== 'websocket') throw new HoldfastError('BadRequest', 'a terminal is a WebSocket: send Upgrade: websocket');
      if (!protocols.some((p) => (CHANNEL_PROTOCOLS as readonly string[]).includes(p))) {
        throw new HoldfastError('BadRequest', `offer the subprotocol ${CHANNEL_PROTOCOLS.join(' or ')} (Sec-WebSocket-Protocol)`);
      }
      if (!deps.terminals) throw new HoldfastError('ServiceUnavailable', 'terminals need the controllers, which do not run in this process');
      const query = terminalQuery(url.searchParams, target.kind);
      const gone = new AbortController();
      socket.once('close', () => gone.abort());
      let resource: AnyResource;
      let running: TerminalProcess;
      if (target.kind === 'Service') {
        const service = await deps.store.mustGet('Service', target.namespace, target.name);
        resource = service;
        running = await deps.terminals.execInService(service, query, gone.signal);
      } else {
        const server = await deps.store.mustGet('Server', undefined, target.name);
        resource = server;
        running = await deps.terminals.shellOnServer(server, query, gone.signal);
      }
      if (gone.signal.aborted) {
        running.close();
        return;
      }
      wss.handleUpgrade(req, socket, head, (ws) => {
        void runSession(ws, running, { deps, idleTimeoutMs, identity, resource, target, command: query.command });
      });
    } catch (err) {
      refuse(socket, err, deps.log);
    }
  };

  return {
    handleUpgrade: (req, socket, head) => void handleUpgrade(req, socket, head),
    close: () => {
      for (const client of wss.clients) client.terminate();
      wss.close();
    },
  };
}

function terminalTarget(path: string): Target | undefined {
  const base = API_BASE.replace(/\./g, '\\.');
  const exec = new RegExp(`^${base}/namespaces/([^/]+)/services/([^/]+)/exec/?$`).exec(path);
  if (exec) return { kind: 'Service', namespace: decodeURIComponent(exec[1]!), name: decodeURIComponent(exec[2]!) };
  const shell = new RegExp(`^${base}/servers/([^/]+)/shell/?$`).exec(path);
  if (shell) return { kind: 'Server', name: decodeURIComponent(shell[1]!) };
  return undefined;
}

interface TerminalQuery {
  command: string[];
  stdin: boolean;
  tty: boolean;
  replica?: number;
  component?: string;
}

function terminalQuery(params: URLSearchParams, kind: Target['kind']): TerminalQuery {
  const flag = (name: string) => queryFlag(params.get(name), name) ?? false;
  const command = params.getAll('command');
  if (kind === 'Server' && command.length > 0) throw new HoldfastError('BadRequest', 'a server shell takes no command: it opens the login shell');
  if (kind === 'Service' && command.length === 0) throw new HoldfastError('BadRequest', 'exec needs a command: give it as command=… (once per argument)');
  if (command.length > MAX_COMMAND_ARGS) throw new HoldfastError('BadRequest', `a command has at most ${MAX_COMMAND_ARGS} arguments`);
  const replicaText = params.get('replica');
  if (replicaText !== null && (!/^\d+$/.test(replicaText) || Number(replicaText) < 1)) {
    throw new HoldfastError('BadRequest', `replica must be a whole number of at least 1, got "${replicaText}"`);
  }
  return {
    command,
    stdin: flag('stdin'),
    tty: flag('tty'),
    ...(replicaText !== null ? { replica: Number(replicaText) } : {}),
    ...(params.get('container') ? { component: params.get('container')! } : {}),
  };
}

/** Answers a refused upgrade with a Status, as an HTTP response on the raw socket. */
function refuse(socket: Duplex, err: unknown, log: Logger): void {
  let known = err instanceof HoldfastError ? err : undefined;
  if (!known) {
    log.error({ err }, 'terminal upgrade failed');
    known = new HoldfastError('InternalError', 'an internal error occurred; the server log has the details');
  }
  if (socket.destroyed) return;
  const body = JSON.stringify(statusFor(known));
  socket.end(
    `HTTP/1.1 ${known.code} ${STATUS_CODES[known.code] ?? 'Error'}\r\n` +
      'Content-Type: application/json\r\n' +
      `Content-Length: ${Buffer.byteLength(body)}\r\n` +
      'Connection: close\r\n\r\n' +
      body,
  );
}

interface SessionContext {
  deps: TerminalRoutesDeps;
  idleTimeoutMs: number;
  identity: TokenIdentity;
  resource: AnyResource;
  target: Target;
  command: string[];
}

async function runSession(ws: WebSocket, running: TerminalProcess, ctx: SessionContext): Promise<void> {
  const { deps, identity, target } = ctx;
  const id = randomUUID();
  const started = new Date();
  const actor = `token:${identity.name}`;
  const what = target.kind === 'Service' ? `exec ${deps.redactor.redactText(ctx.command.join(' '))} in ${running.where}` : `shell on ${running.where}`;
  const verb = target.kind === 'Service' ? 'exec' : 'shell';
  const audit = (message: string) =>
    writeAudit(
      deps.store.db,
      { actor, tokenId: identity.id, verb, kind: target.kind, namespace: target.namespace, name: target.name, outcome: 'Success', message },
      new Date(),
      (text) => deps.redactor.redactText(text),
    ).catch((err) => deps.log.error({ err, session: id }, 'could not write the audit row of a terminal session'));
  let lastActivity = Date.now();
  let ending: ExitStatus | undefined;
  let clientGone = false;
  const idleCheck = setInterval(() => {
    if (Date.now() - lastActivity < ctx.idleTimeoutMs) return;
    ending = failureStatus('IdleTimeout', `the session had no input or output for ${Math.round(ctx.idleTimeoutMs / 1000)} s and was ended`);
    running.close();
  }, Math.min(ctx.idleTimeoutMs / 4, 5_000));

  ws.on('message', (data: RawData) => {
    lastActivity = Date.now();
    const frame = decodeFrame(toBuffer(data));
    if (!frame) return;
    if (frame.channel === Channel.stdin) running.write(Buffer.from(frame.data));
    else if (frame.channel === Channel.resize) {
      const size = parseResize(frame.data);
      if ('rows' in size) void running.resize(size);
    } else if (frame.channel === Channel.close && frame.data[0] === Channel.stdin) running.endInput();
  });
  ws.on('close', () => {
    clientGone = true;
    running.close();
  });
  ws.on('error', () => undefined);

  // Only now, with the socket's listeners in place: a frame that arrived while the row was written
  // (the first resize, a script's stdin) would otherwise be dropped.
  await audit(`opened: ${what}`);
  deps.log.info({ session: id, actor, kind: target.kind, namespace: target.namespace, name: target.name, where: running.where }, 'terminal session opened');

  const code = await running.run(async (stream, data) => {
    lastActivity = Date.now();
    if (ws.readyState !== WebSocket.OPEN) return;
    // Resolves once the frame is handed to the socket: a slow client holds the process output back.
    await new Promise<void>((resolve) => ws.send(encodeFrame(stream === 'stdout' ? Channel.stdout : Channel.stderr, data), () => resolve()));
  });
  clearInterval(idleCheck);
  const status = ending ?? exitStatus(code);
  if (ws.readyState === WebSocket.OPEN) {
    ws.send(encodeFrame(Channel.status, JSON.stringify(status)));
    ws.close(1000);
  }

  const seconds = ((Date.now() - started.getTime()) / 1000).toFixed(1);
  const outcome = ending ? `ended after ${seconds} s: ${ending.message}` : clientGone && code === null ? `ended after ${seconds} s: the client disconnected` : `ended after ${seconds} s with exit code ${code ?? 'unknown'}`;
  await audit(`${outcome} (${what}, opened ${started.toISOString()})`);
  deps.log.info({ session: id, actor, kind: target.kind, namespace: target.namespace, name: target.name, durationMs: Date.now() - started.getTime(), exitCode: code, reason: ending?.reason }, 'terminal session ended');
  await deps.events
    ?.record(ctx.resource, 'Normal', target.kind === 'Service' ? 'ExecSession' : 'ShellSession', deps.redactor.redactText(`${actor}: ${what}, ${outcome}`))
    .catch((err) => deps.log.warn({ err, session: id }, 'could not record the event of a terminal session'));
}

function toBuffer(data: RawData): Buffer {
  if (Buffer.isBuffer(data)) return data;
  if (Array.isArray(data)) return Buffer.concat(data);
  return Buffer.from(data);
}
