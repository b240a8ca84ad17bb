// Reading a Compose file: YAML, variable interpolation, validation with ajv against the schema of
// what Holdfast supports, `extends` within the file, and profiles. The result is a validated
// document the mapper turns into container specs.

import AjvModule, { type ErrorObject, type ValidateFunction } from 'ajv';
import { CORE_SCHEMA, mergeTag, YAMLException } from 'js-yaml';
import { loadBoundedYaml, YamlLimitError } from '../bounded-yaml.js';
import { posix } from 'node:path';
import { ValidationError, type FieldCause } from '../errors.js';
import { parseDotenv, DotenvError } from './dotenv.js';
import { interpolateDocument } from './interpolate.js';
import { COMPOSE_SCHEMA, COMPOSE_SERVICE_KEYS } from './schema.js';
import type { ComposeDocument, ComposeService } from './types.js';

/** Reads files beside the manifests. Paths are relative to the directory of the manifest. */
export interface SourceReader {
  /** The file's bytes, or undefined when there is no such file (or it is a directory). */
  readFile(path: string): Uint8Array | undefined;
  /** Whether the path is a directory; used to explain why a directory cannot be bind-mounted. */
  isDirectory?(path: string): boolean;
}

export type ComposeSource = { file: string } | { inline: Record<string, unknown> };

export interface LoadComposeOptions {
  source: ComposeSource;
  reader?: SourceReader;
  /** Variables for interpolation, from the Service's env; secret values as `${secret:...}` placeholders. */
  variables: Record<string, string>;
  /** Profiles to enable. */
  profiles: string[];
}

export interface LoadedCompose {
  document: ComposeDocument;
  /** How messages name the file: its path, or `spec.source.compose.inline`. */
  label: string;
  /** Directory of the compose file relative to the manifest's directory (`.` for inline). */
  dir: string;
  /** Lookup for the variables of interpolation: the Service's env, then the `.env` file beside the compose file. */
  variable: (name: string) => string | undefined;
  warnings: string[];
}

export interface Problem {
  path: string;
  message: string;
}

export const INLINE_LABEL = 'spec.source.compose.inline';

/** One error naming the compose file and every problem found, each with its path. */
export function composeError(label: string, problems: Problem[]): ValidationError {
  const causes: FieldCause[] = problems.map((p) => ({
    field: p.path,
    message: p.message,
    reason: p.message.startsWith('not supported:') ? 'FieldValueNotSupported' : 'FieldValueInvalid',
  }));
  const text = problems.map((p) => (p.message.startsWith('not supported:') || p.path === '' ? p.message : `${p.path}: ${p.message}`));
  return new ValidationError(`compose file ${label}: ${text.join('; ')}`, causes);
}

const decoder = new TextDecoder('utf-8', { fatal: false });

export function readText(reader: SourceReader | undefined, path: string): string | undefined {
  const bytes = reader?.readFile(path);
  return bytes === undefined ? undefined : decoder.decode(bytes);
}

const YAML_SCHEMA = CORE_SCHEMA.withTags(mergeTag);

/** The compose file's YAML (merge keys allowed), within the limits of core/bounded-yaml.ts; a refusal names the file. */
export function parseComposeYaml(text: string, path: string): unknown {
  try {
    return loadBoundedYaml(text, { schema: YAML_SCHEMA, filename: path });
  } catch (error) {
    if (error instanceof YamlLimitError) throw composeError(path, [{ path: '', message: `refused: ${error.reason}` }]);
    if (error instanceof YAMLException) throw composeError(path, [{ path: '', message: `not valid YAML: ${error.reason}${error.mark ? ` at line ${error.mark.line + 1}` : ''}` }]);
    throw error;
  }
}

export function loadCompose(options: LoadComposeOptions): LoadedCompose {
  const warnings: string[] = [];
  let raw: unknown;
  let label: string;
  let dir: string;
  if ('file' in options.source) {
    const path = posix.normalize(options.source.file);
    label = path;
    dir = posix.dirname(path);
    const text = readText(options.reader, path);
    if (text === undefined) throw composeError(label, [{ path: '', message: 'file not found beside the manifest' }]);
    raw = parseComposeYaml(text, path);
  } else {
    label = INLINE_LABEL;
    dir = '.';
    raw = structuredClone(options.source.inline);
  }
  if (!raw || typeof raw !== 'object' || Array.isArray(raw)) throw composeError(label, [{ path: '', message: 'must be a mapping with a services key' }]);

  // .env beside the compose file supplies interpolation defaults; the Service's env wins.
  let dotenv: Record<string, string> = {};
  const envPath = posix.join(dir, '.env');
  const envText = readText(options.reader, envPath);
  if (envText !== undefined) {
    try {
      dotenv = parseDotenv(envText, (name) => options.variables[name]);
    } catch (error) {
      if (error instanceof DotenvError) throw composeError(label, [{ path: '', message: `${envPath}: ${error.message}` }]);
      throw error;
    }
  }
  const variable = (name: string) => (name in options.variables ? options.variables[name] : dotenv[name]);
  const missing = new Set<string>();
  const interpolated = interpolateDocument(raw, variable, (name) => missing.add(name));
  if (interpolated.errors.length > 0) throw composeError(label, interpolated.errors);
  for (const name of [...missing].sort()) warnings.push(`variable ${name} is not set; it was replaced by an empty string`);

  const problems = validate(interpolated.value);
  if (problems.length > 0) throw composeError(label, problems);
  let document = interpolated.value as ComposeDocument;
  document = resolveExtends(document, label);
  document = applyProfiles(document, options.profiles, label);
  return { document, label, dir, variable, warnings };
}

// Compiled on first use, not at import: compiling the Compose schema takes a good part of a second,
// and every CLI command imports this module whether it reads a Compose file or not.
let compiled: ValidateFunction | undefined;
function composeSchemaValidator(): ValidateFunction {
  return (compiled ??= new AjvModule.default({ allErrors: true, strict: false, verbose: true }).compile(COMPOSE_SCHEMA));
}

function pathOf(instancePath: string): string {
  if (instancePath === '') return '';
  let out = '';
  for (const segment of instancePath.slice(1).split('/')) {
    const key = segment.replace(/~1/g, '/').replace(/~0/g, '~');
    out += /^\d+$/.test(key) ? `[${key}]` : out === '' ? key : `.${key}`;
  }
  return out;
}

const TYPE_NAMES: Record<string, string> = { object: 'a mapping', array: 'a list', string: 'a string', integer: 'an integer', number: 'a number', boolean: 'a boolean', null: 'null' };

function describeTypes(type: unknown): string {
  const types = (Array.isArray(type) ? type : [type]).map((t) => TYPE_NAMES[String(t)] ?? String(t));
  return types.length === 1 ? types[0] : `${types.slice(0, -1).join(', ')} or ${types[types.length - 1]}`;
}

function validate(document: unknown): Problem[] {
  const validateSchema = composeSchemaValidator();
  if (validateSchema(document)) return [];
  const problems: Problem[] = [];
  const seen = new Set<string>();
  for (const error of validateSchema.errors ?? []) {
    const problem = describe(error);
    if (!problem) continue;
    const key = `${problem.path}\n${problem.message}`;
    if (seen.has(key)) continue;
    seen.add(key);
    problems.push(problem);
  }
  return problems;
}

function describe(error: ErrorObject): Problem | undefined {
  const at = pathOf(error.instancePath);
  switch (error.keyword) {
    case 'additionalProperties': {
      const key = (error.params as { additionalProperty: string }).additionalProperty;
      const path = at === '' ? key : `${at}.${key}`;
      const isServiceKey = /^services\.[^.[]+$/.test(at);
      const unknown = isServiceKey && !COMPOSE_SERVICE_KEYS.has(key) ? ' (not a Compose service key)' : '';
      return { path, message: `not supported: ${path}${unknown}` };
    }
    case 'type':
      return { path: at, message: `must be ${describeTypes((error.params as { type: unknown }).type)}` };
    case 'enum':
      return { path: at, message: `must be one of ${((error.params as { allowedValues: unknown[] }).allowedValues).map((v) => JSON.stringify(v)).join(', ')}` };
    case 'pattern':
      return { path: at, message: `${JSON.stringify(error.data)} is not valid here (must match ${(error.params as { pattern: string }).pattern})` };
    case 'required':
      return { path: at, message: `${(error.params as { missingProperty: string }).missingProperty} is required` };
    case 'propertyNames':
      return undefined; // reported through the pattern error of the name itself
    default:
      return { path: at, message: error.message ?? 'is not valid' };
  }
}

// Compose's merge rules for `extends`: mappings merge (the extending service wins), these lists
// concatenate, volumes and devices merge by container path, command/entrypoint/test are replaced.
const CONCATENATED = new Set(['ports', 'expose', 'dns', 'dns_search', 'dns_opt', 'tmpfs', 'cap_add', 'cap_drop', 'security_opt', 'group_add', 'env_file', 'profiles', 'external_links']);
const DICT_LIKE = new Set(['environment', 'labels', 'sysctls', 'extra_hosts']);
const REPLACED = new Set(['command', 'entrypoint']);

function resolveExtends(document: ComposeDocument, label: string): ComposeDocument {
  const services = document.services ?? {};
  const resolved = new Map<string, ComposeService>();
  const problems: Problem[] = [];
  const resolve = (name: string, chain: string[]): ComposeService | undefined => {
    const done = resolved.get(name);
    if (done) return done;
    const service = services[name];
    if (!service.extends) {
      resolved.set(name, service);
      return service;
    }
    const ext = typeof service.extends === 'string' ? { service: service.extends } : service.extends;
    const path = `services.${name}.extends`;
    if (ext.file !== undefined) {
      problems.push({ path: `${path}.file`, message: `not supported: ${path}.file (extends works within one compose file)` });
      return undefined;
    }
    if (!ext.service) {
      problems.push({ path, message: 'names no service' });
      return undefined;
    }
    if (chain.includes(ext.service)) {
      problems.push({ path, message: `extends cycle: ${[...chain, ext.service].join(' → ')}` });
      return undefined;
    }
    if (!(ext.service in services)) {
      problems.push({ path, message: `service ${JSON.stringify(ext.service)} is not defined in this file` });
      return undefined;
    }
    const base = resolve(ext.service, [...chain, ext.service]);
    if (!base) return undefined;
    const { extends: _extends, ...own } = service;
    const merged = mergeService(base, own);
    resolved.set(name, merged);
    return merged;
  };
  for (const name of Object.keys(services)) resolve(name, [name]);
  if (problems.length > 0) throw composeError(label, problems);
  return { ...document, services: Object.fromEntries(Object.keys(services).map((n) => [n, resolved.get(n)!])) };
}

function toDict(value: unknown): Record<string, unknown> {
  if (Array.isArray(value)) {
    const out: Record<string, unknown> = {};
    for (const item of value as string[]) {
      const eq = item.indexOf('=');
      if (eq < 0) out[item] = null;
      else out[item.slice(0, eq)] = item.slice(eq + 1);
    }
    return out;
  }
  return { ...((value as Record<string, unknown>) ?? {}) };
}

function mountTarget(item: unknown): string {
  if (typeof item === 'string') {
    const parts = item.split(':');
    return parts.length === 1 ? parts[0] : parts[1];
  }
  const obj = item as { target?: string; source?: string };
  return obj.target ?? obj.source ?? JSON.stringify(item);
}

function mergeService(base: ComposeService, own: ComposeService): ComposeService {
  const out: Record<string, unknown> = structuredClone(base) as Record<string, unknown>;
  for (const [key, value] of Object.entries(own)) {
    const prev = out[key];
    if (prev === undefined || value === null || REPLACED.has(key)) out[key] = structuredClone(value);
    else if (CONCATENATED.has(key)) {
      const list = (x: unknown) => (Array.isArray(x) ? x : [x]);
      const seen = new Set<string>();
      out[key] = [...list(prev), ...list(value)].filter((item) => {
        const id = JSON.stringify(item);
        if (seen.has(id)) return false;
        seen.add(id);
        return true;
      });
    } else if (DICT_LIKE.has(key) && !(key === 'extra_hosts' && (Array.isArray(prev) || Array.isArray(value)))) {
      out[key] = { ...toDict(prev), ...toDict(value) };
    } else if (key === 'extra_hosts') {
      out[key] = [...new Set([...(prev as string[]), ...(value as string[])])];
    } else if (key === 'volumes' || key === 'devices' || key === 'secrets' || key === 'configs') {
      const byTarget = new Map<string, unknown>();
      for (const item of [...(prev as unknown[]), ...(value as unknown[])]) byTarget.set(key === 'volumes' || key === 'devices' ? mountTarget(item) : JSON.stringify(item), item);
      out[key] = [...byTarget.values()];
    } else if (key === 'healthcheck' || key === 'deploy' || key === 'logging' || key === 'build' || key === 'ulimits' || key === 'networks' || key === 'depends_on') {
      out[key] = mergeMapping(prev, value);
    } else out[key] = structuredClone(value);
  }
  return out as ComposeService;
}

function isMapping(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function mergeMapping(prev: unknown, value: unknown): unknown {
  if (!isMapping(prev) || !isMapping(value)) {
    if (Array.isArray(prev) && Array.isArray(value)) return [...new Set([...prev, ...value])];
    return structuredClone(value);
  }
  const out: Record<string, unknown> = { ...prev };
  for (const [k, v] of Object.entries(value)) {
    out[k] = k === 'test' || !isMapping(out[k]) || !isMapping(v) ? structuredClone(v) : mergeMapping(out[k], v);
  }
  return out;
}

function applyProfiles(document: ComposeDocument, profiles: string[], label: string): ComposeDocument {
  const services = document.services ?? {};
  const enabled = (service: ComposeService) =>
    !service.profiles || service.profiles.length === 0 || profiles.includes('*') || service.profiles.some((p) => profiles.includes(p));
  const kept: Record<string, ComposeService> = {};
  const problems: Problem[] = [];
  for (const [name, service] of Object.entries(services)) {
    if (!enabled(service)) continue;
    const dependsOn = service.depends_on;
    if (dependsOn && !Array.isArray(dependsOn)) {
      const filtered: typeof dependsOn = {};
      for (const [dep, condition] of Object.entries(dependsOn)) {
        const target = services[dep];
        const required = condition.required === undefined || condition.required === true || condition.required === 'true';
        if (target && !enabled(target)) {
          if (required) problems.push({ path: `services.${name}.depends_on.${dep}`, message: `service ${dep} is not enabled by the selected profiles (${profiles.join(', ') || 'none'})` });
          continue;
        }
        filtered[dep] = condition;
      }
      kept[name] = { ...service, depends_on: filtered };
    } else {
      for (const dep of (dependsOn as string[] | undefined) ?? []) {
        const target = services[dep];
        if (target && !enabled(target)) problems.push({ path: `services.${name}.depends_on`, message: `service ${dep} is not enabled by the selected profiles (${profiles.join(', ') || 'none'})` });
      }
      kept[name] = service;
    }
  }
  if (problems.length > 0) throw composeError(label, problems);
  if (Object.keys(kept).length === 0) throw composeError(label, [{ path: 'services', message: `no service is enabled by the selected profiles (${profiles.join(', ') || 'none'})` }]);
  return { ...document, services: kept };
}
