// Admission: what happens to an incoming object between the HTTP body and the store. Identity checks
// against the URL, schema validation with defaults (the CRD schemas), the namespace's Project, and
// the write-only kinds, whose values are sealed here and never stored or returned in clear.
import { createHash } from 'node:crypto';
import ssh2 from 'ssh2';
import { HoldfastError, ValidationError } from '../core/errors.js';
import { API_VERSION, DNS1123_LABEL, type KindInfo, type Resource } from '../core/resource.js';
import { validateObject } from '../core/schema/validate.js';
import { sealedValueAad, type Sealer } from '../security/sealing.js';
import type { ResourceStore, SealedWrite } from '../store/resource-store.js';

export interface Admitted {
  object: Resource;
  sealed?: SealedWrite[];
  /** Status the server derives at write time (SSHKey fingerprint, Secret key names). */
  status?: Resource['status'];
}

export interface AdmissionTarget {
  info: KindInfo;
  namespace?: string;
  /** The name in the URL; absent on create. */
  name?: string;
  /** Keep stored write-only values the body does not name (PATCH); otherwise the body's values replace them all. */
  mergeWriteOnly?: boolean;
}

export class Admission {
  constructor(
    private readonly store: ResourceStore,
    private readonly sealer: Sealer,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Checks and completes an object for create or replace. `current` is the stored object on replace. */
  async admit(body: unknown, target: AdmissionTarget, current?: Resource): Promise<Admitted> {
    const obj = matchIdentity(body, target);
    if (target.info.namespaced) await this.requireProject(obj.metadata.namespace!, !current);
    const { object } = validateObject(obj);
    // Status is only written through the status subresource: keep what is stored.
    delete object.status;
    if (current?.status) object.status = current.status;
    switch (object.kind) {
      case 'Secret':
        return this.admitSecret(object, current, target.mergeWriteOnly ? await this.store.sealedValues(current?.metadata.uid ?? '') : []);
      case 'SSHKey':
        return this.admitSshKey(object, current);
      default:
        return { object };
    }
  }

  private async requireProject(namespace: string, creating: boolean) {
    const project = await this.store.get('Project', undefined, namespace);
    if (!project) {
      throw new HoldfastError(
        'NotFound',
        `namespace "${namespace}" not found: a namespace is a Project; create Project "${namespace}" first`,
        { details: { kind: 'Project', name: namespace } },
      );
    }
    if (creating && project.metadata.deletionTimestamp) {
      throw new HoldfastError('Forbidden', `project "${namespace}" is being deleted: nothing new can be created in it`, { details: { kind: 'Project', name: namespace } });
    }
  }

  /**
   * Secret values (`stringData`, and base64 `data`) are sealed; the stored spec keeps only their
   * keyed hashes so that a changed value moves the generation and an unchanged one does not.
   * `kept` are stored values to keep unless the body names their key (a merge).
   */
  private admitSecret(object: Resource, current: Resource | undefined, kept: SealedWrite[]): Admitted {
    const spec = (object.spec ?? {}) as { type?: string; data?: Record<string, string>; stringData?: Record<string, string> };
    if (current && spec.data === undefined && spec.stringData === undefined) {
      // A write that names no values (a label patch, say) keeps the sealed ones.
      const { valueHashes } = (current.spec ?? {}) as { valueHashes?: Record<string, string> };
      object.spec = { ...(spec.type ? { type: spec.type } : {}), valueHashes: valueHashes ?? {} };
      return { object, status: current.status };
    }
    const values = new Map<string, string>();
    for (const [k, v] of Object.entries(spec.data ?? {})) values.set(k, Buffer.from(v, 'base64').toString('utf8'));
    for (const [k, v] of Object.entries(spec.stringData ?? {})) values.set(k, v);
    const uidHint = current?.metadata.uid;
    const sealed: SealedWrite[] = [];
    const valueHashes: Record<string, string> = {};
    for (const [key, value] of values) {
      const valueHash = this.sealer.hash(value);
      valueHashes[key] = valueHash;
      sealed.push({ key, ciphertext: this.sealer.seal(value, sealedAad(object, key, uidHint)), valueHash });
    }
    // A kept ciphertext stays valid (the row identity it is bound to does not change); one sealed
    // under an older key is sealed again, so no write can put back what a key rotation moved.
    for (const old of kept) {
      if (values.has(old.key)) continue;
      valueHashes[old.key] = old.valueHash;
      if (this.sealer.keyIdOf(old.ciphertext) === this.sealer.activeKeyId) sealed.push(old);
      else {
        const aad = sealedAad(object, old.key, uidHint);
        sealed.push({ ...old, ciphertext: this.sealer.seal(this.sealer.open(old.ciphertext, aad), aad) });
      }
    }
    sealed.sort((a, b) => a.key.localeCompare(b.key));
    const sortedHashes = Object.fromEntries(Object.entries(valueHashes).sort(([a], [b]) => a.localeCompare(b)));
    object.spec = { ...(spec.type ? { type: spec.type } : {}), valueHashes: sortedHashes };
    const status = { ...(object.status ?? {}), keys: Object.keys(sortedHashes) };
    return { object, sealed, status };
  }

  private admitSshKey(object: Resource, current?: Resource): Admitted {
    const spec = (object.spec ?? {}) as { privateKey?: string; publicKey?: string };
    if (!spec.privateKey && current) {
      // A write that names no key (a label patch, say) keeps the sealed one.
      object.spec = { ...(current.spec ?? {}), ...(spec.publicKey ? { publicKey: spec.publicKey } : {}) };
      return { object, status: current.status };
    }
    if (!spec.privateKey) {
      throw new ValidationError('SSHKey needs spec.privateKey', [{ field: 'spec.privateKey', message: 'Required value', reason: 'FieldValueRequired' }]);
    }
    const parsed = ssh2.utils.parseKey(spec.privateKey);
    if (parsed instanceof Error || Array.isArray(parsed) || !parsed.isPrivateKey()) {
      const why = parsed instanceof Error ? parsed.message : 'not a private key';
      throw new ValidationError(`spec.privateKey is not a usable OpenSSH private key (${why}); passphrase-protected keys are not supported`, [
        { field: 'spec.privateKey', message: 'not a usable unencrypted private key', reason: 'FieldValueInvalid' },
      ]);
    }
    const publicBlob = parsed.getPublicSSH();
    const fingerprint = 'SHA256:' + createHash('sha256').update(publicBlob).digest('base64').replace(/=+$/, '');
    const valueHash = this.sealer.hash(spec.privateKey);
    const previous = current?.status as { fingerprint?: string; createdAt?: string; rotatedAt?: string } | undefined;
    const now = this.clock().toISOString();
    object.spec = {
      ...(spec.publicKey ? { publicKey: spec.publicKey } : { publicKey: `${parsed.type} ${publicBlob.toString('base64')}` }),
      privateKeyHash: valueHash,
    };
    const status = {
      ...(current?.status ?? {}),
      fingerprint,
      type: parsed.type,
      createdAt: previous?.createdAt ?? now,
      ...(previous?.fingerprint && previous.fingerprint !== fingerprint ? { rotatedAt: now } : previous?.rotatedAt ? { rotatedAt: previous.rotatedAt } : {}),
    };
    return {
      object,
      status,
      sealed: [{ key: 'privateKey', ciphertext: this.sealer.seal(spec.privateKey, sealedAad(object, 'privateKey', current?.metadata.uid)), valueHash }],
    };
  }
}

/**
 * Associated data binding a sealed value to its row. The uid is unknown before the first write, so
 * the identity is kind/namespace/name/key; a copy into another object's row does not open.
 */
export function sealedAad(object: Pick<Resource, 'kind' | 'metadata'>, key: string, _uid?: string): string {
  return sealedValueAad(object.kind, object.metadata.namespace, object.metadata.name, key);
}

/** Makes the body's apiVersion, kind, name and namespace agree with the URL, or says which differs. */
function matchIdentity(body: unknown, target: AdmissionTarget): Resource {
  if (!body || typeof body !== 'object' || Array.isArray(body)) {
    throw new HoldfastError('BadRequest', 'the request body must be a JSON object');
  }
  const obj = structuredClone(body) as Resource;
  obj.apiVersion ??= API_VERSION;
  obj.kind ??= target.info.kind;
  if (obj.kind !== target.info.kind) {
    throw new HoldfastError('BadRequest', `the body has kind "${obj.kind}" but the URL is for ${target.info.plural}`);
  }
  if (!obj.metadata || typeof obj.metadata !== 'object') obj.metadata = { name: target.name ?? '' };
  if (target.name !== undefined && obj.metadata.name && obj.metadata.name !== target.name) {
    throw new HoldfastError('BadRequest', `the name in the body ("${obj.metadata.name}") does not match the name in the URL ("${target.name}")`);
  }
  if (target.name !== undefined) obj.metadata.name ||= target.name;
  if (target.info.namespaced) {
    if (!target.namespace) throw new HoldfastError('BadRequest', `${target.info.plural} are namespaced: use /namespaces/{project}/${target.info.plural}`);
    if (obj.metadata.namespace && obj.metadata.namespace !== target.namespace) {
      throw new HoldfastError('BadRequest', `the namespace of the provided object ("${obj.metadata.namespace}") does not match the namespace sent on the request ("${target.namespace}")`);
    }
    obj.metadata.namespace = target.namespace;
    if (!DNS1123_LABEL.test(target.namespace)) throw new HoldfastError('BadRequest', `invalid namespace "${target.namespace}"`);
  } else if (obj.metadata.namespace) {
    throw new HoldfastError('BadRequest', `${target.info.plural} are cluster-scoped: metadata.namespace must not be set`);
  }
  return obj;
}

/** What a client may see of an object: write-only kinds lose their sealed-value hashes. */
export function present(obj: Resource): Resource {
  if (obj.kind === 'Secret' && obj.spec) {
    const { valueHashes: _v, ...rest } = obj.spec as Record<string, unknown>;
    return { ...obj, spec: rest };
  }
  if (obj.kind === 'SSHKey' && obj.spec) {
    const { privateKeyHash: _p, ...rest } = obj.spec as Record<string, unknown>;
    return { ...obj, spec: rest };
  }
  return obj;
}
