// The Kubernetes-style resource model shared by every layer. Pure: no I/O.

export const GROUP = 'holdfast.dev';
export const VERSION = 'v1alpha1';
export const API_VERSION = `${GROUP}/${VERSION}`;

export interface OwnerReference {
  apiVersion: string;
  kind: string;
  name: string;
  uid: string;
}

export interface ObjectMeta {
  name: string;
  namespace?: string;
  labels?: Record<string, string>;
  annotations?: Record<string, string>;
  uid?: string;
  generation?: number;
  resourceVersion?: string;
  creationTimestamp?: string;
  deletionTimestamp?: string;
  finalizers?: string[];
  ownerReferences?: OwnerReference[];
}

export type ConditionStatus = 'True' | 'False' | 'Unknown';

export interface Condition {
  type: string;
  status: ConditionStatus;
  reason: string;
  message: string;
  lastTransitionTime: string;
  observedGeneration?: number;
}

export interface ResourceStatus {
  observedGeneration?: number;
  conditions?: Condition[];
  [field: string]: unknown;
}

export interface Resource<Spec = Record<string, unknown>, Status extends ResourceStatus = ResourceStatus> {
  apiVersion: string;
  kind: string;
  metadata: ObjectMeta;
  spec?: Spec;
  status?: Status;
  [field: string]: unknown;
}

/** An object of any kind, typed (a `Service`) or not: what code that treats every kind alike accepts. */
export type AnyResource = Resource<object>;

export interface KindInfo {
  kind: string;
  plural: string;
  singular: string;
  shortNames: string[];
  namespaced: boolean;
  /** Kinds whose values are write-only (Secret data, SSHKey private key): reads never return them. */
  writeOnly: boolean;
  /** Kinds whose body lives at the top level (Event), not under spec. */
  hasSpec: boolean;
}

export const KINDS: readonly KindInfo[] = [
  { kind: 'Project', plural: 'projects', singular: 'project', shortNames: ['proj'], namespaced: false, writeOnly: false, hasSpec: true },
  { kind: 'Server', plural: 'servers', singular: 'server', shortNames: ['srv'], namespaced: false, writeOnly: false, hasSpec: true },
  { kind: 'SSHKey', plural: 'sshkeys', singular: 'sshkey', shortNames: ['sk'], namespaced: false, writeOnly: true, hasSpec: true },
  { kind: 'Service', plural: 'services', singular: 'service', shortNames: ['svc'], namespaced: true, writeOnly: false, hasSpec: true },
  { kind: 'BackupPolicy', plural: 'backuppolicies', singular: 'backuppolicy', shortNames: ['bp'], namespaced: true, writeOnly: false, hasSpec: true },
  { kind: 'GitRepository', plural: 'gitrepositories', singular: 'gitrepository', shortNames: ['gitrepo'], namespaced: true, writeOnly: false, hasSpec: true },
  { kind: 'ApplySet', plural: 'applysets', singular: 'applyset', shortNames: [], namespaced: true, writeOnly: false, hasSpec: true },
  { kind: 'Secret', plural: 'secrets', singular: 'secret', shortNames: [], namespaced: true, writeOnly: true, hasSpec: true },
  { kind: 'Event', plural: 'events', singular: 'event', shortNames: ['ev'], namespaced: true, writeOnly: false, hasSpec: false },
  { kind: 'Role', plural: 'roles', singular: 'role', shortNames: [], namespaced: false, writeOnly: false, hasSpec: true },
  { kind: 'RoleBinding', plural: 'rolebindings', singular: 'rolebinding', shortNames: [], namespaced: true, writeOnly: false, hasSpec: true },
  { kind: 'ClusterRoleBinding', plural: 'clusterrolebindings', singular: 'clusterrolebinding', shortNames: [], namespaced: false, writeOnly: false, hasSpec: true },
  { kind: 'ServiceAccount', plural: 'serviceaccounts', singular: 'serviceaccount', shortNames: ['sa'], namespaced: true, writeOnly: false, hasSpec: true },
  { kind: 'Lease', plural: 'leases', singular: 'lease', shortNames: [], namespaced: false, writeOnly: false, hasSpec: true },
];

const byAnyName = new Map<string, KindInfo>();
for (const k of KINDS) {
  for (const n of [k.kind.toLowerCase(), k.plural, k.singular, ...k.shortNames]) byAnyName.set(n, k);
}

/** Resolves `services`, `service`, `svc`, `Service` or `service.holdfast.dev` to its kind. */
export function lookupKind(name: string): KindInfo | undefined {
  const bare = name.toLowerCase().replace(new RegExp(`\\.${GROUP.replace('.', '\\.')}$`), '');
  return byAnyName.get(bare);
}

export function kindByPlural(plural: string): KindInfo | undefined {
  return KINDS.find((k) => k.plural === plural);
}

export function kindInfo(kind: string): KindInfo | undefined {
  return KINDS.find((k) => k.kind === kind);
}

/** `namespace/name` for namespaced objects, `name` for cluster-scoped ones: the work-queue key. */
export function objectKey(meta: Pick<ObjectMeta, 'name' | 'namespace'>): string {
  return meta.namespace ? `${meta.namespace}/${meta.name}` : meta.name;
}

/** DNS-1123 label: what Kubernetes requires of most object names. */
export const DNS1123_LABEL = /^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/;
export const DNS1123_LABEL_MAX = 63;

export function findCondition(status: ResourceStatus | undefined, type: string): Condition | undefined {
  return status?.conditions?.find((c) => c.type === type);
}

/**
 * Returns conditions with `next` set; lastTransitionTime changes only when the status flips,
 * as Kubernetes' meta.SetStatusCondition does.
 */
export function setCondition(
  conditions: Condition[] | undefined,
  next: Omit<Condition, 'lastTransitionTime'>,
  now: Date,
): Condition[] {
  const list = [...(conditions ?? [])];
  const i = list.findIndex((c) => c.type === next.type);
  const prev = i >= 0 ? list[i] : undefined;
  const lastTransitionTime = prev && prev.status === next.status ? prev.lastTransitionTime : now.toISOString();
  const cond: Condition = { ...next, lastTransitionTime };
  if (i >= 0) list[i] = cond;
  else list.push(cond);
  return list;
}
