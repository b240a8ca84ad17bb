// Bounds on what users send: how deep a value nests and how many nodes it holds once YAML aliases
// are expanded. Everything that walks a value recursively (validation, cloning, interpolation,
// JSON serialisation) stays within these, so no input can exhaust the stack or the heap.

/** Deepest nesting accepted in a request body or a YAML document (the YAML parser's default too). */
export const MAX_NESTING_DEPTH = 100;

/**
 * Most nodes (mappings, lists and scalars) a parsed YAML source may hold, each alias counted with
 * the whole subtree it stands for: a million is far beyond any real manifest or compose file, and
 * far below what a billion-laughs document expands to.
 */
export const MAX_EXPANDED_NODES = 1_000_000;

export interface TreeLimits {
  maxDepth: number;
  maxNodes: number;
}

/**
 * What is wrong with `value`'s size, or undefined when it is within the limits. A value that is
 * referenced from several places (a YAML alias) counts once per place, as a consumer walking it
 * would see it; each distinct object is measured once, so a measurement costs no more than the
 * parse did.
 */
export function exceededLimit(value: unknown, limits: TreeLimits = { maxDepth: MAX_NESTING_DEPTH, maxNodes: MAX_EXPANDED_NODES }): string | undefined {
  const measured = new Map<object, { nodes: number; height: number }>();
  const measure = (node: unknown, depth: number): { nodes: number; height: number } => {
    if (node === null || typeof node !== 'object') return { nodes: 1, height: 0 };
    const known = measured.get(node);
    if (known) {
      if (depth + known.height > limits.maxDepth) throw new LimitExceeded(`nesting deeper than ${limits.maxDepth} levels`);
      return known;
    }
    if (depth + 1 > limits.maxDepth) throw new LimitExceeded(`nesting deeper than ${limits.maxDepth} levels`);
    let nodes = 1;
    let height = 1;
    for (const child of Array.isArray(node) ? node : Object.values(node)) {
      const m = measure(child, depth + 1);
      nodes += m.nodes;
      height = Math.max(height, m.height + 1);
      if (nodes > limits.maxNodes) throw new LimitExceeded(`more than ${limits.maxNodes} nodes once aliases are expanded`);
    }
    const result = { nodes, height };
    measured.set(node, result);
    return result;
  };
  try {
    measure(value, 0);
    return undefined;
  } catch (error) {
    if (error instanceof LimitExceeded) return error.message;
    throw error;
  }
}

class LimitExceeded extends Error {}

/**
 * The first place in a decoded request body that no store can take: nesting deeper than
 * MAX_NESTING_DEPTH, or a NUL character in a string or key (PostgreSQL's text and jsonb refuse
 * it). Walks without recursion, so the check itself cannot overflow the stack.
 */
export function unstorableField(value: unknown): { field: string; message: string } | undefined {
  const stack: Array<{ node: unknown; path: string; depth: number }> = [{ node: value, path: '', depth: 0 }];
  while (stack.length > 0) {
    const { node, path, depth } = stack.pop()!;
    if (typeof node === 'string') {
      if (node.includes('\u0000')) return { field: path, message: 'must not contain a NUL character' };
      continue;
    }
    if (node === null || typeof node !== 'object') continue;
    if (depth >= MAX_NESTING_DEPTH) return { field: path, message: `nests deeper than ${MAX_NESTING_DEPTH} levels` };
    if (Array.isArray(node)) {
      node.forEach((item, i) => stack.push({ node: item, path: `${path}[${i}]`, depth: depth + 1 }));
      continue;
    }
    for (const [key, item] of Object.entries(node)) {
      const at = path === '' ? key : `${path}.${key}`;
      if (key.includes('\u0000')) return { field: at, message: 'the key must not contain a NUL character' };
      stack.push({ node: item, path: at, depth: depth + 1 });
    }
  }
  return undefined;
}
