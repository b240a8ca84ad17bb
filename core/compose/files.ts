// Files a container gets from the compose file: secrets (a file beside it, a variable, or an
// external Holdfast Secret), configs (a file, a variable, inline content) and files bind-mounted
// from beside the compose file. Secret content is only hashed; config content is carried.

import { posix } from 'node:path';
import type { FileSpec, SecretKeyRef } from '../deploy/container-spec.js';
import { secretRefsIn } from '../deploy/env-secrets.js';
import { parseFileMode } from '../deploy/units.js';
import type { LoadedCompose } from './load.js';
import type { MapComposeContext } from './map.js';
import type { Report } from './service-fields.js';
import type { ComposeFileRef } from './types.js';
import { externalName } from './values.js';

/** Largest file Holdfast carries from beside the compose file into a container. */
export const MAX_FILE_BYTES = 1024 * 1024;

const encoder = new TextEncoder();

type FileContent = Pick<FileSpec, 'contentHash' | 'source'>;

export class FileSources {
  private readonly contentCache = new Map<string, FileContent | undefined>();

  constructor(
    private readonly loaded: LoadedCompose,
    private readonly ctx: Pick<MapComposeContext, 'reader' | 'resolveSecretHash' | 'hashContent'>,
    private readonly report: Report,
  ) {}

  /** A path written in the compose file, as a path relative to the manifest's directory. */
  private besideCompose(path: string): string {
    return posix.normalize(posix.join(this.loaded.dir, path));
  }

  /**
   * A relative bind source names a file beside the compose file, on the machine that holds the
   * manifests, not on the server: its content is carried into the container as a read-only file.
   */
  fileFromBesideCompose(source: string, target: string, at: string): FileSpec | undefined {
    const path = this.besideCompose(source);
    if (this.ctx.reader?.isDirectory?.(path)) {
      this.report.problem(`${at}.source`, `${source} is a directory beside the compose file; the server cannot see it. Use a named volume, an absolute path on the server, or copy it into the image`);
      return undefined;
    }
    const bytes = this.ctx.reader?.readFile(path);
    if (bytes === undefined) {
      this.report.problem(`${at}.source`, `${source} not found beside the compose file (${path})`);
      return undefined;
    }
    if (bytes.byteLength > MAX_FILE_BYTES) {
      this.report.problem(`${at}.source`, `${source} is ${bytes.byteLength} bytes; files carried into containers are limited to ${MAX_FILE_BYTES}`);
      return undefined;
    }
    return {
      kind: 'file',
      name: source,
      target,
      contentHash: this.ctx.hashContent(bytes),
      source: { contentBase64: Buffer.from(bytes).toString('base64') },
    };
  }
  fileRefs(kind: 'secret' | 'config', refs: Array<string | ComposeFileRef> | undefined, at: string): FileSpec[] {
    const out: FileSpec[] = [];
    const declared = kind === 'secret' ? this.loaded.document.secrets ?? {} : this.loaded.document.configs ?? {};
    for (const [i, entry] of (refs ?? []).entries()) {
      const path = `${at}[${i}]`;
      const ref: ComposeFileRef = typeof entry === 'string' ? { source: entry } : entry;
      if (!ref.source) {
        this.report.problem(`${path}.source`, 'is required');
        continue;
      }
      if (!(ref.source in declared)) {
        this.report.problem(`${path}.source`, `${kind} ${JSON.stringify(ref.source)} is not declared under the top-level ${kind}s`);
        continue;
      }
      const content = kind === 'secret' ? this.secretContent(ref.source) : this.configContent(ref.source);
      if (!content) continue;
      let target = ref.target ?? (kind === 'secret' ? `/run/secrets/${ref.source}` : `/${ref.source}`);
      if (!target.startsWith('/')) target = kind === 'secret' ? `/run/secrets/${target}` : `/${target}`;
      const file: FileSpec = { kind, name: ref.source, target, ...content };
      if (ref.mode !== undefined) {
        const mode = parseFileMode(ref.mode);
        if (mode === undefined) this.report.problem(`${path}.mode`, `${JSON.stringify(ref.mode)} is not an octal file mode`);
        else file.mode = mode;
      }
      if (ref.uid !== undefined) file.uid = ref.uid;
      if (ref.gid !== undefined) file.gid = ref.gid;
      out.push(file);
    }
    return out;
  }
  private secretContent(key: string): FileContent | undefined {
    const cacheKey = `secret:${key}`;
    if (this.contentCache.has(cacheKey)) return this.contentCache.get(cacheKey);
    const secret = this.loaded.document.secrets![key];
    const at = `secrets.${key}`;
    let result: FileContent | undefined;
    const ext = externalName(secret.external);
    const sources = [secret.file !== undefined, secret.environment !== undefined, ext.external].filter(Boolean).length;
    if (sources !== 1) this.report.problem(at, 'needs exactly one of file, environment or external');
    else if (ext.external) {
      const ref = parseSecretReference(ext.name ?? secret.name ?? key);
      if (typeof ref === 'string') this.report.problem(at, ref);
      else result = { contentHash: this.ctx.resolveSecretHash(ref), source: { secretRef: ref } };
    } else if (secret.file !== undefined) {
      // The server sees only what the manifest carries: the file would travel and be stored in clear
      // with the Service, and its content is never in the frozen input a rollout runs from.
      this.report.problem(
        `${at}.file`,
        `a secret file would be stored in clear with the Service: put it in a Holdfast Secret (holdfast secret set NAME --from-file value=${secret.file} -n PROJECT) and declare the secret with external: true and name: NAME`,
      );
    } else {
      const value = this.loaded.variable(secret.environment!);
      const refs = value === undefined ? [] : secretRefsIn(value);
      if (value === undefined) this.report.problem(`${at}.environment`, `variable ${secret.environment} is not set in the Service's env`);
      else if (refs.length === 1 && value === `\${secret:${refs[0].name}/${refs[0].key}}`) {
        result = { contentHash: this.ctx.resolveSecretHash(refs[0]), source: { secretRef: refs[0] } };
      } else if (refs.length > 0) this.report.problem(`${at}.environment`, `variable ${secret.environment} mixes text and secrets; a secret file takes one whole secret`);
      else {
        const bytes = encoder.encode(value);
        result = { contentHash: this.ctx.hashContent(bytes), source: { contentBase64: Buffer.from(bytes).toString('base64') } };
      }
    }
    this.contentCache.set(cacheKey, result);
    return result;
  }
  private configContent(key: string): FileContent | undefined {
    const cacheKey = `config:${key}`;
    if (this.contentCache.has(cacheKey)) return this.contentCache.get(cacheKey);
    const config = this.loaded.document.configs![key];
    const at = `configs.${key}`;
    let bytes: Uint8Array | undefined;
    const sources = [config.file !== undefined, config.environment !== undefined, config.content !== undefined].filter(Boolean).length;
    if (sources !== 1) this.report.problem(at, 'needs exactly one of file, environment or content');
    else if (config.file !== undefined) {
      const path = this.besideCompose(config.file);
      bytes = this.ctx.reader?.readFile(path);
      if (bytes === undefined) this.report.problem(`${at}.file`, `${path} not found`);
    } else if (config.content !== undefined) {
      if (secretRefsIn(config.content).length > 0) this.report.problem(`${at}.content`, 'a config is not secret and cannot hold secret references; declare it under secrets');
      else bytes = encoder.encode(config.content);
    } else {
      const value = this.loaded.variable(config.environment!);
      if (value === undefined) this.report.problem(`${at}.environment`, `variable ${config.environment} is not set in the Service's env`);
      else if (secretRefsIn(value).length > 0) this.report.problem(`${at}.environment`, `variable ${config.environment} comes from a Secret; declare it under secrets`);
      else bytes = encoder.encode(value);
    }
    let result: FileContent | undefined;
    if (bytes !== undefined) {
      if (bytes.byteLength > MAX_FILE_BYTES) this.report.problem(at, `content is larger than ${MAX_FILE_BYTES} bytes`);
      else result = { contentHash: this.ctx.hashContent(bytes), source: { contentBase64: Buffer.from(bytes).toString('base64') } };
    }
    this.contentCache.set(cacheKey, result);
    return result;
  }
}

/** `name/key` of a Holdfast Secret, or a bare `name` meaning its key `value`; a message if invalid. */
export function parseSecretReference(text: string): SecretKeyRef | string {
  const slash = text.indexOf('/');
  const ref = slash >= 0 ? { name: text.slice(0, slash), key: text.slice(slash + 1) } : { name: text, key: 'value' };
  if (!/^[a-z0-9]([-a-z0-9]*[a-z0-9])?$/.test(ref.name) || ref.name.length > 63) {
    return `external secret ${JSON.stringify(text)} must name a Holdfast Secret as <secret>/<key> (or <secret> for its key "value"), the secret name being a DNS-1123 label; set name: to say which`;
  }
  if (!/^[-._a-zA-Z0-9]+$/.test(ref.key)) return `external secret ${JSON.stringify(text)}: ${JSON.stringify(ref.key)} is not a valid Secret key`;
  return ref;
}

