// What the service controller needs of one server: its Docker client over the kept session, a
// snapshot of what it runs (from the live-state cache), a TCP stream to an address as the host sees
// it (for readiness probes), and a way to put files on it. Implemented over hosts/ in production.
import type { Duplex } from 'node:stream';
import type { HostSnapshot } from '../../core/plan/live-state.js';
import type { DockerClient } from '../../hosts/docker-client.js';

export interface HostAccess {
  readonly server: string;
  readonly docker: DockerClient;
  /**
   * A view of the host's containers, images, networks and volumes; the containers named in
   * `fresh` are read from the engine now rather than from the event-fed cache.
   */
  snapshot(signal?: AbortSignal, opts?: { full?: boolean; fresh?: readonly string[] }): Promise<HostSnapshot>;
  /** Opens a TCP connection to `address:port` from the host itself (an SSH direct-tcpip channel). */
  connectFromHost(address: string, port: number, signal?: AbortSignal): Promise<Duplex>;
  /** Writes `content` to `path` on the host (mode 0600, parent directories created). */
  writeFile(path: string, content: Buffer, signal?: AbortSignal): Promise<void>;
}
