// Compose port syntaxes: `ports` short form `[HOST_IP:][HOST_PORT:]CONTAINER_PORT[/PROTOCOL]` with
// ranges and bracketed IPv6 addresses, the long form, and `expose`.

import type { ExposedPortSpec, PortProtocol, PortSpec } from '../deploy/container-spec.js';
import type { ComposePortLong } from './types.js';

export class PortSyntaxError extends Error {}

const PROTOCOLS: readonly PortProtocol[] = ['tcp', 'udp', 'sctp'];

interface Range {
  start: number;
  end: number;
}

function parseRange(text: string, what: string): Range {
  const match = /^(\d+)(?:-(\d+))?$/.exec(text.trim());
  if (!match) throw new PortSyntaxError(`${what} ${JSON.stringify(text)} is not a port or a port range`);
  const start = Number(match[1]);
  const end = match[2] === undefined ? start : Number(match[2]);
  for (const port of [start, end]) {
    if (port < 1 || port > 65535) throw new PortSyntaxError(`${what} ${port} is outside 1-65535`);
  }
  if (end < start) throw new PortSyntaxError(`${what} range ${JSON.stringify(text)} ends before it starts`);
  return { start, end };
}

function parseProtocol(text: string | undefined): PortProtocol {
  const protocol = (text ?? 'tcp').toLowerCase();
  if (!PROTOCOLS.includes(protocol as PortProtocol)) throw new PortSyntaxError(`protocol ${JSON.stringify(text)} is not tcp, udp or sctp`);
  return protocol as PortProtocol;
}

/** Any-address forms mean "every address": leave the host IP out. */
export function normaliseHostIP(ip: string | undefined): string | undefined {
  if (ip === undefined) return undefined;
  const bare = ip.trim().replace(/^\[(.*)\]$/, '$1');
  return bare === '' || bare === '0.0.0.0' || bare === '::' ? undefined : bare;
}

function expand(container: Range, host: Range | undefined, hostIP: string | undefined, protocol: PortProtocol): PortSpec[] {
  const count = container.end - container.start + 1;
  if (host && host.end - host.start + 1 !== count) {
    throw new PortSyntaxError(
      host.start === host.end
        ? `one host port cannot publish the container port range ${container.start}-${container.end}`
        : `host port range ${host.start}-${host.end} and container port range ${container.start}-${container.end} differ in length (Holdfast publishes fixed ports, not a port picked from a range)`,
    );
  }
  const out: PortSpec[] = [];
  for (let i = 0; i < count; i++) {
    const port: PortSpec = { containerPort: container.start + i, protocol };
    if (host) port.hostPort = host.start + i;
    const ip = normaliseHostIP(hostIP);
    if (ip) port.hostIP = ip;
    out.push(port);
  }
  return out;
}

/** Short syntax: `3000`, `8000:8000`, `127.0.0.1:8001:8001`, `127.0.0.1::5000`, `[::1]:6001:6001/udp`. */
export function parseShortPort(entry: string | number): PortSpec[] {
  const text = String(entry).trim();
  const slash = text.lastIndexOf('/');
  const protocol = parseProtocol(slash >= 0 ? text.slice(slash + 1) : undefined);
  const spec = slash >= 0 ? text.slice(0, slash) : text;
  let hostIP: string | undefined;
  let rest = spec;
  if (rest.startsWith('[')) {
    const close = rest.indexOf(']');
    if (close < 0 || rest[close + 1] !== ':') throw new PortSyntaxError(`${JSON.stringify(text)} has an unterminated IPv6 address`);
    hostIP = rest.slice(1, close);
    rest = rest.slice(close + 2);
  }
  const parts = rest.split(':');
  let hostPart: string | undefined;
  let containerPart: string;
  if (hostIP !== undefined) {
    if (parts.length !== 2) throw new PortSyntaxError(`${JSON.stringify(text)} is not [IP]:HOST_PORT:CONTAINER_PORT`);
    [hostPart, containerPart] = parts;
  } else if (parts.length === 1) {
    containerPart = parts[0];
  } else if (parts.length === 2) {
    [hostPart, containerPart] = parts;
  } else {
    // IP:HOST:CONTAINER, where an unbracketed IPv6 address holds colons itself.
    containerPart = parts[parts.length - 1];
    hostPart = parts[parts.length - 2];
    hostIP = parts.slice(0, -2).join(':');
  }
  const container = parseRange(containerPart, 'container port');
  const host = hostPart === undefined || hostPart === '' ? undefined : parseRange(hostPart, 'host port');
  return expand(container, host, hostIP, protocol);
}

/** Long syntax: `{target, published, host_ip, protocol, mode}`. */
export function parseLongPort(entry: ComposePortLong): PortSpec[] {
  if (entry.target === undefined) throw new PortSyntaxError('target is required');
  const container = parseRange(String(entry.target), 'target');
  const published = entry.published === undefined || entry.published === '' ? undefined : parseRange(String(entry.published), 'published');
  return expand(container, published, entry.host_ip, parseProtocol(entry.protocol));
}

/** `expose`: `3000`, `3000/udp`, `3000-3005`. */
export function parseExpose(entry: string | number): ExposedPortSpec[] {
  const text = String(entry).trim();
  const slash = text.lastIndexOf('/');
  const protocol = parseProtocol(slash >= 0 ? text.slice(slash + 1) : undefined);
  const range = parseRange(slash >= 0 ? text.slice(0, slash) : text, 'port');
  const out: ExposedPortSpec[] = [];
  for (let port = range.start; port <= range.end; port++) out.push({ port, protocol });
  return out;
}
