// Declared vs frozen: the Service's spec rendered now (generation N, secrets as hashes) against the
// input of its last completed deployment. A difference is a change not rolled out yet, or one whose
// rollout failed (and was rolled back). Containers compare field by field as live ones do; the rest
// of the input (update strategy, deletion policy, components, networks, volumes, target) per field.
// Pure.
import { canonicalJson } from '../canonical-json.js';
import { diffContainerSpecs } from '../deploy/compare.js';
import { frozenInputHash, type FrozenInput } from '../deploy/container-spec.js';
import { containerPath } from './live.js';
import type { DriftEntry } from './types.js';

/**
 * Parts of a frozen input that say when and why it was made, or that repeat what the containers
 * already show (secretRefs lists the secret hashes of the env and files compared there).
 */
const NOT_COMPARED = new Set(['formatVersion', 'service', 'generation', 'deployment', 'warnings', 'specHash', 'containers', 'secretRefs']);

/** Lists whose items have a name: compared item by item, as containers are. */
const KEYED_LISTS: Record<string, (item: Record<string, unknown>) => string> = {
  components: (c) => String(c.name),
  networks: (n) => String(n.key ?? n.name),
  volumes: (v) => String(v.key ?? v.name),
};

const same = (a: unknown, b: unknown) => canonicalJson(a ?? null) === canonicalJson(b ?? null);
const isRecord = (v: unknown): v is Record<string, unknown> => typeof v === 'object' && v !== null && !Array.isArray(v);

function diffValue(path: string, field: string, declared: unknown, frozen: unknown, out: DriftEntry[]) {
  if (same(declared, frozen)) return;
  const add = (entry: Omit<DriftEntry, 'path' | 'source'>) => out.push({ path, source: 'declared-vs-frozen', ...entry });
  if (declared === undefined) return add({ kind: 'unexpected', actual: frozen });
  if (frozen === undefined) return add({ kind: 'missing', expected: declared });
  if (field in KEYED_LISTS && Array.isArray(declared) && Array.isArray(frozen)) {
    const key = KEYED_LISTS[field];
    const d = new Map(declared.filter(isRecord).map((item) => [key(item), item]));
    const f = new Map(frozen.filter(isRecord).map((item) => [key(item), item]));
    for (const id of new Set([...d.keys(), ...f.keys()])) diffValue(`${path}[${id}]`, '', d.get(id), f.get(id), out);
    return;
  }
  if (isRecord(declared) && isRecord(frozen)) {
    for (const key of new Set([...Object.keys(declared), ...Object.keys(frozen)])) diffValue(`${path}.${key}`, key, declared[key], frozen[key], out);
    return;
  }
  add({ kind: 'changed', expected: declared, actual: frozen });
}

/** What the declared spec would change if it were rolled out now. */
export function diffDeclaredAgainstFrozen(declared: FrozenInput, frozen: FrozenInput): DriftEntry[] {
  if (frozenInputHash(declared) === frozenInputHash(frozen)) return [];
  const out: DriftEntry[] = [];
  const frozenByName = new Map(frozen.containers.map((c) => [c.name, c]));
  const declaredNames = new Set(declared.containers.map((c) => c.name));
  for (const want of declared.containers) {
    const have = frozenByName.get(want.name);
    if (!have) {
      out.push({ path: containerPath(want.name), kind: 'missing', expected: { image: want.image }, source: 'declared-vs-frozen' });
      continue;
    }
    for (const diff of diffContainerSpecs(want, have)) out.push({ ...diff, path: `${containerPath(want.name)}.${diff.path}`, source: 'declared-vs-frozen' });
  }
  for (const have of frozen.containers) {
    if (!declaredNames.has(have.name)) out.push({ path: containerPath(have.name), kind: 'unexpected', actual: { image: have.image }, source: 'declared-vs-frozen' });
  }
  const d = declared as unknown as Record<string, unknown>;
  const f = frozen as unknown as Record<string, unknown>;
  for (const key of new Set([...Object.keys(d), ...Object.keys(f)])) {
    if (!NOT_COMPARED.has(key)) diffValue(key, key, d[key], f[key], out);
  }
  return out.sort((a, b) => (a.path < b.path ? -1 : a.path > b.path ? 1 : 0));
}
