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
  STACK_NAMESPACE_LABEL,
  type BuildSpec,
  type ComponentSpec,
  type ContainerTemplate,
  type DependencySpec,
  type EnvValue,
  type FileSpec,
  type MountSpec,
  type NetworkAttachment,
  type NetworkSpec,
  type PortSpec,
  type SecretKeyRef,
  type VolumeSpec,
} from '../deploy/container-spec.js';
import { freezeEnvText, malformedPlaceholder } from '../deploy/env-secrets.js';
import { stackServiceName, swarmStackName } from '../deploy/swarm-spec.js';
import { parseTmpfs } from '../deploy/mounts.js';
import { parseDockerBytes, parseDurationMs, parseFileMode } from '../deploy/units.js';
import { DotenvError, parseDotenv } from './dotenv.js';
import { composeError, readText, type LoadedCompose, type Problem, type SourceReader } from './load.js';
import { parseExpose, parseLongPort, parseShortPort, PortSyntaxError } from './ports.js';
import { FileSources } from './files.js';
import { checkSwarmService, readSwarmDeploy } from './swarm-deploy.js';
import { readDevices, readExtraHosts, readHealthcheck, readReplicas, readResources, readRestartPolicy, readUlimits, type Report } from './service-fields.js';
import { asBool, dictOf, externalName, normaliseCapability, onlyTrue, splitShellWords, stringList } from './values.js';
import type { CommandLike, ComposeService, ComposeVolumeLong, ListOrDict } from './types.js';

export interface MapComposeContext {
  project: string;
  environment: string;
  service: string;
  reader?: SourceReader;
  /** Hash of a Secret key's value (never the value). */
  resolveSecretHash: (ref: SecretKeyRef) => string;
  /** Hash of file content that is secret (a compose secret's file). */
  hashContent: (bytes: Uint8Array) => string;
  /** The image a compose `build` produces, given the component, the `image` the file declares and the build. */
  builtImage: (component: string, declaredImage: string | undefined, build: BuildSpec) => string;
  /** The digest of the uploaded tar of a build context (a path relative to the manifest's directory). */
  buildContextDigest?: (context: string) => string | undefined;
  /**
   * The server is a Swarm manager: the file is a stack, each service a Swarm service on overlay
   * networks, with deploy's Swarm keys honoured and what Swarm cannot run refused.
   */
  swarm?: boolean;
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
  ) {
    this.files = new FileSources(loaded, ctx, this.report);
  }

  private problem(path: string, message: string) {
    this.problems.push({ path, message });
  }

  private readonly report: Report = {
    problem: (path, message) => this.problem(path, message),
    warn: (message) => this.warnings.push(message),
  };

  private readonly files: FileSources;

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
      if (this.ctx.swarm && !ext.external && (network.driver === 'bridge' || network.driver === 'host')) {
        this.problem(`networks.${key}.driver`, `a ${network.driver} network cannot connect the services of a stack on a Swarm manager: use overlay (the default there)`);
      }
      this.networks.set(key, {
        key,
        name,
        external: ext.external,
        driver: network.driver ?? (this.ctx.swarm && !ext.external ? 'overlay' : undefined),
        driverOpts: Object.fromEntries(Object.entries(network.driver_opts ?? {}).map(([k, v]) => [k, String(v)])),
        internal: onlyTrue(network.internal),
        attachable: onlyTrue(network.attachable),
        enableIpv6: onlyTrue(network.enable_ipv6),
        labels: { ...this.userLabels(network.labels, `networks.${key}.labels`), ...this.stackLabels() },
      });
    }
    if (!this.networks.has('default')) {
      const swarm = this.ctx.swarm ? { driver: 'overlay' } : {};
      this.networks.set('default', { key: 'default', name: this.owned('default'), external: false, ...swarm, driverOpts: {}, labels: this.stackLabels() });
    }
  }

  /** On a Swarm manager, what marks the stack's services and networks as one stack (as docker stack deploy does). */
  private stackLabels(): Record<string, string> {
    return this.ctx.swarm ? { [STACK_NAMESPACE_LABEL]: swarmStackName(this.ctx) } : {};
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
    const image = build ? this.ctx.builtImage(name, svc.image, build) : (svc.image ?? '');
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
    t.files = [...files, ...this.files.fileRefs('secret', svc.secrets, `${at}.secrets`), ...this.files.fileRefs('config', svc.configs, `${at}.configs`)];
    this.checkUniqueTargets(t, at);
    t.labels = { ...this.userLabels(svc.labels, `${at}.labels`), ...this.stackLabels() };
    const { networks, networkMode } = this.serviceNetworks(name, svc, at);
    t.networks = networks;
    if (networkMode) t.networkMode = networkMode;
    t.restartPolicy = readRestartPolicy(svc, at, this.report, !!this.ctx.swarm);
    const healthcheck = readHealthcheck(svc, at, this.report);
    if (healthcheck) t.healthcheck = healthcheck;
    t.resources = readResources(svc, at, this.report);
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
    t.ulimits = readUlimits(svc, at, this.report);
    if (svc.shm_size !== undefined) {
      const bytes = parseDockerBytes(svc.shm_size);
      if (bytes === undefined) this.problem(`${at}.shm_size`, `${JSON.stringify(svc.shm_size)} is not a size such as 64m`);
      else t.shmSizeBytes = bytes;
    }
    t.devices = readDevices(svc, at, this.report);
    t.dns = stringList(svc.dns);
    t.dnsSearch = stringList(svc.dns_search);
    t.dnsOptions = [...(svc.dns_opt ?? [])];
    t.extraHosts = readExtraHosts(svc, at, this.report);
    t.groupAdd = (svc.group_add ?? []).map(String);
    if (svc.logging) {
      t.logging = {
        driver: svc.logging.driver ?? 'json-file',
        options: Object.fromEntries(Object.entries(svc.logging.options ?? {}).filter(([, v]) => v !== null).map(([k, v]) => [k, String(v)])),
      };
    }
    if (svc.platform !== undefined) t.platform = svc.platform;
    if (svc.runtime !== undefined) t.runtime = svc.runtime;

    const replicas = readReplicas(svc, at, this.report);
    if (svc.container_name !== undefined && replicas > 1) {
      this.problem(`${at}.container_name`, `one container name cannot be given to ${replicas} replicas`);
    }
    // On a Swarm manager each task publishing a host port gets a node of its own.
    if (replicas > 1 && !this.ctx.swarm) {
      for (const port of t.ports) {
        if (port.hostPort !== undefined) this.problem(`${at}.ports`, `host port ${port.hostPort} cannot be published by ${replicas} replicas`);
      }
    }
    const swarm = readSwarmDeploy(svc, at, !!this.ctx.swarm, this.report);
    if (this.ctx.swarm && svc.deploy?.labels !== undefined) {
      // The Swarm service's own labels (a proxy's routing rules, say), beside its tasks' `labels`.
      const serviceLabels = this.userLabels(svc.deploy.labels, `${at}.deploy.labels`);
      if (STACK_NAMESPACE_LABEL in serviceLabels) this.problem(`${at}.deploy.labels.${STACK_NAMESPACE_LABEL}`, 'the stack namespace is set by Holdfast, as docker stack deploy sets it');
      if (Object.keys(serviceLabels).length) swarm.serviceLabels = serviceLabels;
    }
    if (this.ctx.swarm) checkSwarmService(name, stackServiceName(swarmStackName(this.ctx), name), svc, t, at, this.report);
    if (this.problems.length > problemsBefore) return undefined;
    const spec: ComponentSpec = {
      name,
      replicas,
      image,
      dependsOn: this.dependsOn(svc, at),
      runsToCompletion: false,
      ...swarm,
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
    const digest = this.ctx.buildContextDigest?.(spec.context);
    if (digest !== undefined) spec.contextDigest = digest;
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
    if (!source.startsWith('/')) return this.files.fileFromBesideCompose(source, target, at);
    const mount: MountSpec = { type: 'bind', source: cleanPath(source), target, readOnly };
    // rprivate is Docker's default: absent means the same.
    if (entry.bind?.propagation && entry.bind.propagation !== 'rprivate') mount.propagation = entry.bind.propagation;
    if (entry.bind?.selinux) mount.selinux = entry.bind.selinux;
    if (asBool(entry.bind?.create_host_path)) mount.createHostPath = true;
    return mount;
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

export function mapCompose(loaded: LoadedCompose, ctx: MapComposeContext): ComposeMapping {
  return new Mapper(loaded, ctx).run();
}
