// Compose variable interpolation: `$VAR`, `${VAR}`, `${VAR:-default}`, `${VAR-default}`,
// `${VAR:?error}`, `${VAR?error}`, `${VAR:+replacement}`, `${VAR+replacement}`, nested defaults and
// `$$` for a literal `$`. Holdfast's own `${secret:name/key}` placeholders are left in place.

export class InterpolationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'InterpolationError';
  }
}

export type VariableLookup = (name: string) => string | undefined;

/** Longest string one interpolation may produce; variables repeated in a value cannot multiply it past this. */
export const MAX_INTERPOLATED_LENGTH = 1024 * 1024;
/** Most text the interpolation of one whole document (or .env file) may produce. */
export const MAX_INTERPOLATED_TOTAL = 8 * 1024 * 1024;

const NAME_START = /[A-Za-z_]/;
const NAME_CHAR = /[A-Za-z0-9_]/;

/** Interpolates one string. `onMissing` hears of each variable that is unset and has no default. */
export function interpolateString(text: string, lookup: VariableLookup, onMissing: (name: string) => void): string {
  let out = '';
  const tooLong = () => new InterpolationError(`the value expands to more than ${MAX_INTERPOLATED_LENGTH} characters`);
  let i = 0;
  while (i < text.length) {
    const c = text[i];
    if (c !== '$') {
      out += c;
      i++;
      continue;
    }
    const next = text[i + 1];
    if (next === '$') {
      out += '$';
      i += 2;
      continue;
    }
    if (next === '{') {
      const end = closingBrace(text, i + 2);
      if (end < 0) throw new InterpolationError(`invalid interpolation format for ${JSON.stringify(text)}: missing "}"`);
      const body = text.slice(i + 2, end);
      if (body.startsWith('secret:')) out += text.slice(i, end + 1);
      else out += substitute(body, text, lookup, onMissing);
      if (out.length > MAX_INTERPOLATED_LENGTH) throw tooLong();
      i = end + 1;
      continue;
    }
    if (next !== undefined && NAME_START.test(next)) {
      let j = i + 1;
      while (j < text.length && NAME_CHAR.test(text[j])) j++;
      const name = text.slice(i + 1, j);
      const value = lookup(name);
      if (value === undefined) onMissing(name);
      out += value ?? '';
      if (out.length > MAX_INTERPOLATED_LENGTH) throw tooLong();
      i = j;
      continue;
    }
    // A lone `$` stays as it is, as Compose leaves it.
    out += c;
    i++;
  }
  return out;
}

/** Index of the `}` that closes a `${` opened before `from`, allowing nested `${...}`. */
function closingBrace(text: string, from: number): number {
  let depth = 1;
  for (let j = from; j < text.length; j++) {
    if (text[j] === '$' && text[j + 1] === '{') {
      depth++;
      j++;
    } else if (text[j] === '}') {
      depth--;
      if (depth === 0) return j;
    }
  }
  return -1;
}

function substitute(body: string, whole: string, lookup: VariableLookup, onMissing: (name: string) => void): string {
  const match = /^([A-Za-z_][A-Za-z0-9_]*)(?:(:?[-?+])([\s\S]*))?$/.exec(body);
  if (!match) throw new InterpolationError(`invalid interpolation format for ${JSON.stringify(whole)}: "\${${body}}"`);
  const [, name, operator, argument = ''] = match;
  const value = lookup(name);
  const unsetOrEmpty = value === undefined || value === '';
  const expand = (t: string) => interpolateString(t, lookup, onMissing);
  switch (operator) {
    case undefined:
      if (value === undefined) onMissing(name);
      return value ?? '';
    case ':-':
      return unsetOrEmpty ? expand(argument) : value!;
    case '-':
      return value === undefined ? expand(argument) : value;
    case ':?':
      if (unsetOrEmpty) throw new InterpolationError(`required variable ${name} is missing a value: ${expand(argument) || 'not set'}`);
      return value!;
    case '?':
      if (value === undefined) throw new InterpolationError(`required variable ${name} is missing a value: ${expand(argument) || 'not set'}`);
      return value;
    case ':+':
      return unsetOrEmpty ? '' : expand(argument);
    case '+':
      return value === undefined ? '' : expand(argument);
    default:
      throw new InterpolationError(`invalid interpolation format for ${JSON.stringify(whole)}`);
  }
}

/**
 * Interpolates every string value of a parsed Compose document (keys stay as written, as Compose
 * does). Errors name the path of the value: `services.web.image: required variable TAG ...`.
 */
export function interpolateDocument(
  document: unknown,
  lookup: VariableLookup,
  onMissing: (name: string, path: string) => void,
): { value: unknown; errors: Array<{ path: string; message: string }> } {
  const errors: Array<{ path: string; message: string }> = [];
  let total = 0;
  const walk = (node: unknown, path: string): unknown => {
    if (typeof node === 'string') {
      if (total > MAX_INTERPOLATED_TOTAL) return node;
      try {
        const value = interpolateString(node, lookup, (name) => onMissing(name, path));
        total += value.length;
        if (total > MAX_INTERPOLATED_TOTAL) errors.push({ path, message: `the document expands to more than ${MAX_INTERPOLATED_TOTAL} characters of values` });
        return value;
      } catch (error) {
        if (!(error instanceof InterpolationError)) throw error;
        errors.push({ path, message: error.message });
        return node;
      }
    }
    if (Array.isArray(node)) return node.map((item, i) => walk(item, `${path}[${i}]`));
    if (node && typeof node === 'object') {
      const out: Record<string, unknown> = {};
      for (const [key, value] of Object.entries(node)) {
        // x- extensions are often YAML anchors' templates, never read: leave them alone.
        out[key] = key.startsWith('x-') ? value : walk(value, path ? `${path}.${key}` : key);
      }
      return out;
    }
    return node;
  };
  return { value: walk(document, ''), errors };
}
