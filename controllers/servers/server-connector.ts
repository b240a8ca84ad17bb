// Turns a Server resource into its kept connection: resolves the SSHKey (opened from its sealed
// value only here, on the way to ssh2), the pinned host key (the manifest's, else the one recorded on
// first contact), and hands out the HostConnection from the registry.
import { HoldfastError } from '../../core/errors.js';
import type { Server } from '../../core/schema/types.generated.js';
import { DEFAULT_DOCKER_SOCKET, type HostConnection, type HostConnections } from '../../hosts/index.js';
import type { Sealer } from '../../security/sealing.js';
import { openSealedValue } from '../../security/secret-values.js';
import type { ResourceStore } from '../../store/resource-store.js';

export class ServerConnector {
  constructor(
    private readonly store: ResourceStore,
    private readonly sealer: Sealer,
    readonly hosts: HostConnections,
  ) {}

  async server(name: string): Promise<Server> {
    const server = await this.store.get('Server', undefined, name);
    if (!server) throw new HoldfastError('NotFound', `server "${name}" not found`, { details: { kind: 'Server', name } });
    return server;
  }

  /** The connection for a Server; throws a user-facing error when it cannot even be configured. */
  async connectionFor(server: Server): Promise<HostConnection> {
    const spec = server.spec!;
    const status = server.status ?? {};
    const name = server.metadata.name;
    if (spec.kind === 'local') {
      return this.hosts.get({ name, kind: 'local', dockerSocket: spec.dockerSocket ?? DEFAULT_DOCKER_SOCKET });
    }
    if (!spec.sshKeyRef?.name) {
      throw new HoldfastError('BadRequest', `server "${name}" has no SSH key attached (spec.sshKeyRef)`, { details: { kind: 'Server', name } });
    }
    const privateKey = await openSealedValue(this.store, this.sealer, 'SSHKey', undefined, spec.sshKeyRef.name, 'privateKey');
    return this.hosts.get({
      name,
      kind: spec.kind,
      host: spec.host,
      port: spec.port,
      user: spec.user,
      privateKey,
      hostKeyFingerprint: spec.hostKeyFingerprint ?? status.hostKeyFingerprint,
      dockerSocket: spec.dockerSocket ?? DEFAULT_DOCKER_SOCKET,
    });
  }
}
