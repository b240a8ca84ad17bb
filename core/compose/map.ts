// Maps a loaded Compose document onto Holdfast's container model: one component per compose
// service, with its container template, networks, volumes and the files (secrets, configs, files
// bind-mounted from beside the compose file) it mounts. Every problem is collected with its path,
// and all are reported together.

import { posix } from 'node:path';
import {
  cleanPath,
  containerName,
  emptyContainerTemplate,
  isDockerName,
  LABEL_PREFIX,
  ownedObjectName,
  type BuildSpec,
  type ComponentSpec,
  type ContainerSpec,
  type ContainerTemplate,
  type DependencySpec,
  type DeviceSpec,
  type EnvValue,
  type FileSpec,
  type HealthcheckSpec,
  type MountSpec,
  type NetworkAttachment,
  type NetworkSpec,
  type PortSpec,
  type RestartPolicy,
  type SecretKeyRef,
  type UlimitSpec,
  type VolumeSpec,
} from '../deploy/container-spec.js';
import { freezeEnvText, malformedPlaceholder, secretRefsIn } from '../deploy/env-secrets.js';
import { parseTmpfs } from '../deploy/mounts.js';
import { parseCpus, parseDockerBytes, parseDurationMs, parseFileMode, parseInteger } from '../deploy/units.js';
import { DotenvError, parseDotenv } from './dotenv.js';
import { composeError, readText, type LoadedCompose, type Problem, type SourceReader } from './load.js';
import { parseExpose, parseLongPort, parseShortPort, PortSyntaxError } from './ports.js';
import type { BoolLike, CommandLike, ComposeExternal, ComposeFileRef, ComposeService, ComposeVolumeLong, ListOrDict } from './types.js';

/** Largest file Holdfast carries from beside the compose file into a container. */
export const MAX_FILE_BYTES = 1024 * 1024;

export interface MapComposeContext {
  project: string;
  environment: string;
  service: string;
  reader?: SourceReader;
  /** Hash of a Secret key's value (never the value). */
  resolveSecretHash: (ref: SecretKeyRef) => string;
  /** Hash of file content that is secret (a compose secret's file). */
  hashContent: (bytes: Uint8Array) => string;
  /** The image a compose `build` produces, given the component and the `image` the file declares. */
  builtImage: (component: string, declaredImage: string | undefined) => string;
}

export interface MappedComponent {
  spec: ComponentSpec;
  /** The compose container_name, when declared. */
  containerName?: string;
  template: ContainerTemplate;
}

export interface ComposeMapping {
  projectName?: string;
  components: MappedComponent[];
  networks: NetworkSpec[];
  volumes: VolumeSpec[];
  warnings: string[];
}

const encoder = new TextEncoder();

function asBool(value: BoolLike | undefined): boolean | undefined {
  if (value === undefined) return undefined;
  if (typeof value === 'boolean') return value;
  return /^(true|yes)$/i.test(value);
}

/** `true` stays, `false` is dropped: absent means off in the container model. */
const onlyTrue = (value: BoolLike | undefined) => (asBool(value) ? true : undefined);

function dictOf(value: ListOrDict | undefined, lookup?: (name: string) => string | undefined): Record<string, string> {
  const out: Record<string, string> = {};
  if (!value) return out;
  if (Array.isArray(value)) {
    for (const item of value) {
      const eq = item.indexOf('=');
      if (eq >= 0) out[item.slice(0, eq)] = item.slice(eq + 1);
      else if (lookup) {
        const fromEnv = lookup(item);
        if (fromEnv !== undefined) out[item] = fromEnv;
      } else out[item] = '';
    }
    return out;
  }
  for (const [key, v] of Object.entries(value)) {
    if (v === null) {
      if (lookup) {
        const fromEnv = lookup(key);
        if (fromEnv !== undefined) out[key] = fromEnv;
      } else out[key] = '';
    } else out[key] = String(v);
  }
  return out;
}

/** Splits a command string as Compose does (shell words, no shell): quotes group, `\` escapes. */
export function splitShellWords(text: string): string[] {
  const words: string[] = [];
  let current = '';
  let inWord = false;
  let quote: '"' | "'" | undefined;
  for (let i = 0; i < text.length; i++) {
    const c = text[i];
    if (quote === "'") {
      if (c === "'") quote = undefined;
      else current += c;
      continue;
    }
    if (quote === '"') {
      if (c === '"') quote = undefined;
      else if (c === '\\' && i + 1 < text.length && '"\\$`'.includes(text[i + 1])) current += text[++i];
      else current += c;
      continue;
    }
    if (c === "'" || c === '"') {
      quote = c;
      inWord = true;
    } else if (c === '\\' && i + 1 < text.length) {
      current += text[++i];
      inWord = true;
    } else if (/\s/.test(c)) {
      if (inWord) words.push(current);
      current = '';
      inWord = false;
    } else {
      current += c;
      inWord = true;
    }
  }
  if (quote) throw new Error(`unterminated ${quote === '"' ? 'double' : 'single'} quote`);
  if (inWord) words.push(current);
  return words;
}

function stringList(value: string | string[] | undefined): string[] {
  if (value === undefined) return [];
  return Array.isArray(value) ? value : [value];
}

function normaliseCapability(cap: string): string {
  const upper = cap.trim().toUpperCase();
  return upper.startsWith('CAP_') ? upper.slice(4) : upper;
}

function externalName(external: ComposeExternal | undefined): { external: boolean; name?: string } {
  if (external === undefined || external === false) return { external: false };
  if (typeof external === 'object') return { external: true, name: external.name };
  if (typeof external === 'string') return { external: /^(true|yes)$/i.test(external) };
  return { external: true };
}

class Mapper {
  readonly problems: Problem[] = [];
  readonly warnings: string[] = [];
  private readonly volumes = new Map<string, VolumeSpec>();
  private readonly networks = new Map<string, NetworkSpec>();
  private readonly usedVolumes = new Set<string>();
  private readonly usedNetworks = new Set<string>();

  constructor(
    private readonly loaded: LoadedCompose,
    private readonly ctx: MapComposeContext,
  ) {}

  private problem(path: string, message: string) {
    this.problems.push({ path, message });
  }

  private owned(key: string) {
    return ownedObjectName(this.ctx.project, this.ctx.environment, this.ctx.service, key);
  }

  /** A path written in the compose file, as a path relative to the manifest's directory. */
  private besideCompose(path: string): string {
    return posix.normalize(posix.join(this.loaded.dir, path));
  }

  run(): ComposeMapping {
    const doc = this.loaded.document;
    this.mapTopLevelVolumes();
    this.mapTopLevelNetworks();
    const names = Object.keys(doc.services);
    const components: MappedComponent[] = [];
    for (const name of names) {
      const mapped = this.mapService(name, doc.services[name]);
      if (mapped) components.push(mapped);
    }
    this.resolveServiceNetworkModes(components);
    this.markRunsToCompletion(components);
    this.checkNoSecretsOutsideEnv(components);
    if (this.problems.length > 0) throw composeError(this.loaded.label, this.problems);
    return {
      projectName: doc.name,
      components,
      // Only what the services use is created; an unused declaration has nothing to attach to.
      networks: [...this.networks.values()].filter((n) => this.usedNetworks.has(n.key)),
      volumes: [...this.volumes.values()].filter((v) => this.usedVolumes.has(v.key)),
      warnings: [...this.loaded.warnings, ...this.warnings],
    };
  }

  private mapTopLevelVolumes() {
    for (const [key, raw] of Object.entries(this.loaded.document.volumes ?? {})) {
      const volume = raw ?? {};
      const ext = externalName(volume.external);
      const name = ext.external ? (ext.name ?? volume.name ?? key) : (volume.name ?? this.owned(key));
      if (!isDockerName(name)) this.problem(`volumes.${key}.name`, `${JSON.stringify(name)} is not a valid Docker volume name`);
      this.volumes.set(key, {
        key,
        name,
        external: ext.external,
        driver: volume.driver,
        driverOpts: Object.fromEntries(Object.entries(volume.driver_opts ?? {}).map(([k, v]) => [k, String(v)])),
        labels: this.userLabels(volume.labels, `volumes.${key}.labels`),
      });
    }
  }

  private mapTopLevelNetworks() {
    for (const [key, raw] of Object.entries(this.loaded.document.networks ?? {})) {
      const network = raw ?? {};
      const ext = externalName(network.external);
      const name = ext.external ? (ext.name ?? network.name ?? key) : (network.name ?? this.owned(key));
      this.networks.set(key, {
        key,
        name,
        external: ext.external,
        driver: network.driver,
        driverOpts: Object.fromEntries(Object.entries(network.driver_opts ?? {}).map(([k, v]) => [k, String(v)])),
        internal: onlyTrue(network.internal),
        attachable: onlyTrue(network.attachable),
        enableIpv6: onlyTrue(network.enable_ipv6),
        labels: this.userLabels(network.labels, `networks.${key}.labels`),
      });
    }
    if (!this.networks.has('default')) {
      this.networks.set('default', { key: 'default', name: this.owned('default'), external: false, driverOpts: {}, labels: {} });
    }
  }

  private userLabels(value: ListOrDict | undefined, path: string): Record<string, string> {
    const labels = dictOf(value);
    for (const key of Object.keys(labels)) {
      if (key.startsWith(LABEL_PREFIX)) this.problem(`${path}.${key}`, `labels under ${LABEL_PREFIX} are Holdfast's own and cannot be set`);
    }
    return labels;
  }

  private mapService(name: string, svc: ComposeService): MappedComponent | undefined {
    const at = `services.${name}`;
    const problemsBefore = this.problems.length;
    if (!svc.image && !svc.build) this.problem(at, 'needs image or build');
    const build = svc.build !== undefined ? this.mapBuild(svc.build, `${at}.build`) : undefined;
    const image = build ? this.ctx.builtImage(name, svc.image) : (svc.image ?? '');
    const t = emptyContainerTemplate(image);

    const command = this.command(svc.command, `${at}.command`);
    if (command !== undefined) t.command = command;
    const entrypoint = this.command(svc.entrypoint, `${at}.entrypoint`);
    if (entrypoint !== undefined) t.entrypoint = entrypoint;
    t.env = this.environment(svc, at);
    t.ports = this.ports(svc, at);
    for (const [i, entry] of (svc.expose ?? []).entries()) {
      try {
        t.exposedPorts.push(...parseExpose(entry));
      } catch (error) {
        if (!(error instanceof PortSyntaxError)) throw error;
        this.problem(`${at}.expose[${i}]`, error.message);
      }
    }
    const { mounts, files } = this.mounts(svc, at);
    t.mounts = mounts;
    t.files = [...files, ...this.fileRefs('secret', svc.secrets, `${at}.secrets`), ...this.fileRefs('config', svc.configs, `${at}.configs`)];
    this.checkUniqueTargets(t, at);
    t.labels = this.userLabels(svc.labels, `${at}.labels`);
    const { networks, networkMode } = this.serviceNetworks(name, svc, at);
    t.networks = networks;
    if (networkMode) t.networkMode = networkMode;
    t.restartPolicy = this.restartPolicy(svc, at);
    const healthcheck = this.healthcheck(svc, at);
    if (healthcheck) t.healthcheck = healthcheck;
    t.resources = this.resources(svc, at);
    if (svc.user !== undefined) t.user = svc.user;
    if (svc.working_dir !== undefined) t.workingDir = svc.working_dir;
    if (svc.hostname !== undefined) t.hostname = svc.hostname;
    if (svc.domainname !== undefined) t.domainname = svc.domainname;
    if (svc.stop_signal !== undefined) t.stopSignal = svc.stop_signal;
    if (svc.stop_grace_period !== undefined) {
      const ms = parseDurationMs(svc.stop_grace_period);
      if (ms === undefined) this.problem(`${at}.stop_grace_period`, `${JSON.stringify(svc.stop_grace_period)} is not a duration such as 10s or 1m30s`);
      else t.stopGraceSeconds = Math.floor(ms / 1000);
    }
    for (const [key, field] of [['init', 'init'], ['tty', 'tty'], ['stdin_open', 'stdinOpen'], ['privileged', 'privileged'], ['read_only', 'readOnly']] as const) {
      const value = onlyTrue(svc[key]);
      if (value) t[field] = value;
    }
    t.capAdd = (svc.cap_add ?? []).map(normaliseCapability);
    t.capDrop = (svc.cap_drop ?? []).map(normaliseCapability);
    t.securityOpt = [...(svc.security_opt ?? [])];
    t.sysctls = dictOf(svc.sysctls);
    t.ulimits = this.ulimits(svc, at);
    if (svc.shm_size !== undefined) {
      const bytes = parseDockerBytes(svc.shm_size);
      if (bytes === undefined) this.problem(`${at}.shm_size`, `${JSON.stringify(svc.shm_size)} is not a size such as 64m`);
      else t.shmSizeBytes = bytes;
    }
    t.devices = this.devices(svc, at);
    t.dns = stringList(svc.dns);
    t.dnsSearch = stringList(svc.dns_search);
    t.dnsOptions = [...(svc.dns_opt ?? [])];
    t.extraHosts = this.extraHosts(svc, at);
    t.groupAdd = (svc.group_add ?? []).map(String);
    if (svc.logging) {
      t.logging = {
        driver: svc.logging.driver ?? 'json-file',
        options: Object.fromEntries(Object.entries(svc.logging.options ?? {}).filter(([, v]) => v !== null).map(([k, v]) => [k, String(v)])),
      };
    }
    if (svc.platform !== undefined) t.platform = svc.platform;
    if (svc.runtime !== undefined) t.runtime = svc.runtime;

    const replicas = this.replicas(svc, at);
    if (svc.container_name !== undefined && replicas > 1) {
      this.problem(`${at}.container_name`, `one container name cannot be given to ${replicas} replicas`);
    }
    if (replicas > 1) {
      for (const port of t.ports) {
        if (port.hostPort !== undefined) this.problem(`${at}.ports`, `host port ${port.hostPort} cannot be published by ${replicas} replicas`);
      }
    }
    if (this.problems.length > problemsBefore) return undefined;
    const spec: ComponentSpec = {
      name,
      replicas,
      image,
      dependsOn: this.dependsOn(svc, at),
      runsToCompletion: false,
    };
    if (build) spec.build = build;
    return { spec, containerName: svc.container_name, template: t };
  }

  private mapBuild(build: NonNullable<ComposeService['build']>, at: string): BuildSpec | undefined {
    const raw = typeof build === 'string' ? { context: build } : build;
    const context = raw.context ?? '.';
    if (/^[a-z][a-z0-9+.-]*:\/\//i.test(context) || context.startsWith('git@')) {
      this.problem(`${at}.context`, `not supported: a remote build context (${context}); put the context beside the compose file, or use a build source on the Service`);
      return undefined;
    }
    if (context.startsWith('/')) {
      this.problem(`${at}.context`, 'must be a directory beside the compose file (a relative path)');
      return undefined;
    }
    const spec: BuildSpec = {
      context: this.besideCompose(context),
      dockerfile: raw.dockerfile ?? 'Dockerfile',
      args: dictOf(raw.args, this.loaded.variable),
    };
    if (raw.target !== undefined) spec.target = raw.target;
    return spec;
  }

  private command(value: CommandLike | undefined, at: string): string[] | undefined {
    if (value === undefined || value === null) return undefined;
    if (Array.isArray(value)) return [...value];
    try {
      return splitShellWords(value);
    } catch (error) {
      this.problem(at, (error as Error).message);
      return undefined;
    }
  }

  private freezeEnv(text: string, at: string): EnvValue {
    const bad = malformedPlaceholder(text);
    if (bad) this.problem(at, `${bad} is not a secret reference; write \${secret:<secret-name>/<key>}`);
    return freezeEnvText(text, this.ctx.resolveSecretHash);
  }

  private environment(svc: ComposeService, at: string): Record<string, EnvValue> {
    const plain: Record<string, string> = {};
    const files = svc.env_file === undefined ? [] : Array.isArray(svc.env_file) ? svc.env_file : [svc.env_file];
    for (const [i, entry] of files.entries()) {
      const spec = typeof entry === 'string' ? { path: entry, required: true } : { path: entry.path ?? '', required: asBool(entry.required) ?? true };
      const path = this.besideCompose(spec.path);
      const text = readText(this.ctx.reader, path);
      if (text === undefined) {
        if (spec.required) this.problem(`${at}.env_file${Array.isArray(svc.env_file) ? `[${i}]` : ''}`, `${path} not found`);
        continue;
      }
      try {
        Object.assign(plain, parseDotenv(text, this.loaded.variable));
      } catch (error) {
        if (!(error instanceof DotenvError)) throw error;
        this.problem(`${at}.env_file${Array.isArray(svc.env_file) ? `[${i}]` : ''}`, `${path}: ${error.message}`);
      }
    }
    Object.assign(plain, dictOf(svc.environment, this.loaded.variable));
    const env: Record<string, EnvValue> = {};
    for (const [key, value] of Object.entries(plain)) env[key] = this.freezeEnv(value, `${at}.environment.${key}`);
    return env;
  }

  private ports(svc: ComposeService, at: string): PortSpec[] {
    const out: PortSpec[] = [];
    for (const [i, entry] of (svc.ports ?? []).entries()) {
      try {
        out.push(...(typeof entry === 'object' ? parseLongPort(entry) : parseShortPort(entry)));
      } catch (error) {
        if (!(error instanceof PortSyntaxError)) throw error;
        this.problem(`${at}.ports[${i}]`, error.message);
      }
    }
    return out;
  }

  private mounts(svc: ComposeService, at: string): { mounts: MountSpec[]; files: FileSpec[] } {
    const mounts: MountSpec[] = [];
    const files: FileSpec[] = [];
    for (const [i, entry] of (svc.volumes ?? []).entries()) {
      const path = `${at}.volumes[${i}]`;
      const long = typeof entry === 'string' ? this.shortVolume(entry, path) : entry;
      if (!long) continue;
      const result = this.volumeMount(long, path);
      if (!result) continue;
      if ('kind' in result) files.push(result);
      else mounts.push(result);
    }
    for (const [i, entry] of stringList(svc.tmpfs).entries()) {
      const path = `${at}.tmpfs${Array.isArray(svc.tmpfs) ? `[${i}]` : ''}`;
      const mount = parseTmpfs(entry);
      if (typeof mount === 'string') this.problem(path, mount);
      else mounts.push(mount);
    }
    return { mounts, files };
  }

  /** Short volume syntax, turned into the long form: `[SOURCE:]TARGET[:MODE]`. */
  private shortVolume(entry: string, at: string): ComposeVolumeLong | undefined {
    const parts = entry.split(':');
    if (parts.length > 3 || parts.some((p) => p === '')) {
      this.problem(at, `${JSON.stringify(entry)} is not [SOURCE:]TARGET[:MODE]`);
      return undefined;
    }
    if (parts.length === 1) return { type: 'volume', target: parts[0] };
    const [source, target, mode = ''] = parts;
    const options = mode.split(',').filter(Boolean);
    const long: ComposeVolumeLong = { source, target };
    const isPath = source.startsWith('/') || source.startsWith('.') || source.startsWith('~');
    long.type = isPath ? 'bind' : 'volume';
    for (const option of options) {
      if (option === 'ro') long.read_only = true;
      else if (option === 'rw') long.read_only = false;
      else if (option === 'z' || option === 'Z') {
        if (!isPath) this.problem(at, `${option} (SELinux relabelling) applies to bind mounts only`);
        long.bind = { ...long.bind, selinux: option };
      } else if (option === 'nocopy') {
        if (isPath) this.problem(at, 'nocopy applies to named volumes only');
        long.volume = { ...long.volume, nocopy: true };
      } else if (['shared', 'slave', 'private', 'rshared', 'rslave', 'rprivate'].includes(option)) {
        if (!isPath) this.problem(at, `${option} (propagation) applies to bind mounts only`);
        long.bind = { ...long.bind, propagation: option };
      } else if (['cached', 'delegated', 'consistent'].includes(option)) {
        // Consistency modes matter on Docker Desktop only; Docker Engine ignores them too.
      } else this.problem(at, `unknown volume mode ${JSON.stringify(option)}`);
    }
    if (isPath) long.bind = { create_host_path: true, ...long.bind };
    return long;
  }

  private volumeMount(entry: ComposeVolumeLong, at: string): MountSpec | FileSpec | undefined {
    const type = entry.type ?? 'volume';
    if (!entry.target || !entry.target.startsWith('/')) {
      this.problem(`${at}.target`, 'must be an absolute path inside the container');
      return undefined;
    }
    const target = cleanPath(entry.target);
    const readOnly = asBool(entry.read_only) ?? false;
    if (type === 'tmpfs') {
      if (entry.source) this.problem(`${at}.source`, 'a tmpfs mount has no source');
      const mount: MountSpec = { type: 'tmpfs', source: '', target, readOnly };
      if (entry.tmpfs?.size !== undefined) {
        const size = parseDockerBytes(entry.tmpfs.size);
        if (size === undefined) this.problem(`${at}.tmpfs.size`, `${JSON.stringify(entry.tmpfs.size)} is not a size`);
        else mount.sizeBytes = size;
      }
      if (entry.tmpfs?.mode !== undefined) {
        const mode = parseFileMode(entry.tmpfs.mode);
        if (mode === undefined) this.problem(`${at}.tmpfs.mode`, `${JSON.stringify(entry.tmpfs.mode)} is not an octal file mode`);
        else mount.mode = mode;
      }
      return mount;
    }
    if (type === 'volume') {
      const mount: MountSpec = { type: 'volume', source: '', target, readOnly };
      if (entry.source) {
        const volume = this.volumes.get(entry.source);
        if (!volume) {
          this.problem(`${at}.source`, `named volume ${JSON.stringify(entry.source)} is not declared under the top-level volumes`);
          return undefined;
        }
        this.usedVolumes.add(entry.source);
        mount.source = volume.name;
      }
      if (asBool(entry.volume?.nocopy)) mount.noCopy = true;
      if (entry.volume?.subpath) mount.subpath = entry.volume.subpath;
      return mount;
    }
    // bind
    const source = entry.source ?? '';
    if (source === '') {
      this.problem(`${at}.source`, 'a bind mount needs a source');
      return undefined;
    }
    if (source.startsWith('~')) {
      this.problem(`${at}.source`, `${source}: "~" is the home directory of the machine running compose; on a server write an absolute path`);
      return undefined;
    }
    if (!source.startsWith('/')) return this.fileFromBesideCompose(source, target, at);
    const mount: MountSpec = { type: 'bind', source: cleanPath(source), target, readOnly };
    // rprivate is Docker's default: absent means the same.
    if (entry.bind?.propagation && entry.bind.propagation !== 'rprivate') mount.propagation = entry.bind.propagation;
    if (entry.bind?.selinux) mount.selinux = entry.bind.selinux;
    if (asBool(entry.bind?.create_host_path)) mount.createHostPath = true;
    return mount;
  }

  /**
   * A relative bind source names a file beside the compose file, on the machine that holds the
   * manifests, not on the server: its content is carried into the container as a read-only file.
   */
  private fileFromBesideCompose(source: string, target: string, at: string): FileSpec | undefined {
    const path = this.besideCompose(source);
    if (this.ctx.reader?.isDirectory?.(path)) {
      this.problem(`${at}.source`, `${source} is a directory beside the compose file; the server cannot see it. Use a named volume, an absolute path on the server, or copy it into the image`);
      return undefined;
    }
    const bytes = this.ctx.reader?.readFile(path);
    if (bytes === undefined) {
      this.problem(`${at}.source`, `${source} not found beside the compose file (${path})`);
      return undefined;
    }
    if (bytes.byteLength > MAX_FILE_BYTES) {
      this.problem(`${at}.source`, `${source} is ${bytes.byteLength} bytes; files carried into containers are limited to ${MAX_FILE_BYTES}`);
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

  private fileRefs(kind: 'secret' | 'config', refs: Array<string | ComposeFileRef> | undefined, at: string): FileSpec[] {
    const out: FileSpec[] = [];
    const declared = kind === 'secret' ? this.loaded.document.secrets ?? {} : this.loaded.document.configs ?? {};
    for (const [i, entry] of (refs ?? []).entries()) {
      const path = `${at}[${i}]`;
      const ref: ComposeFileRef = typeof entry === 'string' ? { source: entry } : entry;
      if (!ref.source) {
        this.problem(`${path}.source`, 'is required');
        continue;
      }
      if (!(ref.source in declared)) {
        this.problem(`${path}.source`, `${kind} ${JSON.stringify(ref.source)} is not declared under the top-level ${kind}s`);
        continue;
      }
      const content = kind === 'secret' ? this.secretContent(ref.source) : this.configContent(ref.source);
      if (!content) continue;
      let target = ref.target ?? (kind === 'secret' ? `/run/secrets/${ref.source}` : `/${ref.source}`);
      if (!target.startsWith('/')) target = kind === 'secret' ? `/run/secrets/${target}` : `/${target}`;
      const file: FileSpec = { kind, name: ref.source, target, ...content };
      if (ref.mode !== undefined) {
        const mode = parseFileMode(ref.mode);
        if (mode === undefined) this.problem(`${path}.mode`, `${JSON.stringify(ref.mode)} is not an octal file mode`);
        else file.mode = mode;
      }
      if (ref.uid !== undefined) file.uid = ref.uid;
      if (ref.gid !== undefined) file.gid = ref.gid;
      out.push(file);
    }
    return out;
  }

  private readonly contentCache = new Map<string, Pick<FileSpec, 'contentHash' | 'source'> | undefined>();

  private secretContent(key: string): Pick<FileSpec, 'contentHash' | 'source'> | undefined {
    const cacheKey = `secret:${key}`;
    if (this.contentCache.has(cacheKey)) return this.contentCache.get(cacheKey);
    const secret = this.loaded.document.secrets![key];
    const at = `secrets.${key}`;
    let result: Pick<FileSpec, 'contentHash' | 'source'> | undefined;
    const ext = externalName(secret.external);
    const sources = [secret.file !== undefined, secret.environment !== undefined, ext.external].filter(Boolean).length;
    if (sources !== 1) this.problem(at, 'needs exactly one of file, environment or external');
    else if (ext.external) {
      const ref = parseSecretReference(ext.name ?? secret.name ?? key);
      if (typeof ref === 'string') this.problem(at, ref);
      else result = { contentHash: this.ctx.resolveSecretHash(ref), source: { secretRef: ref } };
    } else if (secret.file !== undefined) {
      const path = this.besideCompose(secret.file);
      const bytes = this.ctx.reader?.readFile(path);
      if (bytes === undefined) this.problem(`${at}.file`, `${path} not found`);
      else if (bytes.byteLength > MAX_FILE_BYTES) this.problem(`${at}.file`, `${path} is larger than ${MAX_FILE_BYTES} bytes`);
      else result = { contentHash: this.ctx.hashContent(bytes), source: { path } };
    } else {
      const value = this.loaded.variable(secret.environment!);
      const refs = value === undefined ? [] : secretRefsIn(value);
      if (value === undefined) this.problem(`${at}.environment`, `variable ${secret.environment} is not set in the Service's env`);
      else if (refs.length === 1 && value === `\${secret:${refs[0].name}/${refs[0].key}}`) {
        result = { contentHash: this.ctx.resolveSecretHash(refs[0]), source: { secretRef: refs[0] } };
      } else if (refs.length > 0) this.problem(`${at}.environment`, `variable ${secret.environment} mixes text and secrets; a secret file takes one whole secret`);
      else {
        const bytes = encoder.encode(value);
        result = { contentHash: this.ctx.hashContent(bytes), source: { contentBase64: Buffer.from(bytes).toString('base64') } };
      }
    }
    this.contentCache.set(cacheKey, result);
    return result;
  }

  private configContent(key: string): Pick<FileSpec, 'contentHash' | 'source'> | undefined {
    const cacheKey = `config:${key}`;
    if (this.contentCache.has(cacheKey)) return this.contentCache.get(cacheKey);
    const config = this.loaded.document.configs![key];
    const at = `configs.${key}`;
    let bytes: Uint8Array | undefined;
    const sources = [config.file !== undefined, config.environment !== undefined, config.content !== undefined].filter(Boolean).length;
    if (sources !== 1) this.problem(at, 'needs exactly one of file, environment or content');
    else if (config.file !== undefined) {
      const path = this.besideCompose(config.file);
      bytes = this.ctx.reader?.readFile(path);
      if (bytes === undefined) this.problem(`${at}.file`, `${path} not found`);
    } else if (config.content !== undefined) {
      if (secretRefsIn(config.content).length > 0) this.problem(`${at}.content`, 'a config is not secret and cannot hold secret references; declare it under secrets');
      else bytes = encoder.encode(config.content);
    } else {
      const value = this.loaded.variable(config.environment!);
      if (value === undefined) this.problem(`${at}.environment`, `variable ${config.environment} is not set in the Service's env`);
      else if (secretRefsIn(value).length > 0) this.problem(`${at}.environment`, `variable ${config.environment} comes from a Secret; declare it under secrets`);
      else bytes = encoder.encode(value);
    }
    let result: Pick<FileSpec, 'contentHash' | 'source'> | undefined;
    if (bytes !== undefined) {
      if (bytes.byteLength > MAX_FILE_BYTES) this.problem(at, `content is larger than ${MAX_FILE_BYTES} bytes`);
      else result = { contentHash: this.ctx.hashContent(bytes), source: { contentBase64: Buffer.from(bytes).toString('base64') } };
    }
    this.contentCache.set(cacheKey, result);
    return result;
  }

  private checkUniqueTargets(t: ContainerTemplate, at: string) {
    const seen = new Set<string>();
    for (const target of [...t.mounts.map((m) => m.target), ...t.files.map((f) => f.target)]) {
      if (seen.has(target)) this.problem(at, `two mounts target ${target}`);
      seen.add(target);
    }
  }

  private serviceNetworks(name: string, svc: ComposeService, at: string): { networks: NetworkAttachment[]; networkMode?: string } {
    if (svc.network_mode !== undefined) {
      if (svc.networks !== undefined) this.problem(`${at}.network_mode`, 'cannot be combined with networks');
      const mode = svc.network_mode;
      if (mode === 'bridge') return { networks: [] };
      if (mode === 'host' || mode === 'none' || mode.startsWith('container:') || mode.startsWith('service:')) return { networks: [], networkMode: mode };
      this.problem(`${at}.network_mode`, `${JSON.stringify(mode)} is not bridge, host, none, service:NAME or container:NAME`);
      return { networks: [] };
    }
    const entries: Array<[string, { aliases?: string[]; ipv4_address?: string; ipv6_address?: string } | null]> =
      svc.networks === undefined ? [['default', null]] : Array.isArray(svc.networks) ? svc.networks.map((n) => [n, null]) : Object.entries(svc.networks);
    const networks: NetworkAttachment[] = [];
    for (const [key, options] of entries) {
      const network = this.networks.get(key);
      if (!network) {
        this.problem(`${at}.networks.${key}`, `network ${JSON.stringify(key)} is not declared under the top-level networks`);
        continue;
      }
      this.usedNetworks.add(key);
      const attachment: NetworkAttachment = { name: network.name, aliases: [...new Set([name, ...(options?.aliases ?? [])])] };
      if (options?.ipv4_address) attachment.ipv4Address = options.ipv4_address;
      if (options?.ipv6_address) attachment.ipv6Address = options.ipv6_address;
      networks.push(attachment);
    }
    return { networks };
  }

  private restartPolicy(svc: ComposeService, at: string): RestartPolicy {
    let policy: RestartPolicy = { name: 'no' };
    if (svc.restart !== undefined) {
      const [name, count] = svc.restart.split(':');
      policy = { name: name as RestartPolicy['name'] };
      if (count !== undefined) policy.maximumRetryCount = Number(count);
    }
    const deployPolicy = svc.deploy?.restart_policy;
    if (deployPolicy) {
      const condition = deployPolicy.condition ?? 'any';
      const name: RestartPolicy['name'] =
        condition === 'none' || condition === 'no' ? 'no' : condition === 'on-failure' ? 'on-failure' : condition === 'unless-stopped' ? 'unless-stopped' : 'always';
      const fromDeploy: RestartPolicy = { name };
      if (deployPolicy.max_attempts !== undefined) {
        const attempts = parseInteger(deployPolicy.max_attempts);
        if (attempts === undefined || attempts < 0) this.problem(`${at}.deploy.restart_policy.max_attempts`, 'must be a non-negative integer');
        else if (name === 'on-failure' && attempts > 0) fromDeploy.maximumRetryCount = attempts;
        else if (name !== 'on-failure') this.warnings.push(`${at}.deploy.restart_policy.max_attempts has no effect on Docker Engine unless condition is on-failure`);
      }
      for (const key of ['delay', 'window'] as const) {
        if (deployPolicy[key] !== undefined) this.warnings.push(`${at}.deploy.restart_policy.${key} has no effect on Docker Engine`);
      }
      if (svc.restart !== undefined && (policy.name !== fromDeploy.name || policy.maximumRetryCount !== fromDeploy.maximumRetryCount)) {
        this.warnings.push(`${at}.restart is overridden by ${at}.deploy.restart_policy`);
      }
      policy = fromDeploy;
    }
    return policy;
  }

  private healthcheck(svc: ComposeService, at: string): HealthcheckSpec | undefined {
    const hc = svc.healthcheck;
    if (!hc) return undefined;
    if (asBool(hc.disable)) return { test: ['NONE'] };
    let test: string[] = [];
    if (typeof hc.test === 'string') test = ['CMD-SHELL', hc.test];
    else if (Array.isArray(hc.test)) {
      test = [...hc.test];
      if (test.length > 0 && !['NONE', 'CMD', 'CMD-SHELL'].includes(test[0])) {
        this.problem(`${at}.healthcheck.test`, 'a list must start with CMD, CMD-SHELL or NONE');
      }
    }
    const spec: HealthcheckSpec = { test };
    for (const [key, field] of [['interval', 'intervalMs'], ['timeout', 'timeoutMs'], ['start_period', 'startPeriodMs'], ['start_interval', 'startIntervalMs']] as const) {
      const raw = hc[key];
      if (raw === undefined) continue;
      const ms = parseDurationMs(raw);
      if (ms === undefined) this.problem(`${at}.healthcheck.${key}`, `${JSON.stringify(raw)} is not a duration such as 10s or 1m30s`);
      else spec[field] = ms;
    }
    if (hc.retries !== undefined) {
      const retries = parseInteger(hc.retries);
      if (retries === undefined || retries < 0) this.problem(`${at}.healthcheck.retries`, 'must be a non-negative integer');
      else spec.retries = retries;
    }
    return spec;
  }

  private resources(svc: ComposeService, at: string): ContainerSpec['resources'] {
    const resources: ContainerSpec['resources'] = {};
    const limits = svc.deploy?.resources?.limits;
    const reservations = svc.deploy?.resources?.reservations;
    const pick = <T>(what: string, a: { path: string; raw: string | number | undefined }, b: { path: string; raw: string | number | undefined }, parse: (v: string | number) => T | undefined): T | undefined => {
      const parsed = [a, b].filter((x) => x.raw !== undefined).map((x) => {
        const value = parse(x.raw!);
        if (value === undefined) this.problem(x.path, `${JSON.stringify(x.raw)} is not a valid ${what}`);
        return value;
      });
      if (parsed.length === 2 && parsed[0] !== undefined && parsed[1] !== undefined && parsed[0] !== parsed[1]) {
        this.problem(b.path, `differs from ${a.path}; declare the ${what} once`);
      }
      return parsed.find((v) => v !== undefined);
    };
    const cpus = pick('CPU count', { path: `${at}.cpus`, raw: svc.cpus }, { path: `${at}.deploy.resources.limits.cpus`, raw: limits?.cpus }, parseCpus);
    if (cpus !== undefined) resources.cpus = cpus;
    const memory = pick('memory size', { path: `${at}.mem_limit`, raw: svc.mem_limit }, { path: `${at}.deploy.resources.limits.memory`, raw: limits?.memory }, parseDockerBytes);
    if (memory !== undefined) resources.memoryBytes = memory;
    const pids = pick('PID limit', { path: `${at}.pids_limit`, raw: svc.pids_limit }, { path: `${at}.deploy.resources.limits.pids`, raw: limits?.pids }, parseInteger);
    if (pids !== undefined) resources.pidsLimit = pids;
    const reservation = pick('memory size', { path: `${at}.mem_reservation`, raw: svc.mem_reservation }, { path: `${at}.deploy.resources.reservations.memory`, raw: reservations?.memory }, parseDockerBytes);
    if (reservation !== undefined) resources.memoryReservationBytes = reservation;
    if (reservations?.cpus !== undefined) this.warnings.push(`${at}.deploy.resources.reservations.cpus has no effect on Docker Engine (it reserves CPUs in Swarm only)`);
    return resources;
  }

  private replicas(svc: ComposeService, at: string): number {
    const values: Array<[string, number | string | undefined]> = [[`${at}.scale`, svc.scale], [`${at}.deploy.replicas`, svc.deploy?.replicas]];
    let replicas: number | undefined;
    for (const [path, raw] of values) {
      if (raw === undefined) continue;
      const n = parseInteger(raw);
      if (n === undefined || n < 0) {
        this.problem(path, 'must be a non-negative integer');
        continue;
      }
      if (replicas !== undefined && replicas !== n) this.problem(path, `differs from ${at}.scale`);
      replicas = n;
    }
    return replicas ?? 1;
  }

  private ulimits(svc: ComposeService, at: string): UlimitSpec[] {
    const out: UlimitSpec[] = [];
    for (const [name, value] of Object.entries(svc.ulimits ?? {})) {
      const path = `${at}.ulimits.${name}`;
      if (typeof value === 'object') {
        const soft = value.soft === undefined ? undefined : parseInteger(value.soft);
        const hard = value.hard === undefined ? undefined : parseInteger(value.hard);
        if (soft === undefined || hard === undefined) this.problem(path, 'needs integer soft and hard limits');
        else if (soft > hard && hard !== -1) this.problem(path, `soft limit ${soft} is above the hard limit ${hard}`);
        else out.push({ name, soft, hard });
      } else {
        const limit = parseInteger(value);
        if (limit === undefined) this.problem(path, 'must be an integer or {soft, hard}');
        else out.push({ name, soft: limit, hard: limit });
      }
    }
    return out;
  }

  private devices(svc: ComposeService, at: string): DeviceSpec[] {
    const out: DeviceSpec[] = [];
    for (const [i, entry] of (svc.devices ?? []).entries()) {
      const path = `${at}.devices[${i}]`;
      let device: DeviceSpec | undefined;
      if (typeof entry === 'string') {
        const [source, target, permissions, extra] = entry.split(':');
        if (extra !== undefined || !source) this.problem(path, `${JSON.stringify(entry)} is not HOST_PATH[:CONTAINER_PATH[:PERMISSIONS]]`);
        else device = { source, target: target || source, permissions: permissions || 'rwm' };
      } else if (!entry.source) this.problem(`${path}.source`, 'is required');
      else device = { source: entry.source, target: entry.target ?? entry.source, permissions: entry.permissions ?? 'rwm' };
      if (device && !/^[rwm]+$/.test(device.permissions)) {
        this.problem(path, `permissions ${JSON.stringify(device.permissions)} must be made of r, w and m`);
        device = undefined;
      }
      if (device) out.push(device);
    }
    return out;
  }

  private extraHosts(svc: ComposeService, at: string): string[] {
    const hosts = svc.extra_hosts;
    if (!hosts) return [];
    const out: string[] = [];
    if (Array.isArray(hosts)) {
      for (const [i, entry] of hosts.entries()) {
        // host=ip is the unambiguous form (IPv6 addresses hold colons); host:ip the classic one.
        const eq = entry.indexOf('=');
        const colon = entry.indexOf(':');
        const sep = eq >= 0 ? eq : colon;
        if (sep <= 0) this.problem(`${at}.extra_hosts[${i}]`, `${JSON.stringify(entry)} is not HOST:IP or HOST=IP`);
        else out.push(`${entry.slice(0, sep)}:${entry.slice(sep + 1).replace(/^\[(.*)\]$/, '$1')}`);
      }
      return out;
    }
    for (const [host, ips] of Object.entries(hosts)) {
      for (const ip of Array.isArray(ips) ? ips : [ips]) out.push(`${host}:${ip.replace(/^\[(.*)\]$/, '$1')}`);
    }
    return out;
  }

  private dependsOn(svc: ComposeService, at: string): DependencySpec[] {
    const services = this.loaded.document.services;
    const deps: DependencySpec[] = [];
    const raw = svc.depends_on;
    const entries: Array<[string, DependencySpec['condition'], boolean, boolean]> = !raw
      ? []
      : Array.isArray(raw)
        ? raw.map((d) => [d, 'service_started', true, false])
        : Object.entries(raw).map(([d, c]) => [d, c.condition, asBool(c.required) ?? true, asBool(c.restart) ?? false]);
    for (const [component, condition, required, restart] of entries) {
      if (!(component in services)) {
        if (required) this.problem(`${at}.depends_on.${component}`, `service ${JSON.stringify(component)} is not defined`);
        continue;
      }
      deps.push({ component, condition, required, restart });
    }
    return deps;
  }

  private resolveServiceNetworkModes(components: MappedComponent[]) {
    const byName = new Map(components.map((c) => [c.spec.name, c]));
    for (const component of components) {
      const mode = component.template.networkMode;
      if (!mode?.startsWith('service:')) continue;
      const target = mode.slice('service:'.length);
      const other = byName.get(target);
      if (!other) {
        this.problem(`services.${component.spec.name}.network_mode`, `service ${JSON.stringify(target)} is not defined`);
        continue;
      }
      const name = other.containerName ?? containerName(this.ctx.project, this.ctx.environment, this.ctx.service, target, 1);
      component.template.networkMode = `container:${name}`;
      if (!component.spec.dependsOn.some((d) => d.component === target)) {
        component.spec.dependsOn.push({ component: target, condition: 'service_started', required: true, restart: true });
      }
    }
  }

  private markRunsToCompletion(components: MappedComponent[]) {
    const oneShot = new Set(components.flatMap((c) => c.spec.dependsOn.filter((d) => d.condition === 'service_completed_successfully').map((d) => d.component)));
    for (const component of components) component.spec.runsToCompletion = oneShot.has(component.spec.name);
  }

  /** Secrets may only reach a container through its environment (as hashes) or a secret file. */
  private checkNoSecretsOutsideEnv(components: MappedComponent[]) {
    for (const component of components) {
      const { env: _env, ...rest } = component.template;
      const walk = (value: unknown, path: string) => {
        if (typeof value === 'string') {
          if (value.includes('${secret:')) this.problem(path, 'a secret can only be used in environment values or as a secret file');
        } else if (Array.isArray(value)) value.forEach((v, i) => walk(v, `${path}[${i}]`));
        else if (value && typeof value === 'object') for (const [k, v] of Object.entries(value)) walk(v, `${path}.${k}`);
      };
      walk(rest, `services.${component.spec.name}`);
      if (component.spec.build) walk(component.spec.build.args, `services.${component.spec.name}.build.args`);
    }
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

export function mapCompose(loaded: LoadedCompose, ctx: MapComposeContext): ComposeMapping {
  return new Mapper(loaded, ctx).run();
}
