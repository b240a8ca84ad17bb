// A container start that fails because its host port is taken: Docker says so in one of a few
// sentences, depending on who holds the port (another container's allocation, or a process on the
// host that the userland proxy cannot bind past). Pure: it reads the Engine's message.

export interface PortConflict {
  port: number;
  /** Known only when Docker names it (a host process); another container's allocation does not. */
  protocol?: 'tcp' | 'udp';
  /** The host address the port was published on, e.g. 0.0.0.0 or [::]. */
  hostIp: string;
}

const ALLOCATED = /Bind for (\S+):(\d+) failed: port is already allocated/;
const IN_USE = /listen (tcp|udp)[46]? (\S+):(\d+): bind: address already in use/;

/** The port a failed start could not publish, or undefined when the failure is something else. */
export function portConflictOf(message: string): PortConflict | undefined {
  const inUse = IN_USE.exec(message);
  if (inUse) return { protocol: inUse[1] as 'tcp' | 'udp', hostIp: inUse[2], port: Number(inUse[3]) };
  const allocated = ALLOCATED.exec(message);
  if (allocated) return { hostIp: allocated[1], port: Number(allocated[2]) };
  return undefined;
}
