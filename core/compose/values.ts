// Readers for the value forms Compose allows: booleans as strings, lists or mappings, commands as
// strings, external: true | name.

import type { BoolLike, ComposeExternal, ListOrDict } from './types.js';

export function asBool(value: BoolLike | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  return /^(true|yes)$/i.test(value);
}

/** `true` stays, `false` is dropped: absent means off in the container model. */
export const onlyTrue = (value: BoolLike | undefined) => (asBool(value) ? true : undefined);

export function dictOf(value: ListOrDict | undefined, lookup?: (name: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value) return out;
  if (Array.isArray(value)) {
    for (const item of value) {
      const eq = item.indexOf('=');
      if (eq >= 0) out[item.slice(0, eq)] = item.slice(eq + 1);
      else if (lookup) {
        const fromEnv = lookup(item);
        if (fromEnv !== undefined) out[item] = fromEnv;
      } else out[item] = '';
    }
    return out;
  }
  for (const [key, v] of Object.entries(value)) {
    if (v === null) {
      if (lookup) {
        const fromEnv = lookup(key);
        if (fromEnv !== undefined) out[key] = fromEnv;
      } else out[key] = '';
    } else out[key] = String(v);
  }
  return out;
}

/** Splits a command string as Compose does (shell words, no shell): quotes group, `\` escapes. */
export function splitShellWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else current += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) current += text[++i];
      else current += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote === '"' ? 'double' : 'single'} quote`);
  if (inWord) words.push(current);
  return words;
}

export function stringList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

export function normaliseCapability(cap: string): string {
  const upper = cap.trim().toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

export function externalName(external: ComposeExternal | undefined): { external: boolean; name?: string } {
  if (external === undefined || external === false) return { external: false };
  if (typeof external === 'object') return { external: true, name: external.name };
  if (typeof external === 'string') return { external: /^(true|yes)$/i.test(external) };
  return { external: true };
}
