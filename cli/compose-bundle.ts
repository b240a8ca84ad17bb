// A Service whose source is a Compose file beside its manifest: the control plane cannot read the
// user's checkout, so apply (and diff) carry the file's content in spec.source.compose.files, with
// the files it refers to (.env, env_file, secret and config files, bind-mounted files), keyed by
// their path relative to the manifest's directory — the paths the compose loader asks for.
import { readFileSync, statSync } from 'node:fs';
import { dirname, posix, resolve } from 'node:path';
import { CORE_SCHEMA, load as loadYaml, mergeTag } from 'js-yaml';
import type { ManifestObject, ManifestProblem } from './manifests.js';

const MAX_FILE_BYTES = 1024 * 1024;
const YAML_SCHEMA = CORE_SCHEMA.withTags(mergeTag);

type ComposeSpec = { file?: string; inline?: unknown; files?: Record<string, string>; profiles?: string[] };

/** Fills spec.source.compose.files for every Service that names a compose file; returns what went wrong. */
export function bundleComposeFiles(objects: ManifestObject[], cwd = process.cwd()): ManifestProblem[] {
  const problems: ManifestProblem[] = [];
  for (const m of objects) {
    if (m.kind.kind !== 'Service') continue;
    const compose = ((m.object.spec as { source?: { compose?: ComposeSpec } } | undefined)?.source?.compose) as ComposeSpec | undefined;
    if (!compose?.file) continue;
    const baseDir = m.source === '-' ? cwd : dirname(resolve(cwd, m.source));
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
    const composePath = posix.normalize(compose.file);
    const text = read(composePath, true);
    if (text === undefined) continue;
    let doc: Record<string, any>;
    try {
      doc = (loadYaml(text, { schema: YAML_SCHEMA, filename: composePath }) ?? {}) as Record<string, any>;
    } catch (err) {
      problem(`${composePath}: not valid YAML: ${(err as { reason?: string }).reason ?? (err as Error).message}`);
      continue;
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
    for (const section of ['secrets', 'configs'] as const) {
      for (const entry of Object.values<Record<string, any>>(doc[section] ?? {})) {
        if (entry && typeof entry.file === 'string') read(near(entry.file), true);
      }
    }
    compose.files = files;
  }
  return problems;
}
