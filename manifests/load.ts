// Loading manifests for apply, delete and diff: files, directories, multi-document YAML, stdin.
// Everything is parsed and checked before anything is written, and every problem names its file,
// its document (1-based, as counted by the YAML `---` separators) and the field.
import { readdir, readFile, realpath, stat } from 'node:fs/promises';
import { extname, join } from 'node:path';
import { YAMLException } from 'js-yaml';
import { loadAllBoundedYaml, YamlLimitError } from '../core/bounded-yaml.js';
import { APPLY_ORDER } from '../core/apply-order.js';
import { ValidationError } from '../core/errors.js';
import { API_VERSION, DNS1123_LABEL, DNS1123_LABEL_MAX, KINDS, kindInfo, type KindInfo, type Resource } from '../core/resource.js';
import { validateObject } from '../core/schema/validate.js';
import { bundleComposeFiles, type BundleOptions } from './compose-bundle.js';
import { ManifestError, type ManifestProblem } from './manifest-error.js';

export { ManifestError, formatProblem, type ManifestProblem } from './manifest-error.js';

export const STDIN_PATH = '-';
export const STDIN_NAME = '<stdin>';
const MANIFEST_EXTENSIONS = new Set(['.yaml', '.yml', '.json']);

export interface ManifestSource {
  /** A file path as the user gave it (or found under a directory), or `<stdin>`. */
  name: string;
  text: string;
  /** Found by walking a directory rather than named: such a file may be something else (a Compose file). */
  foundInDirectory?: boolean;
}

export interface ManifestObject {
  object: Resource;
  kind: KindInfo;
  source: string;
  /** 1-based index of the YAML document in its source. */
  document: number;
  /** Field path prefix when the object came from a `List` document, e.g. `items[2]`. */
  itemPath?: string;
  /** Build context tars of a compose Service (see compose-bundle.ts): uploaded before the object is written. */
  buildContexts?: ContextArchive[];
}

/** A packed build context directory: its path relative to the manifest's directory, digest and tar. */
export interface ContextArchive {
  context: string;
  digest: string;
  tar: Buffer;
}

export function skippedFileWarning(name: string): string {
  return `Warning: skipped ${name}: no document in it has an apiVersion or kind, so it holds no Holdfast objects\n`;
}

/** Where an object came from, for messages: `web.yaml (document 2)`. */
export function describeOrigin(m: Pick<ManifestObject, 'source' | 'document' | 'itemPath'>): string {
  return `"${m.source}" (document ${m.document}${m.itemPath ? `, ${m.itemPath}` : ''})`;
}

// ---------------------------------------------------------------------------------------------
// Reading

export interface ReadOptions {
  recursive?: boolean;
  readStdin?: () => Promise<string>;
}

/**
 * Expands `-f` arguments into sources, in order: files as given (any extension), directories'
 * .yaml/.yml/.json files sorted by name (descending into subdirectories with `recursive`), `-` as stdin.
 */
export async function readManifestSources(paths: string[], opts: ReadOptions = {}): Promise<ManifestSource[]> {
  const sources: ManifestSource[] = [];
  const problems: ManifestProblem[] = [];
  let stdinUsed = false;
  for (const path of paths) {
    if (path === STDIN_PATH) {
      if (stdinUsed) {
        problems.push({ source: STDIN_NAME, message: 'standard input can be read only once: pass "-f -" once' });
        continue;
      }
      stdinUsed = true;
      const text = opts.readStdin ? await opts.readStdin() : await readAllStdin();
      sources.push({ name: STDIN_NAME, text });
      continue;
    }
    let files: string[];
    try {
      files = await expandPath(path, opts.recursive ?? false);
    } catch (err) {
      problems.push({ source: path, message: describeFsError(path, err) });
      continue;
    }
    for (const file of files) {
      try {
        sources.push({ name: file, text: await readFile(file, 'utf8'), ...(file !== path ? { foundInDirectory: true } : {}) });
      } catch (err) {
        problems.push({ source: file, message: describeFsError(file, err) });
      }
    }
  }
  if (problems.length) throw new ManifestError(problems);
  return sources;
}

async function expandPath(path: string, recursive: boolean): Promise<string[]> {
  const info = await stat(path);
  if (!info.isDirectory()) return [path];
  const files: string[] = [];
  const visited = new Set<string>();
  const walk = async (dir: string, depth: number) => {
    const real = await realpath(dir);
    if (visited.has(real)) return; // a symlink loop
    visited.add(real);
    const entries = (await readdir(dir, { withFileTypes: true })).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      const isDir = entry.isDirectory() || (entry.isSymbolicLink() && (await stat(full).catch(() => undefined))?.isDirectory());
      if (isDir) {
        // Hidden directories (.git, .github) hold no manifests.
        if (recursive && !entry.name.startsWith('.')) await walk(full, depth + 1);
      } else if (MANIFEST_EXTENSIONS.has(extname(entry.name).toLowerCase())) {
        files.push(full);
      }
    }
  };
  await walk(path, 0);
  return files;
}

function describeFsError(path: string, err: unknown): string {
  switch ((err as NodeJS.ErrnoException).code) {
    case 'ENOENT':
      return `the path "${path}" does not exist`;
    case 'EACCES':
    case 'EPERM':
      return `permission denied reading "${path}"`;
    case 'EISDIR':
      return `"${path}" is a directory`;
    default:
      return `cannot read "${path}": ${(err as Error).message}`;
  }
}

async function readAllStdin(): Promise<string> {
  const chunks: Buffer[] = [];
  for await (const chunk of process.stdin) chunks.push(chunk as Buffer);
  return Buffer.concat(chunks).toString('utf8');
}

// ---------------------------------------------------------------------------------------------
// Parsing and checking (pure)

/** One YAML document's object (or one item of a `List` document), not yet checked across documents. */
interface ParsedObject {
  value: unknown;
  source: string;
  document: number;
  itemPath?: string;
}

/**
 * Splits a source into its YAML documents; empty documents are skipped but keep their number.
 * A file found under a directory in which no document has an apiVersion or a kind is not a
 * manifest at all (a Compose file a Service points at, say): it is `skipped`, not an error.
 */
export function parseManifestText(source: ManifestSource): { objects: ParsedObject[]; problems: ManifestProblem[]; skipped?: boolean } {
  let documents: unknown[];
  try {
    documents = loadAllBoundedYaml(source.text, { filename: source.name });
  } catch (err) {
    if (err instanceof YamlLimitError) return { objects: [], problems: [{ source: source.name, message: `refused: ${err.reason}` }] };
    if (err instanceof YAMLException) {
      const line = err.mark?.line;
      const where = line !== undefined ? ` at line ${line + 1}, column ${(err.mark?.column ?? 0) + 1}` : '';
      return {
        objects: [],
        problems: [
          {
            source: source.name,
            document: line !== undefined ? documentIndexAtLine(source.text, line) : undefined,
            message: `invalid YAML${where}: ${err.reason}`,
          },
        ],
      };
    }
    throw err;
  }
  if (source.foundInDirectory && !documents.some(looksLikeObject)) return { objects: [], problems: [], skipped: true };
  const objects: ParsedObject[] = [];
  const problems: ManifestProblem[] = [];
  documents.forEach((value, i) => {
    const document = i + 1;
    if (value === null || value === undefined) return;
    const doc = value as Record<string, unknown>;
    if (isPlainObject(doc) && doc.kind === 'List') {
      if (!Array.isArray(doc.items)) {
        problems.push({ source: source.name, document, field: 'items', message: 'a List needs an items list' });
        return;
      }
      doc.items.forEach((item, j) => objects.push({ value: item, source: source.name, document, itemPath: `items[${j}]` }));
      return;
    }
    objects.push({ value, source: source.name, document });
  });
  return { objects, problems };
}

function looksLikeObject(document: unknown): boolean {
  return isPlainObject(document) && ('apiVersion' in document || 'kind' in document);
}

/**
 * The 1-based document that holds 0-based `line`, counted the way a YAML parser does: each `---`
 * starts a document, and content before the first `---` (or after a `...`) is a document of its own.
 */
export function documentIndexAtLine(text: string, line: number): number {
  const lines = text.split(/\r?\n/);
  let index = 0;
  let inDocument = false;
  for (let i = 0; i <= line && i < lines.length; i++) {
    const l = lines[i];
    if (/^---(\s|$)/.test(l)) {
      index++;
      inDocument = true;
    } else if (/^\.\.\.(\s|$)/.test(l)) {
      inDocument = false;
    } else if (!inDocument && l.trim() !== '' && !l.startsWith('#') && !l.startsWith('%')) {
      index++;
      inDocument = true;
    }
  }
  return Math.max(index, 1);
}

export interface CheckOptions {
  /** `-n`: the namespace for namespaced objects that name none; must match those that do. */
  namespace?: string;
  /** Kinds the verb cannot take (apply refuses Events, which only the server records). */
  refuseKinds?: string[];
  /** Told about each file under a directory that holds no manifests (see parseManifestText). */
  onSkippedFile?: (name: string) => void;
  /**
   * Also validate each object against its kind's schema (the CRDs, as the server does), so a
   * schema error anywhere stops the whole apply before its first write. Off for delete, which
   * needs only names.
   */
  validateSchema?: boolean;
}

const SERVER_OWNED_TOP_LEVEL = new Set(['apiVersion', 'kind', 'metadata', 'spec', 'status']);

/** Checks every object, fills in namespaces from `-n`, and rejects the same object defined twice. */
export function checkManifests(parsed: ParsedObject[], opts: CheckOptions = {}): { objects: ManifestObject[]; problems: ManifestProblem[] } {
  const objects: ManifestObject[] = [];
  const problems: ManifestProblem[] = [];
  const seen = new Map<string, ParsedObject>();
  for (const p of parsed) {
    const found: ManifestProblem[] = [];
    const at = (field: string | undefined, message: string) =>
      found.push({ source: p.source, document: p.document, field: p.itemPath && field ? `${p.itemPath}.${field}` : (field ?? p.itemPath), message });
    const checked = checkObject(p.value, opts, at);
    if (checked && !found.length && opts.validateSchema) {
      for (const cause of schemaCauses(checked.object)) at(cause.field || undefined, cause.message);
    }
    problems.push(...found);
    if (!checked || found.length) continue;
    const { object, kind } = checked;
    const identity = `${kind.kind}/${object.metadata.namespace ?? ''}/${object.metadata.name}`;
    const first = seen.get(identity);
    if (first) {
      at(undefined, `${kind.kind} "${qualifiedName(object)}" is already defined in ${first.source} (document ${first.document}${first.itemPath ? `, ${first.itemPath}` : ''})`);
      problems.push(...found);
      continue;
    }
    seen.set(identity, p);
    objects.push({ object, kind, source: p.source, document: p.document, itemPath: p.itemPath });
  }
  return { objects, problems };
}

function checkObject(
  value: unknown,
  opts: CheckOptions,
  at: (field: string | undefined, message: string) => void,
): { object: Resource; kind: KindInfo } | undefined {
  if (!isPlainObject(value)) {
    at(undefined, `expected a mapping with apiVersion, kind and metadata, got ${typeName(value)}`);
    return undefined;
  }
  const apiVersion = value.apiVersion;
  if (apiVersion === undefined) at('apiVersion', `required (use ${API_VERSION})`);
  else if (apiVersion !== API_VERSION) at('apiVersion', `unsupported "${String(apiVersion)}": Holdfast objects use ${API_VERSION}`);

  let kind: KindInfo | undefined;
  if (value.kind === undefined) at('kind', `required (one of ${applicableKinds(opts).join(', ')})`);
  else if (typeof value.kind !== 'string') at('kind', `must be a string, got ${typeName(value.kind)}`);
  else {
    kind = kindInfo(value.kind);
    if (!kind) {
      const near = KINDS.find((k) => k.kind.toLowerCase() === String(value.kind).toLowerCase());
      at('kind', near ? `unknown kind "${value.kind}": did you mean "${near.kind}"?` : `unknown kind "${value.kind}": expected one of ${applicableKinds(opts).join(', ')}`);
    } else if (opts.refuseKinds?.includes(kind.kind)) {
      at('kind', `${kind.kind} objects are recorded by Holdfast itself and cannot be written from manifests`);
      kind = undefined;
    }
  }

  const metadata = value.metadata;
  if (metadata === undefined) {
    at('metadata', 'required (with at least metadata.name)');
    return undefined;
  }
  if (!isPlainObject(metadata)) {
    at('metadata', `must be a mapping, got ${typeName(metadata)}`);
    return undefined;
  }
  checkName(metadata.name, 'metadata.name', true, at);
  checkStringMap(metadata.labels, 'metadata.labels', at);
  checkStringMap(metadata.annotations, 'metadata.annotations', at);

  let namespace: string | undefined;
  if (metadata.namespace !== undefined) {
    if (checkName(metadata.namespace, 'metadata.namespace', false, at)) namespace = metadata.namespace as string;
  }
  if (kind && !kind.namespaced && namespace !== undefined) {
    at('metadata.namespace', `${kind.kind} is cluster-scoped and takes no namespace; remove it`);
  }
  if (kind?.namespaced) {
    if (namespace !== undefined && opts.namespace !== undefined && namespace !== opts.namespace) {
      at('metadata.namespace', `"${namespace}" does not match --namespace "${opts.namespace}"`);
    } else if (namespace === undefined && metadata.namespace === undefined) {
      if (opts.namespace !== undefined) namespace = opts.namespace;
      else at('metadata.namespace', `required for ${kind.kind} (the Project it belongs to): set it or pass -n PROJECT`);
    }
  }

  if (kind?.hasSpec) {
    if (value.spec !== undefined && value.spec !== null && !isPlainObject(value.spec)) at('spec', `must be a mapping, got ${typeName(value.spec)}`);
    for (const field of Object.keys(value)) {
      if (!SERVER_OWNED_TOP_LEVEL.has(field)) at(field, `unknown field: ${kind.kind} settings belong under spec`);
    }
  }
  if (!kind) return undefined;
  const object = { ...value, metadata: { ...metadata, ...(namespace !== undefined && kind.namespaced ? { namespace } : {}) } } as Resource;
  return { object, kind };
}

/** What the kind's schema finds wrong with an object (values of write-only kinds are not quoted). */
function schemaCauses(object: Resource): Array<{ field: string; message: string }> {
  try {
    validateObject(object);
    return [];
  } catch (err) {
    if (err instanceof ValidationError) return err.causes;
    throw err;
  }
}

function checkName(name: unknown, field: string, required: boolean, at: (field: string, message: string) => void): boolean {
  if (name === undefined || name === null || name === '') {
    if (required) at(field, 'required');
    return false;
  }
  if (typeof name !== 'string') {
    at(field, `must be a string, got ${typeName(name)}`);
    return false;
  }
  if (name.length > DNS1123_LABEL_MAX || !DNS1123_LABEL.test(name)) {
    at(field, `invalid name "${name}": lowercase letters, digits and '-', starting and ending with a letter or digit, at most ${DNS1123_LABEL_MAX} characters`);
    return false;
  }
  return true;
}

function checkStringMap(value: unknown, field: string, at: (field: string, message: string) => void): void {
  if (value === undefined || value === null) return;
  if (!isPlainObject(value)) {
    at(field, `must be a mapping of strings, got ${typeName(value)}`);
    return;
  }
  for (const [key, v] of Object.entries(value)) {
    if (typeof v !== 'string') at(`${field}.${key}`, `must be a string, got ${typeName(v)} (quote the value)`);
  }
}

function applicableKinds(opts: CheckOptions): string[] {
  return KINDS.map((k) => k.kind).filter((k) => !opts.refuseKinds?.includes(k));
}

function qualifiedName(obj: Resource): string {
  return obj.metadata.namespace ? `${obj.metadata.namespace}/${obj.metadata.name}` : obj.metadata.name;
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return !!value && typeof value === 'object' && !Array.isArray(value);
}

function typeName(value: unknown): string {
  if (value === null || value === undefined) return 'nothing';
  if (Array.isArray(value)) return 'a list';
  if (typeof value === 'object') return 'a mapping';
  return `a ${typeof value} (${JSON.stringify(value)})`;
}

/** Parses and checks every source; throws one ManifestError listing every problem found. */
export function parseManifests(sources: ManifestSource[], opts: CheckOptions = {}): ManifestObject[] {
  const parsed: ParsedObject[] = [];
  const problems: ManifestProblem[] = [];
  for (const source of sources) {
    const result = parseManifestText(source);
    if (result.skipped) opts.onSkippedFile?.(source.name);
    parsed.push(...result.objects);
    problems.push(...result.problems);
  }
  const checked = checkManifests(parsed, opts);
  problems.push(...checked.problems);
  if (problems.length) throw new ManifestError(problems);
  return checked.objects;
}

/** Reads, parses and checks everything `-f` names. */
export async function loadManifests(paths: string[], opts: ReadOptions & CheckOptions & BundleOptions = {}): Promise<ManifestObject[]> {
  const objects = parseManifests(await readManifestSources(paths, opts), opts);
  const problems = bundleComposeFiles(objects, process.cwd(), { buildContexts: opts.buildContexts });
  if (problems.length) throw new ManifestError(problems);
  return objects;
}

// ---------------------------------------------------------------------------------------------
// Ordering

export function sortForApply(objects: ManifestObject[]): ManifestObject[] {
  return stableSortByKind(objects, APPLY_ORDER);
}

export function sortForDelete(objects: ManifestObject[]): ManifestObject[] {
  return stableSortByKind(objects, [...APPLY_ORDER].reverse());
}

function stableSortByKind(objects: ManifestObject[], order: string[]): ManifestObject[] {
  const rank = (m: ManifestObject) => {
    const i = order.indexOf(m.kind.kind);
    return i < 0 ? order.length : i;
  };
  return objects
    .map((m, i) => ({ m, i }))
    .sort((a, b) => rank(a.m) - rank(b.m) || a.i - b.i)
    .map(({ m }) => m);
}
