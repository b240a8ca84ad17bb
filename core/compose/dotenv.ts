// `.env` and `env_file` files as Compose reads them: `KEY=value` lines, optional `export `,
// `#` comments, single quotes (literal), double quotes (escapes, may span lines), unquoted values
// (trimmed, ` #` starts a comment), `${VAR}` interpolation outside single quotes (earlier keys of the
// same file count), and a bare `KEY` taking its value from the environment.

import { interpolateString, InterpolationError, MAX_INTERPOLATED_TOTAL, type VariableLookup } from './interpolate.js';

export class DotenvError extends Error {
  constructor(
    message: string,
    readonly line: number,
  ) {
    super(message);
    this.name = 'DotenvError';
  }
}

const KEY = /^[A-Za-z_][A-Za-z0-9_.-]*$/;

export function parseDotenv(
  text: string,
  lookup: VariableLookup,
  onMissing: (name: string) => void = () => {},
): Record<string, string> {
  const result: Record<string, string> = {};
  const scoped: VariableLookup = (name) => (name in result ? result[name] : lookup(name));
  let total = 0;
  const expand = (value: string, line: number) => {
    try {
      const expanded = interpolateString(value, scoped, onMissing);
      total += expanded.length;
      if (total > MAX_INTERPOLATED_TOTAL) throw new DotenvError(`line ${line}: the values expand to more than ${MAX_INTERPOLATED_TOTAL} characters`, line);
      return expanded;
    } catch (error) {
      if (error instanceof InterpolationError) throw new DotenvError(`line ${line}: ${error.message}`, line);
      throw error;
    }
  };
  const source = text.replace(/^\uFEFF/, '').replace(/\r\n?/g, '\n');
  let pos = 0;
  let line = 1;
  while (pos < source.length) {
    const eol = source.indexOf('\n', pos);
    const end = eol < 0 ? source.length : eol;
    const raw = source.slice(pos, end);
    const startLine = line;
    pos = end + 1;
    line++;
    const trimmed = raw.trim();
    if (trimmed === '' || trimmed.startsWith('#')) continue;
    const body = trimmed.replace(/^export\s+/, '');
    const eq = body.indexOf('=');
    if (eq < 0) {
      if (!KEY.test(body)) throw new DotenvError(`line ${startLine}: "${body}" is not KEY=value`, startLine);
      const fromEnv = lookup(body);
      if (fromEnv !== undefined) result[body] = fromEnv;
      continue;
    }
    const key = body.slice(0, eq).trim();
    if (!KEY.test(key)) throw new DotenvError(`line ${startLine}: "${key}" is not a valid variable name`, startLine);
    let rest = body.slice(eq + 1).replace(/^[ \t]+/, '');
    const quote = rest[0];
    if (quote === "'" || quote === '"') {
      // A quoted value may continue over the following lines until its closing quote. Only each
      // new line is searched, so an unterminated quote costs linear time, not quadratic.
      const scan = { escaped: false };
      let closing = closingQuoteIn(rest, quote, 1, scan);
      const parts = [rest];
      let length = rest.length;
      while (closing < 0 && pos < source.length) {
        const nextEol = source.indexOf('\n', pos);
        const nextEnd = nextEol < 0 ? source.length : nextEol;
        const next = '\n' + source.slice(pos, nextEnd);
        const at = closingQuoteIn(next, quote, 0, scan);
        if (at >= 0) closing = length + at;
        parts.push(next);
        length += next.length;
        pos = nextEnd + 1;
        line++;
      }
      rest = parts.join('');
      if (closing < 0) throw new DotenvError(`line ${startLine}: unterminated ${quote === '"' ? 'double' : 'single'}-quoted value of ${key}`, startLine);
      const inner = rest.slice(1, closing);
      result[key] = quote === "'" ? inner : expand(unescapeDouble(inner), startLine);
      continue;
    }
    const comment = rest.search(/\s#/);
    if (comment >= 0) rest = rest.slice(0, comment);
    result[key] = expand(rest.trim(), startLine);
  }
  return result;
}

/** Index of the closing quote in `text` from `from`; `scan` carries a pending backslash escape across calls. */
function closingQuoteIn(text: string, quote: string, from: number, scan: { escaped: boolean }): number {
  for (let i = from; i < text.length; i++) {
    if (scan.escaped) scan.escaped = false;
    else if (quote === '"' && text[i] === '\\') scan.escaped = true;
    else if (text[i] === quote) return i;
  }
  return -1;
}

function unescapeDouble(text: string): string {
  return text.replace(/\\(.)/gs, (_m, ch: string) => {
    switch (ch) {
      case 'n':
        return '\n';
      case 'r':
        return '\r';
      case 't':
        return '\t';
      case '$':
        // keep the escape meaning "literal $" through interpolation
        return '$$';
      default:
        return ch;
    }
  });
}
