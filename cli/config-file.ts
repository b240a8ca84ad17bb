// The CLI's named contexts, kubeconfig-style, in ~/.config/holdfast/config (YAML, mode 0600):
//
//   apiVersion: holdfast.dev/v1alpha1
//   kind: Config
//   current-context: prod
//   contexts:
//     - name: prod
//       context: { server: https://hf.example:7420, certificate-authority: /home/me/prod-ca.crt, token: hft_…, namespace: shop }
//
// A context without a token uses the session of `holdfast login` (then the admin token); its
// namespace is the project commands use when -n is not given, as kubectl's is. Pure:
// parsing, choosing and changing; cli/commands/config.ts reads and writes the file.
import { dump, load } from 'js-yaml';
import { HoldfastError } from '../core/errors.js';
import { API_VERSION, DNS1123_LABEL, DNS1123_LABEL_MAX } from '../core/resource.js';

export interface ContextSettings {
  server?: string;
  'certificate-authority'?: string;
  token?: string;
  /** The project (namespace) of commands run without -n. */
  namespace?: string;
}

export interface NamedContext {
  name: string;
  context: ContextSettings;
}

export interface ConfigFile {
  apiVersion: string;
  kind: 'Config';
  'current-context'?: string;
  contexts: NamedContext[];
}

const SETTINGS: ReadonlyArray<keyof ContextSettings> = ['server', 'certificate-authority', 'token', 'namespace'];
const NAMESPACE_RULE = `must be a project name (lower-case letters, digits and '-', at most ${DNS1123_LABEL_MAX} characters)`;
const validNamespace = (name: string) => DNS1123_LABEL.test(name) && name.length <= DNS1123_LABEL_MAX;
const CONTEXT_NAME = /^[A-Za-z0-9]([-A-Za-z0-9_.@]{0,251}[A-Za-z0-9])?$/;

export const emptyConfig = (): ConfigFile => ({ apiVersion: API_VERSION, kind: 'Config', contexts: [] });

/** The file's contents, checked: every problem names the file and the field. */
export function parseConfigFile(text: string, path: string): ConfigFile {
  if (text.trim() === '') return emptyConfig();
  let doc: unknown;
  try {
    doc = load(text);
  } catch (err) {
    throw new HoldfastError('BadRequest', `${path} is not valid YAML: ${(err as Error).message.split('\n')[0]}`);
  }
  if (doc === undefined || doc === null) return emptyConfig();
  const bad = (field: string, what: string) => new HoldfastError('BadRequest', `${path}: ${field} ${what}`);
  if (typeof doc !== 'object' || Array.isArray(doc)) throw bad('the document', 'must be a mapping (apiVersion, kind: Config, current-context, contexts)');
  const d = doc as Record<string, unknown>;
  if (d.kind !== undefined && d.kind !== 'Config') throw bad('kind', `must be Config, not ${JSON.stringify(d.kind)}`);
  const current = d['current-context'];
  if (current !== undefined && current !== '' && typeof current !== 'string') throw bad('current-context', 'must be a context name');
  const list = d.contexts ?? [];
  if (!Array.isArray(list)) throw bad('contexts', 'must be a list of {name, context}');
  const contexts = list.map((item: unknown, i): NamedContext => {
    const at = `contexts[${i}]`;
    if (!item || typeof item !== 'object' || Array.isArray(item)) throw bad(at, 'must be a mapping with name and context');
    const { name, context } = item as Record<string, unknown>;
    if (typeof name !== 'string' || !CONTEXT_NAME.test(name)) throw bad(`${at}.name`, 'must be a name of letters, digits, - _ . @');
    if (context !== undefined && (typeof context !== 'object' || context === null || Array.isArray(context))) throw bad(`${at}.context`, 'must be a mapping');
    const settings: ContextSettings = {};
    for (const [key, value] of Object.entries((context ?? {}) as Record<string, unknown>)) {
      if (!(SETTINGS as readonly string[]).includes(key)) throw bad(`${at}.context.${key}`, `is not a context setting (known: ${SETTINGS.join(', ')})`);
      if (typeof value !== 'string' || value === '') throw bad(`${at}.context.${key}`, 'must be a non-empty string');
      if (key === 'namespace' && !validNamespace(value)) throw bad(`${at}.context.namespace`, `"${value}" ${NAMESPACE_RULE}`);
      settings[key as keyof ContextSettings] = value;
    }
    return { name, context: settings };
  });
  const seen = new Set<string>();
  for (const c of contexts) {
    if (seen.has(c.name)) throw bad('contexts', `name the context "${c.name}" twice`);
    seen.add(c.name);
  }
  return { apiVersion: typeof d.apiVersion === 'string' ? d.apiVersion : API_VERSION, kind: 'Config', ...(current ? { 'current-context': current as string } : {}), contexts };
}

export function serializeConfigFile(config: ConfigFile): string {
  return dump(config, { lineWidth: -1, noRefs: true });
}

/**
 * The context to use: the one named (by --context or HOLDFAST_CONTEXT, `source` says which), else
 * the current one, else none. A name that is not in the file is an error, never a silent default.
 */
export function chooseContext(config: ConfigFile | undefined, named: { name: string; source: string } | undefined, path: string): NamedContext | undefined {
  const name = named?.name ?? config?.['current-context'];
  if (!name) return undefined;
  const found = config?.contexts.find((c) => c.name === name);
  if (!found) {
    const known = config?.contexts.map((c) => c.name) ?? [];
    const from = named ? named.source : `current-context in ${path}`;
    throw new HoldfastError('NotFound', `context "${name}" (from ${from}) is not in ${path}: ${known.length ? `it has ${known.join(', ')}` : 'it has no contexts'}; add it with holdfast config set-context ${name} --server URL`);
  }
  return found;
}

/** Adds the context or changes the settings given (an empty string removes one). */
export function setContext(config: ConfigFile, name: string, settings: ContextSettings): ConfigFile {
  if (!CONTEXT_NAME.test(name)) throw new HoldfastError('BadRequest', `invalid context name "${name}": use letters, digits, - _ . @`);
  if (settings.namespace && !validNamespace(settings.namespace)) throw new HoldfastError('BadRequest', `invalid --namespace "${settings.namespace}": it ${NAMESPACE_RULE}`);
  const existing = config.contexts.find((c) => c.name === name);
  const merged: ContextSettings = { ...existing?.context };
  for (const key of SETTINGS) {
    const value = settings[key];
    if (value === undefined) continue;
    if (value === '') delete merged[key];
    else merged[key] = value;
  }
  const contexts = existing ? config.contexts.map((c) => (c.name === name ? { name, context: merged } : c)) : [...config.contexts, { name, context: merged }];
  return { ...config, contexts };
}

export function useContext(config: ConfigFile, name: string, path: string): ConfigFile {
  chooseContext(config, { name, source: 'the command line' }, path);
  return { ...config, 'current-context': name };
}

/**
 * The project commands use: -n, else the context's namespace; none with -A (every project), as
 * kubectl does.
 */
export function effectiveNamespace(flag: string | undefined, allNamespaces: boolean | undefined, context: NamedContext | undefined): string | undefined {
  if (flag !== undefined) return flag;
  return allNamespaces ? undefined : context?.context.namespace;
}
