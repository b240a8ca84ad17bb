// The one way Holdfast parses YAML it did not write itself (manifests, compose files): js-yaml
// with bounded nesting, aliases and size, and the parsed result measured with its aliases
// expanded, so an alias bomb is refused at parse time instead of exhausting the heap of whatever
// walks the result later. Every refusal is a YAMLException, as a syntax error is; one for size is
// a YamlLimitError.

import { YAMLException, load, loadAll, type LoadOptions } from 'js-yaml';
import { exceededLimit, MAX_EXPANDED_NODES, MAX_NESTING_DEPTH } from './input-limits.js';

/** Largest YAML source accepted (a manifest file, a compose file). */
export const MAX_YAML_BYTES = 4 * 1024 * 1024;
/** Alias nodes (`*name`) per document; real files use a few dozen. */
export const MAX_YAML_ALIASES = 10_000;

/** A YAML source that may be valid but is beyond what Holdfast accepts. */
export class YamlLimitError extends YAMLException {}

export type BoundedYamlOptions = Pick<LoadOptions, 'filename' | 'schema'>;

/** One YAML document (js-yaml `load`), within the limits. */
export function loadBoundedYaml(text: string, options: BoundedYamlOptions = {}): unknown {
  checkSize(text);
  return checked(load(text, limited(options)), MAX_NESTING_DEPTH);
}

/** Every document of a YAML stream (js-yaml `loadAll`), within the limits taken over the whole stream. */
export function loadAllBoundedYaml(text: string, options: BoundedYamlOptions = {}): unknown[] {
  checkSize(text);
  // The list of documents is one level above them.
  return checked(loadAll(text, limited(options)) as unknown[], MAX_NESTING_DEPTH + 1);
}

function limited(options: BoundedYamlOptions): LoadOptions {
  return { ...options, maxDepth: MAX_NESTING_DEPTH, maxAliases: MAX_YAML_ALIASES };
}

function checkSize(text: string) {
  const bytes = Buffer.byteLength(text, 'utf8');
  if (bytes > MAX_YAML_BYTES) throw new YamlLimitError(`the document is ${bytes} bytes; the limit is ${MAX_YAML_BYTES}`);
}

function checked<T>(value: T, maxDepth: number): T {
  const problem = exceededLimit(value, { maxDepth, maxNodes: MAX_EXPANDED_NODES });
  if (problem) throw new YamlLimitError(`the document is too large: ${problem}`);
  return value;
}
