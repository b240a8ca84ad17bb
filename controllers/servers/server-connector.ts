// Turns a Server resource into its kept connection: resolves the SSHKey (opened from its sealed
// value only here, on the way to ssh2), the pinned host key (the manifest's, else the one recorded on
// first contact), and hands out the HostConnection from the registry. The controllers read Servers
// and SSHKeys through it, from a cache the store's change events keep current.
import { HoldfastError } from '../../core/errors.js';
import type { Server } from '../../core/schema/types.generated.js';
import { DEFAULT_DOCKER_SOCKET, type HostConnection, type HostConnections } from '../../hosts/index.js';
import type { Sealer } from '../../security/sealing.js';
import { openSealedValue } from '../../security/secret-values.js';
import type { ObjectCache } from '../../store/object-cache.js';
import type { ResourceStore } from '../../store/resource-store.js';

const OPENED_KEYS_KEPT = 1000;

export class ServerConnector {
  /** Each SSHKey's opened private key, by the key's uid, with the resourceVersion it was opened at. */
  private readonly openedKeys = new Map<string, { resourceVersion: string; privateKey: string }>();

  constructor(
    private readonly store: ResourceStore,
    private readonly sealer: Sealer,
    readonly hosts: HostConnections,
    /** Holds Servers and SSHKeys. */
    private readonly objects: ObjectCache,
  ) {}

  /** The Server, from the cache; undefined when there is none. */
  findServer(name: string): Promise<Server | undefined> {
    return this.objects.get('Server', undefined, name);
  }

  async server(name: string): Promise<Server> {
    const server = await this.findServer(name);
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
    const privateKey = await this.privateKey(spec.sshKeyRef.name);
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

  /**
   * The SSHKey's private key, opened again only when the key changed: every rollout and every drift
   * observation asks for its server's connection, and opening is a read of the sealed value and a
   * decryption each time.
   */
  private async privateKey(name: string): Promise<string> {
    const key = await this.objects.get('SSHKey', undefined, name);
    const uid = key?.metadata.uid;
    const resourceVersion = key?.metadata.resourceVersion;
    const opened = uid ? this.openedKeys.get(uid) : undefined;
    if (opened && opened.resourceVersion === resourceVersion) return opened.privateKey;
    // A missing key or value answers with openSealedValue's own NotFound.
    const privateKey = await openSealedValue(this.store, this.sealer, 'SSHKey', undefined, name, 'privateKey');
    if (uid && resourceVersion) {
      // Keys deleted stay here until this bound: a safeguard, there are a handful of keys.
      if (this.openedKeys.size >= OPENED_KEYS_KEPT) this.openedKeys.clear();
      this.openedKeys.set(uid, { resourceVersion, privateKey });
    }
    return privateKey;
  }
}
