// Syntax of names, label keys and values, as Kubernetes defines them, with messages that say what
// exactly is wrong with a given value.

import { DNS1123_LABEL, DNS1123_LABEL_MAX } from '../resource.js';

export const DNS1123_LABEL_PATTERN = DNS1123_LABEL.source;
const DNS1123_SUBDOMAIN_MAX = 253;
const QUALIFIED_NAME = /^([A-Za-z0-9][-A-Za-z0-9_.]*)?[A-Za-z0-9]$/;
const QUALIFIED_NAME_MAX = 63;
const LABEL_VALUE_MAX = 63;
const ANNOTATIONS_TOTAL_MAX = 256 * 1024;

function andList(words: string[]): string {
  return words.length === 1 ? words[0] : `${words.slice(0, -1).join(', ')} and ${words[words.length - 1]}`;
}

/** What is wrong with `value` as a DNS-1123 label (or subdomain, when dots are allowed); [] when nothing. */
function dns1123Problems(value: string, allowDots: boolean, max: number): string[] {
  if (value === '') return ['is empty'];
  const problems: string[] = [];
  const allowed = allowDots ? /[a-z0-9.-]/ : /[a-z0-9-]/;
  const bad = [...new Set([...value].filter((c) => !/[A-Z]/.test(c) && !allowed.test(c)))].map((c) => JSON.stringify(c));
  if (/[A-Z]/.test(value)) bad.unshift('uppercase letters');
  if (bad.length > 0) problems.push(`contains ${andList(bad)}`);
  if (!/^[a-zA-Z0-9]/.test(value)) problems.push(`starts with ${JSON.stringify(value[0])}`);
  else if (!/[a-zA-Z0-9]$/.test(value)) problems.push(`ends with ${JSON.stringify(value[value.length - 1])}`);
  else if (allowDots && value.split('.').some((part) => !/^[a-zA-Z0-9](.*[a-zA-Z0-9])?$/.test(part))) {
    problems.push('has a dot-separated part that does not start and end with a letter or digit');
  }
  if (value.length > max) problems.push(`is ${value.length} characters long`);
  return problems;
}

function show(value: string): string {
  return JSON.stringify(value.length > 70 ? `${value.slice(0, 67)}...` : value);
}

/** A message for an invalid DNS-1123 label such as an object name or a reference, or undefined if valid. */
export function dns1123LabelMessage(value: string): string | undefined {
  const problems = dns1123Problems(value, false, DNS1123_LABEL_MAX);
  if (problems.length === 0) return undefined;
  return (
    `must be a DNS-1123 label: lowercase letters, digits and "-", starting and ending with a letter or digit, ` +
    `at most ${DNS1123_LABEL_MAX} characters (${show(value)} ${problems.join('; ')})`
  );
}

/** A message for an invalid DNS-1123 subdomain (dot-separated labels, e.g. an Event name), or undefined. */
export function dns1123SubdomainMessage(value: string): string | undefined {
  const problems = dns1123Problems(value, true, DNS1123_SUBDOMAIN_MAX);
  if (problems.length === 0) return undefined;
  return (
    `must be a DNS-1123 subdomain: lowercase letters, digits, "-" and ".", each dot-separated part starting and ` +
    `ending with a letter or digit, at most ${DNS1123_SUBDOMAIN_MAX} characters (${show(value)} ${problems.join('; ')})`
  );
}

/** A message for an invalid label or annotation key (`[prefix/]name`), or undefined. */
export function qualifiedKeyMessage(key: string): string | undefined {
  const slash = key.lastIndexOf('/');
  const prefix = slash >= 0 ? key.slice(0, slash) : undefined;
  const name = slash >= 0 ? key.slice(slash + 1) : key;
  if (prefix !== undefined) {
    const prefixProblem = dns1123SubdomainMessage(prefix);
    if (prefixProblem) return `key prefix ${prefixProblem}`;
  }
  if (name === '' || name.length > QUALIFIED_NAME_MAX || !QUALIFIED_NAME.test(name)) {
    return (
      `key must be an optional DNS subdomain prefix and "/", then a name of at most ${QUALIFIED_NAME_MAX} characters: ` +
      `letters, digits, "-", "_" and ".", starting and ending with a letter or digit (got ${show(key)})`
    );
  }
  return undefined;
}

/** A message for an invalid label value, or undefined. */
export function labelValueMessage(value: string): string | undefined {
  if (value === '' || (value.length <= LABEL_VALUE_MAX && QUALIFIED_NAME.test(value))) return undefined;
  return (
    `value must be empty or at most ${LABEL_VALUE_MAX} characters of letters, digits, "-", "_" and ".", ` +
    `starting and ending with a letter or digit (got ${show(value)})`
  );
}

export function annotationsSizeMessage(annotations: Record<string, unknown>): string | undefined {
  let size = 0;
  for (const [k, v] of Object.entries(annotations)) size += k.length + (typeof v === 'string' ? v.length : 0);
  return size > ANNOTATIONS_TOTAL_MAX
    ? `must be at most ${ANNOTATIONS_TOTAL_MAX} bytes in total (got ${size})`
    : undefined;
}
