// Turning `get`/`describe`/`delete` arguments into kinds and names, as kubectl reads them:
// `svc web api`, `services,servers`, `service/web server/edge-1`, `service.holdfast.dev web`, `all`.
import { HoldfastError } from '../core/errors.js';
import { kindInfo, lookupKind, type KindInfo } from '../core/resource.js';

export interface ResourceSelection {
  kind: KindInfo;
  /** Empty: every object of the kind. */
  names: string[];
}

/** What `all` stands for, as in `kubectl get all`. */
export const ALL_KINDS = ['Project', 'Server', 'Service', 'BackupPolicy'];

export function resolveKind(name: string): KindInfo {
  const kind = lookupKind(name);
  if (!kind) throw new HoldfastError('NotFound', `the server doesn't have a resource type "${name}"`);
  return kind;
}

export function parseResourceArgs(args: string[]): ResourceSelection[] {
  if (args.length === 0) {
    throw new HoldfastError('BadRequest', 'you must specify the type of resource, e.g. services, servers, projects (or all)');
  }
  if (args[0].includes('/')) {
    const byKind = new Map<KindInfo, string[]>();
    for (const arg of args) {
      const slash = arg.indexOf('/');
      if (slash <= 0 || slash === arg.length - 1) {
        throw new HoldfastError('BadRequest', `there is no need to specify a resource type as a separate argument when passing arguments in resource/name form (e.g. 'holdfast get service/web' instead of 'holdfast get service service/web'); "${arg}" is not in that form`);
      }
      const kind = resolveKind(arg.slice(0, slash));
      byKind.set(kind, [...(byKind.get(kind) ?? []), arg.slice(slash + 1)]);
    }
    return [...byKind].map(([kind, names]) => ({ kind, names }));
  }
  const [types, ...names] = args;
  const kinds = types
    .split(',')
    .filter(Boolean)
    .flatMap((t) => (t.toLowerCase() === 'all' ? ALL_KINDS.map((k) => kindInfo(k)!) : [resolveKind(t)]));
  const unique = [...new Set(kinds)];
  if (names.length && unique.length > 1) {
    throw new HoldfastError('BadRequest', 'names can be given with one resource type only; use type/name form for several types');
  }
  for (const n of names) {
    if (n.includes('/')) throw new HoldfastError('BadRequest', `"${n}": pass either TYPE NAME or TYPE/NAME, not both`);
  }
  return unique.map((kind) => ({ kind, names }));
}

/** `--for service/web` on `get events`: the object whose events to show. */
export function parseForArg(text: string): { kind: KindInfo; name: string } {
  const slash = text.indexOf('/');
  if (slash <= 0 || slash === text.length - 1) throw new HoldfastError('BadRequest', `--for takes TYPE/NAME, e.g. service/web; got "${text}"`);
  return { kind: resolveKind(text.slice(0, slash)), name: text.slice(slash + 1) };
}

/** A namespaced object named without `-n` cannot be found: say what to pass. */
export function requireNamespace(kind: KindInfo, name: string, namespace: string | undefined): string | undefined {
  if (!kind.namespaced) return undefined;
  if (namespace) return namespace;
  throw new HoldfastError('BadRequest', `${kind.singular} "${name}" is namespaced: pass -n PROJECT to name its project`);
}
