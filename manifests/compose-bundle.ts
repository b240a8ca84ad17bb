// A Service whose source is a Compose file beside its manifest: the control plane cannot read the
// user's checkout, so apply (and diff) carry the file's content in spec.source.compose.files, with
// the files it refers to (.env, env_file, config files, bind-mounted files), keyed by
// their path relative to the manifest's directory — the paths the compose loader asks for. A
// `build:` context beside the compose file is packed into a tar (manifests/build-context-pack.ts): its
// digest goes into spec.source.compose.buildContexts, the tar to the control plane before the write.
import { readFileSync, statSync } from 'node:fs';
import { dirname, posix, resolve } from 'node:path';
import { parseComposeYaml } from '../core/compose/load.js';
import { ValidationError } from '../core/errors.js';
import { ContextPackError, packBuildContext } from './build-context-pack.js';
import type { ContextArchive, ManifestObject, ManifestProblem } from './load.js';

const MAX_FILE_BYTES = 1024 * 1024;

type ComposeSpec = { file?: string; inline?: unknown; files?: Record<string, string>; buildContexts?: Record<string, string>; profiles?: string[] };

export interface BundleOptions {
  /**
   * Also pack every `build:` context into its tar (apply and diff): the digests go into
   * spec.source.compose.buildContexts, the tars onto the manifest object for upload.
   */
  buildContexts?: boolean;
}

/**
 * Fills spec.source.compose.files for every Service that names a compose file, and with
 * `buildContexts` spec.source.compose.buildContexts; returns what went wrong.
 */
export function bundleComposeFiles(objects: ManifestObject[], cwd = process.cwd(), opts: BundleOptions = {}): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  for (const m of objects) {
    if (m.kind.kind !== 'Service') continue;
    const compose = ((m.object.spec as { source?: { compose?: ComposeSpec } } | undefined)?.source?.compose) as ComposeSpec | undefined;
    if (!compose) continue;
    const baseDir = m.source === '-' ? cwd : dirname(resolve(cwd, m.source));
    if (compose.file) {
      const doc = bundleFiles(m, compose, baseDir, problems);
      if (doc && opts.buildContexts) bundleBuildContexts(m, compose, doc, posix.dirname(posix.normalize(compose.file)), baseDir, problems);
    } else if (opts.buildContexts && compose.inline && typeof compose.inline === 'object') {
      bundleBuildContexts(m, compose, compose.inline as Record<string, any>, '.', baseDir, problems);
    }
  }
  return problems;
}

/** Reads the compose file and its neighbours into compose.files; returns the parsed document. */
function bundleFiles(m: ManifestObject, compose: ComposeSpec, baseDir: string, problems: ManifestProblem[]): Record<string, any> | undefined {
  const problem = (message: string) => problems.push({ source: m.source, document: m.document, field: 'spec.source.compose.file', message });
  const files: Record<string, string> = {};
  const read = (rel: string, required: boolean): string | undefined => {
    const key = posix.normalize(rel);
    if (key in files) return files[key];
    const abs = resolve(baseDir, key);
    let size: number;
    try {
      const st = statSync(abs);
      if (!st.isFile()) {
        if (required) problem(`${key} is not a file`);
        return undefined;
      }
      size = st.size;
    } catch {
      if (required) problem(`${key}: no such file (paths are relative to ${m.source === '-' ? 'the current directory' : `the directory of ${m.source}`})`);
      return undefined;
    }
    if (size > MAX_FILE_BYTES) {
      problem(`${key} is larger than ${MAX_FILE_BYTES} bytes`);
      return undefined;
    }
    const text = readFileSync(abs, 'utf8');
    files[key] = text;
    return text;
  };
  const composePath = posix.normalize(compose.file!);
  const text = read(composePath, true);
  if (text === undefined) return undefined;
  let doc: Record<string, any>;
  try {
    doc = (parseComposeYaml(text, composePath) ?? {}) as Record<string, any>;
  } catch (err) {
    if (!(err instanceof ValidationError)) throw err;
    problem(err.message);
    return undefined;
  }
  const dir = posix.dirname(composePath);
  const near = (ref: string) => posix.join(dir, ref);
  read(near('.env'), false);
  for (const service of Object.values<Record<string, any>>(doc.services ?? {})) {
    if (!service || typeof service !== 'object') continue;
    const envFiles = service.env_file === undefined ? [] : Array.isArray(service.env_file) ? service.env_file : [service.env_file];
    for (const e of envFiles) {
      const path = typeof e === 'string' ? e : e?.path;
      if (typeof path === 'string') read(near(path), typeof e === 'string' || e?.required !== false);
    }
    for (const v of Array.isArray(service.volumes) ? service.volumes : []) {
      const source = typeof v === 'string' ? v.split(':')[0] : v?.type === 'bind' ? v.source : undefined;
      // Only relative bind mounts of files travel with the manifest; directories are refused by the loader.
      if (typeof source === 'string' && (source.startsWith('./') || source.startsWith('../'))) read(near(source), false);
    }
  }
  // Secret files stay on this machine: the loader refuses them (they would be stored in clear).
  for (const entry of Object.values<Record<string, any>>(doc.configs ?? {})) {
    if (entry && typeof entry.file === 'string') read(near(entry.file), true);
  }
  compose.files = files;
  return doc;
}

/**
 * Packs each compose service's local build context (a directory relative to the compose file),
 * once per directory; records its digest by the path relative to the manifest's directory, the key
 * the compose mapping looks it up by.
 */
function bundleBuildContexts(m: ManifestObject, compose: ComposeSpec, doc: Record<string, any>, dir: string, baseDir: string, problems: ManifestProblem[]) {
  const field = compose.file ? 'spec.source.compose.file' : 'spec.source.compose.inline';
  const digests: Record<string, string> = {};
  const archives = new Map<string, ContextArchive>();
  const services = doc.services && typeof doc.services === 'object' ? (doc.services as Record<string, any>) : {};
  for (const [name, service] of Object.entries(services)) {
    const build = service && typeof service === 'object' ? service.build : undefined;
    if (build === undefined || build === null) continue;
    const raw = typeof build === 'string' ? { context: build } : typeof build === 'object' ? build : {};
    const context = typeof raw.context === 'string' ? raw.context : '.';
    // Remote and absolute contexts, and ones that need interpolation, are the compose mapping's to refuse.
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(context) || context.startsWith('git@') || context.startsWith('/') || context.includes('$')) continue;
    const key = posix.normalize(posix.join(dir, context));
    const dockerfile = typeof raw.dockerfile === 'string' ? raw.dockerfile : 'Dockerfile';
    const where = `${compose.file ? `${compose.file}: ` : ''}services.${name}.build`;
    const id = `${key}\0${dockerfile}`;
    if (archives.has(id)) continue;
    try {
      const packed = packBuildContext(resolve(baseDir, key), { dockerfile });
      archives.set(id, { context: key, digest: packed.digest, tar: packed.tar });
      digests[key] = packed.digest;
    } catch (err) {
      if (!(err instanceof ContextPackError)) throw err;
      problems.push({ source: m.source, document: m.document, field, message: `${where}: the build context ${key} ${err.message}` });
    }
  }
  if (archives.size === 0) return;
  compose.buildContexts = digests;
  const unique = new Map([...archives.values()].map((a) => [a.digest, a]));
  m.buildContexts = [...unique.values()];
}
