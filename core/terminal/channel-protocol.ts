// Kubernetes' streaming protocol for exec and attach over a WebSocket (`v5.channel.k8s.io`, and
// `v4.channel.k8s.io` without the close frame): every binary message starts with a channel byte.
// 0 stdin, 1 stdout, 2 stderr, 3 the exit status (a Status object, once, at the end), 4 terminal
// resize ({"Width","Height"}), 255 close (its one data byte names the channel closed: stdin).
// Pure: framing and the exit status, shared by the API route, the CLI and the dashboard.

export const CHANNEL_PROTOCOL_V5 = 'v5.channel.k8s.io';
export const CHANNEL_PROTOCOL_V4 = 'v4.channel.k8s.io';
export const CHANNEL_PROTOCOLS = [CHANNEL_PROTOCOL_V5, CHANNEL_PROTOCOL_V4] as const;
/** Browsers cannot set headers on a WebSocket: the token travels as this subprotocol, base64url-encoded. */
export const BEARER_PROTOCOL_PREFIX = 'base64url.bearer.authorization.k8s.io.';

export const Channel = { stdin: 0, stdout: 1, stderr: 2, status: 3, resize: 4, close: 255 } as const;
export type ChannelNumber = (typeof Channel)[keyof typeof Channel];

export interface TerminalSize {
  rows: number;
  cols: number;
}

/** The Status the server sends on channel 3 when the process ends (kubectl's shape). */
export interface ExitStatus {
  metadata: Record<string, never>;
  status: 'Success' | 'Failure';
  message?: string;
  reason?: string;
  details?: { causes: Array<{ reason: string; message: string }> };
}

export function encodeFrame(channel: ChannelNumber, data: Uint8Array | string): Uint8Array {
  const body = typeof data === 'string' ? new TextEncoder().encode(data) : data;
  const frame = new Uint8Array(body.length + 1);
  frame[0] = channel;
  frame.set(body, 1);
  return frame;
}

export function decodeFrame(message: Uint8Array): { channel: number; data: Uint8Array } | undefined {
  if (message.length === 0) return undefined;
  return { channel: message[0]!, data: message.subarray(1) };
}

export const resizeFrame = (size: TerminalSize): Uint8Array => encodeFrame(Channel.resize, JSON.stringify({ Width: size.cols, Height: size.rows }));
export const closeStdinFrame = (): Uint8Array => encodeFrame(Channel.close, new Uint8Array([Channel.stdin]));

const MAX_TERMINAL_SIDE = 10_000;

/** A resize message's size, or a message saying what is wrong with it. */
export function parseResize(data: Uint8Array): TerminalSize | { error: string } {
  let value: unknown;
  try {
    value = JSON.parse(new TextDecoder().decode(data));
  } catch {
    return { error: 'a resize message must be JSON such as {"Width":80,"Height":24}' };
  }
  const { Width, Height } = (value ?? {}) as { Width?: unknown; Height?: unknown };
  const side = (n: unknown) => Number.isInteger(n) && (n as number) > 0 && (n as number) <= MAX_TERMINAL_SIDE;
  if (!side(Width) || !side(Height)) return { error: `a resize needs Width and Height as whole numbers from 1 to ${MAX_TERMINAL_SIDE}` };
  return { rows: Height as number, cols: Width as number };
}

/** The Status for an exit code; null (the code could not be learned) is a failure without one. */
export function exitStatus(code: number | null): ExitStatus {
  if (code === 0) return { metadata: {}, status: 'Success' };
  if (code === null) return { metadata: {}, status: 'Failure', reason: 'InternalError', message: 'the connection to the process ended before its exit code was known' };
  return {
    metadata: {},
    status: 'Failure',
    reason: 'NonZeroExitCode',
    message: `command terminated with non-zero exit code: ${code}`,
    details: { causes: [{ reason: 'ExitCode', message: String(code) }] },
  };
}

/** A failure that is not the process's own (idle timeout, the container went away). */
export function failureStatus(reason: string, message: string): ExitStatus {
  return { metadata: {}, status: 'Failure', reason, message };
}

/** The exit code a Status carries: 0 on success, the ExitCode cause, else undefined (a failure of the session itself). */
export function exitCodeOf(status: ExitStatus): number | undefined {
  if (status.status === 'Success') return 0;
  const cause = status.details?.causes.find((c) => c.reason === 'ExitCode');
  const code = cause ? Number(cause.message) : NaN;
  return Number.isInteger(code) ? code : undefined;
}

export function bearerProtocol(token: string): string {
  const binary = String.fromCharCode(...new TextEncoder().encode(token));
  return BEARER_PROTOCOL_PREFIX + btoa(binary).replace(/\+/g, '-').replace(/\//g, '_').replace(/=+$/, '');
}

/** The token in a bearer subprotocol, or undefined when none is offered (or it does not decode). */
export function tokenFromProtocols(protocols: readonly string[]): string | undefined {
  const offered = protocols.find((p) => p.startsWith(BEARER_PROTOCOL_PREFIX));
  if (!offered) return undefined;
  const encoded = offered.slice(BEARER_PROTOCOL_PREFIX.length);
  if (!/^[A-Za-z0-9_-]+$/.test(encoded)) return undefined;
  let token: string;
  try {
    token = atob(encoded.replace(/-/g, '+').replace(/_/g, '/'));
  } catch {
    return undefined;
  }
  return /^[\x21-\x7e]+$/.test(token) ? token : undefined;
}
