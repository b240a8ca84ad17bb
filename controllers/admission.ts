// Admission: what happens to an incoming object between the HTTP body and the store. Identity checks
// against the URL, schema validation with defaults (the CRD schemas), the namespace's Project, and
// the write-only kinds, whose values are sealed here and never stored or returned in clear. A Service
// is rendered exactly as its rollout would render it (compose loading and mapping included), so a
// spec the controller would refuse is refused here, before anything is stored.
import ssh2 from 'ssh2';
import { BUILT_IN_ROLE_NAMES, BUILT_IN_ROLES } from '../core/authz/rbac.js';
import { HoldfastError, ValidationError, type FieldCause } from '../core/errors.js';
import { renderDeclaredService } from '../core/deploy/render.js';
import { API_VERSION, DNS1123_LABEL, type KindInfo, type Resource } from '../core/resource.js';
import { consistencyProblems } from '../core/backup/consistency.js';
import { destinationProblems } from '../core/backup/destinations.js';
import type { BackupPolicySpec, Project, RoleBindingSpec, Service } from '../core/schema/types.generated.js';
import { validateObject } from '../core/schema/validate.js';
import { sealedValueAad, type Sealer } from '../security/sealing.js';
import type { ResourceStore, SealedWrite } from '../store/resource-store.js';
import { sshFingerprint } from '../core/ssh-fingerprint.js';

export interface Admitted {
  object: Resource;
  sealed?: SealedWrite[];
  /** Status the server derives at write time (SSHKey fingerprint, Secret key names). */
  status?: Resource['status'];
  /** Sent back as Kubernetes `Warning` headers: the write is accepted, but something it names is missing. */
  warnings?: string[];
}

export interface AdmissionTarget {
  info: KindInfo;
  namespace?: string;
  /** The name in the URL; absent on create. */
  name?: string;
  /** Keep stored write-only values the body does not name (PATCH); otherwise the body's values replace them all. */
  mergeWriteOnly?: boolean;
  /**
   * A dry run: write-only values are not sealed (nothing learns them). `compareWriteOnly: false` (a
   * caller that cannot write them) also leaves them unhashed, see UNCOMPARED.
   */
  dryRun?: boolean;
  compareWriteOnly?: boolean;
  /** Where the objects a write refers to are read (default the store; a set apply adds its own). */
  reader?: AdmissionReader;
}

/** What admission reads besides the object: its Project, the Server, Secrets and Role it names, sealed values. */
export type AdmissionReader = Pick<ResourceStore, 'get' | 'list' | 'sealedValues'>;

/**
 * What a dry run by a caller who cannot write a kind's values records in place of each given value's
 * hash: it must not learn whether a guessed value equals the stored one (by the hash, the generation
 * or a diff), so every value it names counts as changed.
 */
export const UNCOMPARED = 'not-compared';

export class Admission {
  constructor(
    private readonly store: ResourceStore,
    private readonly sealer: Sealer,
    private readonly clock: () => Date = () => new Date(),
  ) {}

  /** Checks and completes an object for create or replace. `current` is the stored object on replace. */
  async admit(body: unknown, target: AdmissionTarget, current?: Resource): Promise<Admitted> {
    const obj = matchIdentity(body, target);
    const reader = target.reader ?? this.store;
    const project = target.info.namespaced ? await this.requireProject(reader, obj.metadata.namespace!, !current) : undefined;
    const { object } = validateObject(obj);
    // Status is only written through the status subresource: keep what is stored.
    delete object.status;
    if (current?.status) object.status = current.status;
    switch (object.kind) {
      case 'Secret':
        return this.admitSecret(object, current, target.mergeWriteOnly ? await reader.sealedValues(current?.metadata.uid ?? '') : [], writeOnlyMode(target));
      case 'SSHKey':
        return this.admitSshKey(object, current, writeOnlyMode(target));
      case 'Service':
        return this.admitService(reader, object, project!);
      case 'Role':
        return admitRole(object);
      case 'BackupPolicy':
        return admitBackupPolicy(object);
      case 'RoleBinding':
      case 'ClusterRoleBinding':
        await this.requireRole(reader, object);
        return { object };
      default:
        return { object };
    }
  }

  /** A binding to a role that does not exist would grant nothing and hide the mistake: refused. */
  private async requireRole(reader: AdmissionReader, object: Resource) {
    const spec = object.spec as unknown as RoleBindingSpec;
    const causes: FieldCause[] = [];
    const name = spec.roleRef.name;
    if (!BUILT_IN_ROLES[name] && !(await reader.get('Role', undefined, name))) {
      causes.push({
        field: 'spec.roleRef.name',
        message: `role "${name}" does not exist: use a built-in role (${BUILT_IN_ROLE_NAMES.join(', ')}) or create Role "${name}" first`,
        reason: 'FieldValueNotFound',
      });
    }
    if (object.kind === 'ClusterRoleBinding') {
      spec.subjects.forEach((s, i) => {
        if (s.kind === 'ServiceAccount' && !s.namespace) {
          causes.push({ field: `spec.subjects[${i}].namespace`, message: 'a ServiceAccount subject of a ClusterRoleBinding needs its project', reason: 'FieldValueRequired' });
        }
      });
    }
    if (causes.length) {
      throw new HoldfastError('Invalid', `${object.kind} "${object.metadata.name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}`, {
        causes,
        details: { kind: object.kind, name: object.metadata.name },
      });
    }
  }

  private async requireProject(reader: AdmissionReader, namespace: string, creating: boolean) {
    const project = await reader.get('Project', undefined, namespace);
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
    return project;
  }

  /**
   * A Service must name an environment its Project declares and render as its rollout will. The
   * Server and Secrets it references may arrive later (a repository applies in any order): their
   * absence is a warning, not a refusal.
   */
  private async admitService(reader: AdmissionReader, object: Resource, project: Project): Promise<Admitted> {
    const service = object as unknown as Service;
    const where = { kind: 'Service', name: service.metadata.name };
    const environment = service.spec?.environment;
    const declared = (project.spec?.environments ?? []).map((e) => e.name);
    if (environment !== undefined && !declared.includes(environment)) {
      const message = `environment "${environment}" is not declared by Project ${project.metadata.name} (it declares ${declared.join(', ') || 'none'})`;
      throw new HoldfastError('Invalid', `Service ${service.metadata.namespace}/${service.metadata.name} is invalid: spec.environment: ${message}`, {
        causes: [{ field: 'spec.environment', message, reason: 'FieldValueNotFound' }],
        details: where,
      });
    }
    const warnings: string[] = [];
    const server = service.spec?.server;
    const target = server ? await reader.get('Server', undefined, server) : undefined;
    if (server && !target) warnings.push(`server ${server} does not exist yet`);
    const secrets = await reader.list('Secret', { namespace: service.metadata.namespace });
    const secretKeys = new Map(secrets.items.map((s) => [s.metadata.name, Object.keys((s.spec as { valueHashes?: Record<string, string> })?.valueHashes ?? {})]));
    try {
      renderDeclaredService(service, {
        swarm: (target?.spec as { kind?: string } | undefined)?.kind === 'docker-swarm-manager',
        resolveSecret: (name, key) => {
          if (!secretKeys.get(name)?.includes(key)) warnings.push(secretKeys.has(name) ? `secret ${name} has no key ${key} yet` : `secret ${name} does not exist yet`);
          return { hash: '' };
        },
      });
    } catch (err) {
      if (!(err instanceof ValidationError)) throw err;
      throw new HoldfastError('Invalid', err.message, { causes: err.causes, details: where });
    }
    return { object, warnings: [...new Set(warnings)] };
  }

  /**
   * Secret values (`stringData`, and base64 `data`) are sealed; the stored spec keeps only their
   * keyed hashes so that a changed value moves the generation and an unchanged one does not.
   * `kept` are stored values to keep unless the body names their key (a merge).
   */
  private admitSecret(object: Resource, current: Resource | undefined, kept: SealedWrite[], mode: WriteOnlyMode): Admitted {
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
      const valueHash = mode === 'uncompared' ? UNCOMPARED : this.sealer.hash(value);
      valueHashes[key] = valueHash;
      if (mode === 'seal') sealed.push({ key, ciphertext: this.sealer.seal(value, sealedAad(object, key, uidHint)), valueHash });
    }
    // A kept ciphertext stays valid (the row identity it is bound to does not change); one sealed
    // under an older key is sealed again, so no write can put back what a key rotation moved.
    for (const old of kept) {
      if (values.has(old.key)) continue;
      valueHashes[old.key] = old.valueHash;
      if (mode !== 'seal') continue;
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
    return { object, sealed: mode === 'seal' ? sealed : undefined, status };
  }

  private admitSshKey(object: Resource, current: Resource | undefined, mode: WriteOnlyMode): Admitted {
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
    const fingerprint = sshFingerprint(publicBlob);
    const valueHash = mode === 'uncompared' ? UNCOMPARED : this.sealer.hash(spec.privateKey);
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
      sealed: mode !== 'seal' ? undefined : [{ key: 'privateKey', ciphertext: this.sealer.seal(spec.privateKey, sealedAad(object, 'privateKey', current?.metadata.uid)), valueHash }],
    };
  }
}

/** seal: a write; hash: a dry run that may compare values; uncompared: a dry run that may not. */
type WriteOnlyMode = 'seal' | 'hash' | 'uncompared';

function writeOnlyMode(target: AdmissionTarget): WriteOnlyMode {
  if (!target.dryRun) return 'seal';
  return target.compareWriteOnly === false ? 'uncompared' : 'hash';
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

function admitBackupPolicy(object: Resource): Admitted {
  const spec = object.spec as unknown as BackupPolicySpec;
  const causes = [...destinationProblems(spec), ...consistencyProblems(spec.consistency)];
  if (causes.length) throw new ValidationError(`BackupPolicy "${object.metadata.name}" is invalid: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}`, causes, { kind: 'BackupPolicy', name: object.metadata.name });
  return { object };
}

/** The built-in roles' names are taken: a Role of the same name could never be bound. */
function admitRole(object: Resource): Admitted {
  const { name } = object.metadata;
  if (BUILT_IN_ROLES[name]) {
    throw new HoldfastError('Invalid', `Role "${name}" is invalid: "${name}" is a built-in role; choose another name`, {
      causes: [{ field: 'metadata.name', message: `"${name}" is a built-in role (${BUILT_IN_ROLE_NAMES.join(', ')})`, reason: 'FieldValueDuplicate' }],
      details: { kind: 'Role', name },
    });
  }
  return { object };
}
