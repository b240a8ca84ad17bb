// Drift from Git: an object a source applied that someone changed since through the API, the CLI or
// kubectl. The inventory keeps a digest of the declaration the source last wrote for each object;
// when the revision still declares exactly that and the object differs, the difference is someone
// else's change, which spec.driftPolicy puts back (heal, the default) or only reports. Pure.
import { createHash } from 'node:crypto';
import { canonicalJson } from '../canonical-json.js';
import type { Resource } from '../resource.js';

export type SourceDriftPolicy = 'heal' | 'report';

/** What a sync does with an object whose declaration differs from what is stored. */
export type DriftAction = 'configure' | 'revert' | 'report';

export interface ObjectDrift {
  kind: string;
  namespace?: string;
  name: string;
  /** The actor of the newest API write to the object, e.g. user:alice; unknown when none is recorded. */
  changedBy: string;
  /** The fields that differ from the revision, e.g. spec.replicas, metadata.labels.tier. */
  fields: string[];
}

const declaration = (obj: Pick<Resource, 'spec' | 'metadata'>) => ({ spec: obj.spec ?? {}, labels: obj.metadata.labels ?? {}, annotations: obj.metadata.annotations ?? {} });

/** A digest of what a source declares for an object: its spec, labels and annotations. */
export function declarationDigest(obj: Pick<Resource, 'spec' | 'metadata'>): string {
  return `sha256:${createHash('sha256').update(canonicalJson(declaration(obj))).digest('hex')}`;
}

/**
 * How a sync treats an object that differs from the revision's declaration. The revision changes
 * it (configure) when the source never applied it or declared something else last time; otherwise
 * someone else changed it. An inventory entry from before digests were kept counts the source's own
 * write as the last one.
 */
export function driftAction(input: {
  /** The inventory entry of the object, when the source applied it before. */
  previous?: { digest?: string };
  desiredDigest: string;
  lastWriter?: string;
  sourceActor: string;
  policy: SourceDriftPolicy;
}): DriftAction {
  const { previous } = input;
  if (!previous) return 'configure';
  const sourceChanged = previous.digest !== undefined ? previous.digest !== input.desiredDigest : input.lastWriter === undefined || input.lastWriter === input.sourceActor;
  if (sourceChanged) return 'configure';
  return input.policy === 'report' ? 'report' : 'revert';
}

/** The paths where `current` differs from `desired` (spec, labels, annotations); lists compare whole. */
export function changedFields(desired: Pick<Resource, 'spec' | 'metadata'>, current: Pick<Resource, 'spec' | 'metadata'>): string[] {
  const a = declaration(desired);
  const b = declaration(current);
  return [...diffPaths(a.spec, b.spec, 'spec'), ...diffPaths(a.labels, b.labels, 'metadata.labels'), ...diffPaths(a.annotations, b.annotations, 'metadata.annotations')];
}

function diffPaths(a: unknown, b: unknown, path: string): string[] {
  if (isPlainObject(a) && isPlainObject(b)) {
    const keys = [...new Set([...Object.keys(a), ...Object.keys(b)])].sort();
    return keys.flatMap((k) => diffPaths(a[k], b[k], `${path}.${k}`));
  }
  return canonicalJson(a) === canonicalJson(b) ? [] : [path];
}

function isPlainObject(v: unknown): v is Record<string, unknown> {
  return typeof v === 'object' && v !== null && !Array.isArray(v);
}

/** `secret shop/db changed by user:alice (spec.valueHashes.password)`. */
export function describeDrift(d: ObjectDrift): string {
  return `${d.kind.toLowerCase()} ${d.namespace ? `${d.namespace}/` : ''}${d.name} changed by ${d.changedBy} (${d.fields.join(', ')})`;
}
