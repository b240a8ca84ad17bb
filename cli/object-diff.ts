// The text `holdfast diff` prints for one object: the live object against what apply would write,
// both reduced to their user-owned parts, as a unified diff of YAML with kubectl's file names. Pure.
import { createTwoFilesPatch, FILE_HEADERS_ONLY } from 'diff';
import { GROUP, VERSION, type KindInfo, type Resource } from '../core/resource.js';
import { userOwnedView } from '../core/apply-merge.js';
import { toYaml } from './printers.js';

/** `holdfast.dev.v1alpha1.Service.shop.web`; cluster-scoped objects have no namespace part. */
export function diffFileName(obj: Pick<Resource, 'kind' | 'metadata'>): string {
  const parts = [GROUP, VERSION, obj.kind, ...(obj.metadata.namespace ? [obj.metadata.namespace] : []), obj.metadata.name];
  return parts.join('.');
}

/** The YAML a side of the diff shows: identity, labels, annotations, spec (keys sorted, so order is never a difference). */
export function diffView(obj: Resource | undefined, kind: KindInfo): string {
  return obj ? toYaml(userOwnedView(obj, kind)) : '';
}

// Write-only values come back from the server as neither live nor predicted text; the server's
// generation tells whether they would change, and the diff says so without showing them.
const WRITE_ONLY_CHANGED = '# write-only values differ from the live ones (not shown)\n';

/**
 * The unified diff between `live` (undefined when the object does not exist) and `predicted` (the
 * server's dry-run answer to the write apply would make); '' when they do not differ.
 */
export function objectDiff(live: Resource | undefined, predicted: Resource, kind: KindInfo): string {
  const liveText = diffView(live, kind);
  let mergedText = diffView(predicted, kind);
  if (kind.writeOnly && live && predicted.metadata.generation !== live.metadata.generation) mergedText += WRITE_ONLY_CHANGED;
  if (liveText === mergedText) return '';
  const file = diffFileName(predicted);
  const livePath = `/tmp/LIVE/${file}`;
  const mergedPath = `/tmp/MERGED/${file}`;
  const patch = createTwoFilesPatch(livePath, mergedPath, liveText, mergedText, undefined, undefined, {
    headerOptions: FILE_HEADERS_ONLY,
    context: 3, // as `diff -u`
  });
  return `diff -u -N ${livePath} ${mergedPath}\n${patch}`;
}

/** The unified diff of deleting `live`: every line removed, as `kubectl diff --prune` prints it. */
export function objectDeletionDiff(live: Resource, kind: KindInfo): string {
  const file = diffFileName(live);
  const livePath = `/tmp/LIVE/${file}`;
  const mergedPath = `/tmp/MERGED/${file}`;
  const patch = createTwoFilesPatch(livePath, mergedPath, diffView(live, kind), '', undefined, undefined, { headerOptions: FILE_HEADERS_ONLY, context: 3 });
  return `diff -u -N ${livePath} ${mergedPath}\n${patch}`;
}
