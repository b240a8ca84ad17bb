// The table columns `holdfast get` prints for each kind (`-o wide` adds the wide ones), the same
// figures the CRDs declare as additionalPrinterColumns.
import { findCondition, type KindInfo, type Resource } from '../core/resource.js';
import { age } from './printers.js';

export interface Column {
  header: string;
  /** Shown only with `-o wide`. */
  wide?: boolean;
  value(obj: Resource, now: Date): string;
}

type Fields = Record<string, unknown>;

const nameColumn: Column = { header: 'NAME', value: (o) => o.metadata.name };
const ageColumn: Column = { header: 'AGE', value: (o, now) => age(o.metadata.creationTimestamp, now) };

const spec = (o: Resource): Fields => (o.spec ?? {}) as Fields;
const status = (o: Resource): Fields => (o.status ?? {}) as Fields;
const text = (v: unknown): string => (v === undefined || v === null || v === '' ? '<none>' : String(v));

function conditionStatus(o: Resource, type: string): string {
  return findCondition(o.status, type)?.status ?? 'Unknown';
}

/** `2/3`: ready against desired replicas, from either `status.readyReplicas`+`replicas` or `status.replicas.{ready,desired}`. */
export function serviceReady(o: Resource): string {
  const s = status(o);
  const replicas = s.replicas;
  if (replicas && typeof replicas === 'object') {
    const r = replicas as Fields;
    if (typeof r.ready === 'number' && typeof r.desired === 'number') return `${r.ready}/${r.desired}`;
  }
  const desired = typeof replicas === 'number' ? replicas : typeof spec(o).replicas === 'number' ? (spec(o).replicas as number) : undefined;
  if (desired === undefined || !o.status) return '-';
  const ready = typeof s.readyReplicas === 'number' ? s.readyReplicas : 0;
  return `${ready}/${desired}`;
}

/** `Terminating (holdfast.dev/in-use)`: an object being deleted and the finalizers it waits for. */
export function terminating(o: Resource): string | undefined {
  if (!o.metadata.deletionTimestamp) return undefined;
  const finalizers = o.metadata.finalizers ?? [];
  return finalizers.length ? `Terminating (${finalizers.join(',')})` : 'Terminating';
}

/**
 * One word for a service's state from its conditions, most urgent first: Terminating, Degraded
 * (with its reason, e.g. `Degraded (PortInUse)`), Progressing, Drifted, Ready, NotReady; Pending
 * before the controller has written any.
 */
export function serviceStatus(o: Resource): string {
  if (o.metadata.deletionTimestamp) return 'Terminating';
  const is = (type: string) => findCondition(o.status, type)?.status === 'True';
  if (is('Degraded')) {
    const reason = findCondition(o.status, 'Degraded')?.reason;
    return reason ? `Degraded (${reason})` : 'Degraded';
  }
  if (is('Progressing')) return 'Progressing';
  if (is('Drifted')) return 'Drifted';
  if (is('Ready')) return 'Ready';
  const ready = findCondition(o.status, 'Ready');
  if (ready?.status === 'False') return 'NotReady';
  return o.status?.conditions?.length ? 'Unknown' : 'Pending';
}

/** `registry.example/web:1.4.2`, `compose:compose.yaml`, `compose:inline`, `git:https://…@main`. */
export function serviceSource(o: Resource): string {
  const source = (spec(o).source ?? {}) as Fields;
  if (typeof source.image === 'string') return source.image;
  if (source.compose && typeof source.compose === 'object') {
    const compose = source.compose as Fields;
    return typeof compose.file === 'string' ? `compose:${compose.file}` : 'compose:inline';
  }
  if (source.build && typeof source.build === 'object') {
    const git = ((source.build as Fields).git ?? {}) as Fields;
    return git.url ? `git:${git.url}${git.ref ? `@${git.ref}` : ''}` : 'build';
  }
  return '<none>';
}

function serviceDeployment(o: Resource): string {
  const current = status(o).currentDeployment as Fields | undefined;
  return text(current?.name ?? status(o).lastSuccessfulDeployment);
}

/** Round-trip time of the server's kept SSH session, when the server controller reports one. */
function serverLatency(o: Resource): string {
  const ms = status(o).latencyMs;
  return typeof ms === 'number' ? `${Math.round(ms)}ms` : '-';
}

const lastBackup = (o: Resource): Fields => (status(o).lastBackup ?? {}) as Fields;

function eventObject(o: Resource): string {
  const involved = (o.involvedObject ?? o.regarding ?? {}) as Fields;
  if (!involved.kind) return '<none>';
  return `${String(involved.kind).toLowerCase()}/${text(involved.name)}`;
}

/** When an event was last seen: lastTimestamp, else eventTime, else its creation. */
export function eventLastSeen(o: Resource): string | undefined {
  return (o.lastTimestamp ?? o.eventTime ?? o.firstTimestamp ?? o.metadata.creationTimestamp) as string | undefined;
}

const COLUMNS: Record<string, Column[]> = {
  Project: [
    nameColumn,
    {
      header: 'ENVIRONMENTS',
      value: (o) => {
        const envs = spec(o).environments;
        return Array.isArray(envs) && envs.length ? envs.map((e) => (e as Fields).name).join(',') : '<none>';
      },
    },
    { header: 'STATUS', value: (o) => terminating(o) ?? 'Active' },
    ageColumn,
  ],
  Server: [
    nameColumn,
    { header: 'KIND', value: (o) => text(spec(o).kind) },
    { header: 'HOST', value: (o) => (spec(o).kind === 'local' ? 'local' : text(spec(o).host)) },
    { header: 'READY', value: (o) => terminating(o) ?? conditionStatus(o, 'Ready') },
    { header: 'LATENCY', value: serverLatency },
    { header: 'DOCKER', value: (o) => text((status(o).docker as Fields | undefined)?.version) },
    ageColumn,
    { header: 'USER', wide: true, value: (o) => text(spec(o).user) },
    { header: 'PORT', wide: true, value: (o) => text(spec(o).port) },
    { header: 'SSH KEY', wide: true, value: (o) => text((spec(o).sshKeyRef as Fields | undefined)?.name) },
  ],
  SSHKey: [
    nameColumn,
    { header: 'TYPE', value: (o) => text(status(o).type) },
    { header: 'FINGERPRINT', value: (o) => text(status(o).fingerprint) },
    ageColumn,
  ],
  Service: [
    nameColumn,
    { header: 'ENVIRONMENT', value: (o) => text(spec(o).environment) },
    { header: 'SERVER', value: (o) => text(spec(o).server) },
    { header: 'READY', value: serviceReady },
    { header: 'STATUS', value: (o) => terminating(o) ?? serviceStatus(o) },
    ageColumn,
    { header: 'IMAGE/SOURCE', wide: true, value: serviceSource },
    { header: 'GENERATION', wide: true, value: (o) => text(o.metadata.generation) },
    { header: 'DEPLOYMENT', wide: true, value: serviceDeployment },
  ],
  BackupPolicy: [
    nameColumn,
    { header: 'SERVICE', value: (o) => text(spec(o).service) },
    { header: 'SCHEDULE', value: (o) => text(spec(o).schedule) },
    { header: 'LAST BACKUP', value: (o, now) => age(lastBackup(o).completionTime as string | undefined, now).replace('<unknown>', '<none>') },
    { header: 'RESULT', value: (o) => text(lastBackup(o).result) },
    ageColumn,
  ],
  GitRepository: [
    nameColumn,
    { header: 'URL', value: (o) => text(spec(o).url) },
    { header: 'REVISION', value: (o) => shortRevision(status(o).lastAppliedRevision) },
    { header: 'READY', value: (o) => conditionStatus(o, 'Ready') },
    { header: 'STATUS', value: (o) => text(findCondition(o.status, 'Ready')?.message.split('\n')[0]) },
    ageColumn,
    { header: 'REF', wide: true, value: (o) => Object.entries((spec(o).ref ?? {}) as Fields).map(([k, v]) => `${k}:${v}`).join(',') || '<none>' },
    { header: 'PATH', wide: true, value: (o) => text(spec(o).path) },
    { header: 'OBJECTS', wide: true, value: (o) => (Array.isArray(status(o).inventory) ? String((status(o).inventory as unknown[]).length) : '<none>') },
    { header: 'LAST SYNC', wide: true, value: (o, now) => lastSyncAge(o, now) },
  ],
  ApplySet: [
    nameColumn,
    { header: 'OBJECTS', value: (o) => text(status(o).objectCount) },
    { header: 'APPLIED', value: (o, now) => age(status(o).lastAppliedTime as string | undefined, now).replace('<unknown>', '<none>') },
    ageColumn,
  ],
  Secret: [
    nameColumn,
    { header: 'TYPE', value: (o) => text(spec(o).type) },
    { header: 'KEYS', value: (o) => secretKeys(o).join(',') || '<none>' },
    ageColumn,
  ],
  Lease: [
    nameColumn,
    { header: 'HOLDER', value: (o) => text(spec(o).holderIdentity) },
    { header: 'RENEWED', value: (o, now) => (spec(o).renewTime ? age(spec(o).renewTime as string, now) : '<none>') },
    { header: 'DURATION', value: (o) => (spec(o).leaseDurationSeconds === undefined ? '<none>' : `${spec(o).leaseDurationSeconds}s`) },
    { header: 'TRANSITIONS', value: (o) => text(spec(o).leaseTransitions) },
    ageColumn,
  ],
  Event: [
    { header: 'LAST SEEN', value: (o, now) => age(eventLastSeen(o), now) },
    { header: 'TYPE', value: (o) => text(o.type) },
    { header: 'REASON', value: (o) => text(o.reason) },
    { header: 'OBJECT', value: eventObject },
    { header: 'MESSAGE', value: (o) => text(o.message) },
  ],
};

/** `main@sha1:0123456789ab`: a revision with its commit cut to 12 hex digits. */
export function shortRevision(revision: unknown): string {
  if (typeof revision !== 'string' || !revision) return '<none>';
  return revision.replace(/(sha1:[0-9a-f]{12})[0-9a-f]+$/, '$1');
}

function lastSyncAge(o: Resource, now: Date): string {
  const history = status(o).history;
  const last = Array.isArray(history) ? (history[0] as Fields | undefined) : undefined;
  return last ? `${age(last.startTime as string | undefined, now)} (${text(last.result)})` : '<none>';
}

/** A Secret's key names (the server lists them in status.keys); never values. */
export function secretKeys(o: Resource): string[] {
  const keys = status(o).keys;
  if (Array.isArray(keys)) return keys.map(String);
  const s = spec(o);
  for (const candidate of [s.data, s.stringData]) if (candidate && typeof candidate === 'object') return Object.keys(candidate);
  return [];
}

export function columnsFor(kind: KindInfo, wide: boolean): Column[] {
  const columns = COLUMNS[kind.kind] ?? [nameColumn, ageColumn];
  return columns.filter((c) => wide || !c.wide);
}
