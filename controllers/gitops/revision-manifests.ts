// Reads one revision's manifests as `holdfast apply -R -f PATH` reads a directory: every
// .yaml/.yml/.json file under `path` (hidden directories and `ignore` patterns left out), parsed,
// checked against the schemas, with compose files beside them bundled into their Services. Files are
// named relative to the repository root, so every problem points at a file of the repository.
// Files encrypted with SOPS are decrypted in memory before they are parsed.
import { realpath } from 'node:fs/promises';
import { relative, resolve, sep } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { dump } from 'js-yaml';
import { bundleComposeFiles } from '../../manifests/compose-bundle.js';
import { ManifestError, parseManifests, readManifestSources, type ManifestObject, type ManifestProblem, type ManifestSource } from '../../manifests/load.js';
import { loadAllBoundedYaml } from '../../core/bounded-yaml.js';
import { sopsMetadata } from '../../security/sops.js';

export interface RevisionReadOptions {
  /** Namespaced objects that name no namespace go here; those that name another are refused. */
  namespace: string;
  /** Paths relative to `path`, in .dockerignore syntax, not read. */
  ignore?: string[];
  /** A `path` the revision lacks (git keeps no empty directory) reads as no manifests instead of an error. */
  allowMissingPath?: boolean;
  /** Decrypts a SOPS file's documents (named relative to the root); without it a SOPS file is refused. */
  decrypt?: (file: string, documents: unknown[]) => Promise<unknown[]>;
}

// A top-level `sops:` key (YAML) or `"sops":` member (JSON): worth parsing to look for SOPS metadata.
const MAYBE_SOPS = /(^|\n)\s*"?sops"?\s*:/;

/** Every object of the revision checked out at `root`, under `path`; throws ManifestError listing every problem. */
export async function readRevisionManifests(root: string, path: string, opts: RevisionReadOptions): Promise<ManifestObject[]> {
  const realRoot = await realpath(root);
  const base = resolve(realRoot, path || '.');
  const shown = relative(realRoot, base) || '.';
  if (shown.startsWith('..')) throw new ManifestError([{ source: path, message: 'spec.path must stay inside the repository' }]);
  let sources: ManifestSource[];
  try {
    sources = await readManifestSources([base], { recursive: true });
  } catch (err) {
    if (err instanceof ManifestError) {
      if (opts.allowMissingPath) return [];
      throw new ManifestError([{ source: shown, message: `the path "${shown}" does not exist in the revision (set spec.allowEmpty: true to apply a revision without it)` }]);
    }
    throw err;
  }
  const ignored = dockerignore.default({ ignorecase: false }).add(opts.ignore ?? []);
  const kept: ManifestSource[] = [];
  const problems: ManifestProblem[] = [];
  for (const source of sources) {
    const name = relative(realRoot, source.name);
    if (ignored.ignores(relative(base, source.name).split(sep).join('/'))) continue;
    // A link that leads out of the repository would read the control plane's own files.
    const target = await realpath(source.name);
    if (target !== realRoot && !target.startsWith(realRoot + sep)) {
      problems.push({ source: name, message: 'a symbolic link that points outside the repository' });
      continue;
    }
    kept.push({ ...source, name, text: await decryptedText(name, source.text, opts, problems) });
  }
  if (problems.length) throw new ManifestError(problems);
  const objects = parseManifests(kept, { namespace: opts.namespace, refuseKinds: ['Event'], validateSchema: true });
  const bundleProblems = bundleComposeFiles(objects, realRoot);
  if (bundleProblems.length) throw new ManifestError(bundleProblems);
  return objects;
}

/** The text of a SOPS file in clear (YAML, in memory only); any other file as it is. */
async function decryptedText(name: string, text: string, opts: RevisionReadOptions, problems: ManifestProblem[]): Promise<string> {
  if (!MAYBE_SOPS.test(text)) return text;
  let documents: unknown[];
  try {
    documents = loadAllBoundedYaml(text, { filename: name });
  } catch {
    return text; // parsing it again reports where the YAML is broken
  }
  if (!sopsMetadata(documents)) return text;
  if (!opts.decrypt) {
    problems.push({ source: name, message: 'the file is encrypted with SOPS: set spec.decryption (provider sops, secretRef naming a Secret with the age key) to apply it' });
    return text;
  }
  const clear = await opts.decrypt(name, documents);
  return clear.map((doc) => dump(doc, { noRefs: true, lineWidth: -1 })).join('---\n');
}
