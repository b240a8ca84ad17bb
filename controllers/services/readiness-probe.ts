// Readiness probes run from the host: an HTTP GET or a TCP connect to the container's address on the
// host's Docker network, through the kept SSH session. Nothing has to exist inside the image.
import type { Duplex } from 'node:stream';
import type { ReadinessProbe } from '../../core/deploy/container-spec.js';
import type { DockerContainerInspect } from '../../core/deploy/docker-types.js';

export interface ProbeResult {
  ok: boolean;
  detail: string;
}

/** One probe attempt against `address`. Never throws: a failure is a result. */
export async function probeOnce(
  probe: ReadinessProbe,
  address: string,
  connect: (address: string, port: number, signal?: AbortSignal) => Promise<Duplex>,
  signal?: AbortSignal,
): Promise<ProbeResult> {
  const port = probe.http?.port ?? probe.tcp?.port;
  if (port === undefined) return { ok: false, detail: 'the probe names no port' };
  const timeout = AbortSignal.timeout(probe.timeoutSeconds * 1000);
  const combined = signal ? AbortSignal.any([signal, timeout]) : timeout;
  let stream: Duplex | undefined;
  try {
    stream = await connect(address, port, combined);
    if (!probe.http) return { ok: true, detail: `tcp ${address}:${port} accepted the connection` };
    const status = await httpStatus(stream, probe.http.path, address, combined);
    const ok = status >= 200 && status < 400;
    return { ok, detail: `GET http://${address}:${port}${probe.http.path} answered ${status}` };
  } catch (err) {
    const why = combined.aborted && timeout.aborted ? `no answer within ${probe.timeoutSeconds}s` : (err as Error).message;
    return { ok: false, detail: `${probe.http ? 'GET' : 'tcp'} ${address}:${port}: ${why}` };
  } finally {
    stream?.destroy();
  }
}

/** Sends a minimal HTTP/1.0 GET and reads the status code from the first line. */
function httpStatus(stream: Duplex, path: string, host: string, signal: AbortSignal): Promise<number> {
  return new Promise((resolve, reject) => {
    let head = '';
    const onAbort = () => reject(new Error('aborted'));
    signal.addEventListener('abort', onAbort, { once: true });
    const done = (fn: () => void) => {
      signal.removeEventListener('abort', onAbort);
      fn();
    };
    stream.on('data', (chunk: Buffer) => {
      head += chunk.toString('latin1');
      const line = head.split('\r\n')[0];
      if (head.includes('\r\n')) {
        const m = line.match(/^HTTP\/\d(?:\.\d)?\s+(\d{3})/);
        done(() => (m ? resolve(Number(m[1])) : reject(new Error(`not an HTTP answer: ${JSON.stringify(line.slice(0, 80))}`))));
      }
    });
    stream.on('error', (err) => done(() => reject(err)));
    stream.on('close', () => done(() => reject(new Error('connection closed before an answer'))));
    stream.write(`GET ${path} HTTP/1.0\r\nHost: ${host}\r\nUser-Agent: holdfast-probe\r\nConnection: close\r\n\r\n`);
  });
}

/** The address a probe reaches a container at: its first IP on a Docker network. */
export function containerAddress(inspect: DockerContainerInspect): string | undefined {
  const nets = Object.values(inspect.NetworkSettings?.Networks ?? {}) as Array<{ IPAddress?: string } | null>;
  return nets.map((n) => n?.IPAddress).find((ip): ip is string => !!ip);
}
