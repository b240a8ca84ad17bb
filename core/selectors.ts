// Kubernetes label and field selectors: parsing and matching. Pure.
import { HoldfastError } from './errors.js';

export type Requirement =
  | { key: string; op: 'exists' | 'notExists' }
  | { key: string; op: 'in' | 'notIn'; values: string[] };

/** Parses `app=web,tier!=db,env in (a,b),!legacy,owner` into requirements. Throws BadRequest on bad syntax. */
export function parseLabelSelector(text: string | undefined): Requirement[] {
  if (!text || !text.trim()) return [];
  const reqs: Requirement[] = [];
  for (const term of splitTopLevel(text)) {
    const t = term.trim();
    let m: RegExpMatchArray | null;
    if ((m = t.match(/^!\s*([\w./-]+)$/))) reqs.push({ key: m[1], op: 'notExists' });
    else if ((m = t.match(/^([\w./-]+)\s+(in|notin)\s+\(([^)]*)\)$/)))
      reqs.push({ key: m[1], op: m[2] === 'in' ? 'in' : 'notIn', values: splitValues(m[3]) });
    else if ((m = t.match(/^([\w./-]+)\s*(==|=|!=)\s*([\w./-]*)$/)))
      reqs.push({ key: m[1], op: m[2] === '!=' ? 'notIn' : 'in', values: [m[3]] });
    else if ((m = t.match(/^([\w./-]+)$/))) reqs.push({ key: m[1], op: 'exists' });
    else throw new HoldfastError('BadRequest', `unable to parse requirement: "${t}" in selector "${text}"`);
  }
  return reqs;
}

function splitTopLevel(text: string): string[] {
  const out: string[] = [];
  let depth = 0;
  let cur = '';
  for (const ch of text) {
    if (ch === '(') depth++;
    if (ch === ')') depth--;
    if (ch === ',' && depth === 0) {
      out.push(cur);
      cur = '';
    } else cur += ch;
  }
  out.push(cur);
  return out;
}

const splitValues = (s: string) => s.split(',').map((v) => v.trim()).filter((v) => v.length > 0);

export function matchesLabels(reqs: Requirement[], labels: Record<string, string> | undefined): boolean {
  const l = labels ?? {};
  return reqs.every((r) => {
    const has = Object.prototype.hasOwnProperty.call(l, r.key);
    switch (r.op) {
      case 'exists':
        return has;
      case 'notExists':
        return !has;
      case 'in':
        return has && r.values.includes(l[r.key]);
      case 'notIn':
        return !has || !r.values.includes(l[r.key]);
    }
  });
}

export interface FieldRequirement {
  path: string;
  op: '=' | '!=';
  value: string;
}

/** Parses `involvedObject.kind=Service,metadata.name!=x`. */
export function parseFieldSelector(text: string | undefined): FieldRequirement[] {
  if (!text || !text.trim()) return [];
  return text.split(',').map((term) => {
    const m = term.trim().match(/^([\w.]+)\s*(==|=|!=)\s*(.*)$/);
    if (!m) throw new HoldfastError('BadRequest', `unable to parse field selector requirement: "${term.trim()}"`);
    return { path: m[1], op: m[2] === '!=' ? '!=' : '=', value: m[3] };
  });
}

export function matchesFields(reqs: FieldRequirement[], object: unknown): boolean {
  return reqs.every((r) => {
    let v: unknown = object;
    for (const part of r.path.split('.')) v = v && typeof v === 'object' ? (v as Record<string, unknown>)[part] : undefined;
    const s = v === undefined || v === null ? '' : String(v);
    return r.op === '=' ? s === r.value : s !== r.value;
  });
}
