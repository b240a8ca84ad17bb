// Secret references inside environment values. A value is frozen as a literal, as a whole Secret
// key, or as a template whose `${secret:name/key}` placeholders the executor fills in on the way to
// the host. Only hashes of secret values are ever kept or compared.

import type { EnvValue, HashedSecretRef, SecretKeyRef } from './container-spec.js';

/** `${secret:<secret-name>/<key>}`: the Secret name is a DNS-1123 label, the key as Secret keys are. */
export const SECRET_PLACEHOLDER = /\$\{secret:([a-z0-9](?:[-a-z0-9]*[a-z0-9])?)\/([-._a-zA-Z0-9]+)\}/g;

export function secretPlaceholder(ref: SecretKeyRef): string {
  return `\${secret:${ref.name}/${ref.key}}`;
}

export function containsSecretPlaceholder(text: string): boolean {
  return /\$\{secret:/.test(text);
}

/** The Secret keys a text refers to, in order of first appearance, without duplicates. */
export function secretRefsIn(text: string): SecretKeyRef[] {
  const seen = new Set<string>();
  const refs: SecretKeyRef[] = [];
  for (const match of text.matchAll(SECRET_PLACEHOLDER)) {
    const id = `${match[1]}/${match[2]}`;
    if (seen.has(id)) continue;
    seen.add(id);
    refs.push({ name: match[1], key: match[2] });
  }
  return refs;
}

/** `${secret:` that is not a well-formed placeholder: a mistake the user should hear about. */
export function malformedPlaceholder(text: string): string | undefined {
  const stripped = text.replace(SECRET_PLACEHOLDER, '');
  const at = stripped.indexOf('${secret:');
  if (at < 0) return undefined;
  const end = stripped.indexOf('}', at);
  return stripped.slice(at, end >= 0 ? end + 1 : undefined);
}

/**
 * The frozen form of an environment value written as text: a literal, or a template when it holds
 * placeholders. `resolveHash` gives each Secret key's hash (never its value).
 */
export function freezeEnvText(text: string, resolveHash: (ref: SecretKeyRef) => string): EnvValue {
  const refs = secretRefsIn(text);
  if (refs.length === 0) return { value: text };
  if (refs.length === 1 && text === secretPlaceholder(refs[0])) {
    return { secretRef: refs[0], secretHash: resolveHash(refs[0]) };
  }
  return { template: text, secrets: refs.map((ref) => ({ ...ref, secretHash: resolveHash(ref) })) };
}

/** The Secret keys a frozen value needs, with their hashes. */
export function secretsOf(value: EnvValue): HashedSecretRef[] {
  if ('secretRef' in value) return [{ ...value.secretRef, secretHash: value.secretHash }];
  if ('template' in value) return value.secrets;
  return [];
}

/**
 * Fills a frozen value in with real secret values: what the executor sends to the host, and
 * nothing else should ever hold.
 */
export function resolveEnvValue(value: EnvValue, secretValue: (ref: SecretKeyRef) => string): string {
  if ('value' in value) return value.value;
  if ('secretRef' in value) return secretValue(value.secretRef);
  return value.template.replace(SECRET_PLACEHOLDER, (_m, name: string, key: string) => secretValue({ name, key }));
}

const escapeRegExp = (text: string) => text.replace(/[.*+?^${}()|[\]\\]/g, '\\$&');

/** Shown instead of a live value that does not fit its template; never the value itself. */
export const TEMPLATE_MISMATCH = '(live value does not match the template)';

/**
 * Puts a live environment value into the shape of the frozen one, so the two compare directly
 * without the secret ever being shown: a whole secret becomes its hash; a template keeps its text
 * and gets the hash of each part of the live value that stands where a placeholder is.
 */
export function liveEnvValueLike(expected: EnvValue | undefined, live: string, hashSecret: (value: string) => string): EnvValue {
  if (!expected || 'value' in expected) return { value: live };
  if ('secretRef' in expected) return { secretRef: expected.secretRef, secretHash: hashSecret(live) };
  const groupOf = new Map<string, number>();
  let pattern = '^';
  let last = 0;
  for (const match of expected.template.matchAll(SECRET_PLACEHOLDER)) {
    pattern += escapeRegExp(expected.template.slice(last, match.index));
    const id = `${match[1]}/${match[2]}`;
    const group = groupOf.get(id);
    if (group !== undefined) pattern += `\\${group}`;
    else {
      groupOf.set(id, groupOf.size + 1);
      pattern += '([\\s\\S]*?)';
    }
    last = match.index! + match[0].length;
  }
  pattern += `${escapeRegExp(expected.template.slice(last))}$`;
  const found = new RegExp(pattern).exec(live);
  if (!found) return { template: TEMPLATE_MISMATCH, secrets: [] };
  return {
    template: expected.template,
    secrets: expected.secrets.map((ref) => ({
      name: ref.name,
      key: ref.key,
      secretHash: hashSecret(found[groupOf.get(`${ref.name}/${ref.key}`)!] ?? ''),
    })),
  };
}
