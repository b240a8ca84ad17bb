// Renders a Service into its frozen deployment input: every container spec complete (image and
// digest, command, env with secrets as hashes, ports, mounts, files, labels, healthcheck,
// resources), the networks and volumes, the component graph and the update strategy. Pure: secrets
// come in as hashes through the context, files beside the manifests through its reader.

import { ValidationError, type FieldCause } from '../errors.js';
import { loadCompose, type SourceReader } from '../compose/load.js';
import { mapCompose, type MappedComponent } from '../compose/map.js';
import { normaliseHostIP } from '../compose/ports.js';
import type { Service } from '../schema/types.generated.js';
import {
  canonicaliseContainerSpec,
  cleanPath,
  containerName,
  emptyContainerTemplate,
  frozenInputHash,
  LABEL_PREFIX,
  LABELS,
  ownedObjectName,
  ownershipLabels,
  sha256Hex,
  specHash,
  type BuildSpec,
  type ComponentSpec,
  type ContainerSpec,
  type ContainerTemplate,
  type EnvValue,
  type FrozenInput,
  type HashedSecretRef,
  type NetworkSpec,
  type ReadinessProbe,
  type SecretKeyRef,
  type VolumeSpec,
} from './container-spec.js';
import { freezeEnvText, malformedPlaceholder, secretPlaceholder, secretsOf } from './env-secrets.js';
import { contextImageTag } from './build-context.js';
import { parseImageRef } from './image-ref.js';
import { parseServiceMemory } from './units.js';
import { placementProblems, type Placement } from '../swarm/placement.js';

export interface RenderContext {
  /** The hash of a Secret key's value, never the value; undefined when the Secret or key does not exist. */
  resolveSecret(name: string, key: string): { hash: string } | undefined;
  /** Repository digests resolved for image references (`web:1.4` → `sha256:…`). */
  imageDigests?: Record<string, string>;
  /** The commit the manifests (and compose files, build contexts) were read from. */
  sourceCommit?: string;
  /** Reads compose files, env files, secret and config files beside the manifest. */
  composeFiles?: SourceReader;
  /** Identifier of the deployment being frozen; recorded in a label of every container. */
  deployment?: string;
  /** Tag for the image each built component produces, e.g. the hash of its build context. */
  buildTags?: Record<string, string>;
  /** Hash of secret file content; sha256 hex by default. */
  hashContent?: (bytes: Uint8Array) => string;
  /**
   * The target server is a Swarm manager, where an image or build Service runs as one Swarm
   * service: several replicas may publish a host port (one task per node), and replicas 0 keeps
   * the task template.
   */
  swarm?: boolean;
}

const DEFAULT_UPDATE = { order: 'start-first', healthDeadlineSeconds: 60, autoRollback: true } as const;

/** Fields of a Service that describe one container, and so belong in the compose file instead. */
const CONTAINER_FIELDS = ['command', 'entrypoint', 'ports', 'volumes', 'healthcheck', 'resources', 'placement'] as const;

class Renderer {
  readonly causes: FieldCause[] = [];
  readonly project: string;
  readonly environment: string;
  readonly name: string;

  constructor(
    readonly service: Service,
    readonly ctx: RenderContext,
  ) {
    this.project = service.metadata.namespace ?? '';
    this.environment = service.spec?.environment ?? '';
    this.name = service.metadata.name;
  }

  fail(field: string, message: string) {
    this.causes.push({ field, message, reason: 'FieldValueInvalid' });
  }

  /** Resolves Secret keys to hashes; a missing one is reported at `field`. */
  secretHasher = (field: string) => (ref: SecretKeyRef): string => {
    const resolved = this.ctx.resolveSecret(ref.name, ref.key);
    if (!resolved) {
      this.fail(field, `Secret ${JSON.stringify(ref.name)} in namespace ${this.project} has no key ${JSON.stringify(ref.key)}`);
      return '';
    }
    return resolved.hash;
  };

  private hashContent = (bytes: Uint8Array) => (this.ctx.hashContent ?? sha256Hex)(bytes);

  render(): FrozenInput {
    const spec = this.service.spec;
    if (!spec) throw new ValidationError('Service has no spec', [{ field: 'spec', message: 'Required value', reason: 'FieldValueRequired' }]);
    if (!this.project) this.fail('metadata.namespace', 'a Service needs a namespace (its Project)');
    for (const [key] of Object.entries(spec.labels ?? {})) {
      if (key.startsWith(LABEL_PREFIX)) this.fail(`spec.labels.${key}`, `labels under ${LABEL_PREFIX} are Holdfast's own and cannot be set`);
    }
    const source = spec.source ?? {};
    const kinds = (['image', 'compose', 'build'] as const).filter((k) => source[k] !== undefined);
    if (kinds.length !== 1) {
      this.fail('spec.source', 'needs exactly one of image, compose or build');
      throw this.error();
    }
    let components: ComponentSpec[];
    let containers: ContainerSpec[];
    let networks: NetworkSpec[] = [];
    let volumes: VolumeSpec[] = [];
    let warnings: string[] = [];
    let composeProject: string | undefined;
    if (kinds[0] === 'compose') {
      const mapped = this.renderCompose();
      components = mapped.components;
      containers = mapped.containers;
      networks = mapped.networks;
      volumes = mapped.volumes;
      warnings = mapped.warnings;
      composeProject = mapped.projectName;
    } else {
      const single = this.renderSingle(kinds[0]);
      components = [single.component];
      containers = single.containers;
      volumes = single.volumes;
    }
    if (this.causes.length > 0) throw this.error();

    const ownerLabels = ownershipLabels({ project: this.project, environment: this.environment, service: this.name });
    const frozen: Omit<FrozenInput, 'specHash'> = {
      formatVersion: 1,
      service: { namespace: this.project, name: this.name, uid: this.service.metadata.uid ?? '' },
      project: this.project,
      environment: this.environment,
      generation: this.service.metadata.generation ?? 0,
      target: { server: spec.server },
      sourceKind: kinds[0],
      components,
      containers,
      networks: networks.map((n) => (n.external ? n : { ...n, labels: { ...n.labels, ...ownerLabels } })),
      volumes: volumes.map((v) => (v.external ? v : { ...v, labels: { ...v.labels, ...ownerLabels } })),
      update: {
        order: spec.update?.order ?? DEFAULT_UPDATE.order,
        healthDeadlineSeconds: spec.update?.healthDeadlineSeconds ?? DEFAULT_UPDATE.healthDeadlineSeconds,
        autoRollback: spec.update?.autoRollback ?? DEFAULT_UPDATE.autoRollback,
      },
      deletionPolicy: spec.deletionPolicy ?? 'Retain',
      secretRefs: uniqueSecretRefs([...containers, ...components.flatMap((c) => (c.taskTemplate ? [c.taskTemplate] : []))].flatMap(secretsOfContainer)),
      warnings,
    };
    if (this.ctx.deployment !== undefined) frozen.deployment = this.ctx.deployment;
    if (this.ctx.sourceCommit !== undefined) frozen.sourceCommit = this.ctx.sourceCommit;
    if (composeProject !== undefined) frozen.composeProject = composeProject;
    return { ...frozen, specHash: frozenInputHash(frozen) };
  }

  private error(): ValidationError {
    const unique = new Map(this.causes.map((c) => [`${c.field}\n${c.message}`, c]));
    const causes = [...unique.values()];
    return new ValidationError(
      `Service ${this.project}/${this.name} cannot be deployed: ${causes.map((c) => `${c.field}: ${c.message}`).join('; ')}`,
      causes,
      { kind: 'Service', name: this.name },
    );
  }

  /** The image a build produces: a Holdfast repository, tagged with the context's hash or the commit. */
  builtImage = (component: string | undefined, declared?: string, build?: BuildSpec): string => {
    const repository = declared
      ? parseImageRefRepository(declared)
      : `holdfast/${[this.project, this.environment, this.name, component].filter(Boolean).join('-').toLowerCase().replace(/[^a-z0-9.-]+/g, '-')}`;
    const key = component ?? this.name;
    const contextTag = build?.contextDigest ? contextImageTag({ ...build, contextDigest: build.contextDigest }) : undefined;
    const tag = this.ctx.buildTags?.[key] ?? contextTag ?? (this.ctx.sourceCommit ? this.ctx.sourceCommit.slice(0, 12) : 'latest');
    return `${repository}:${tag}`;
  };

  private digestOf(image: string): string | undefined {
    return parseImageRef(image).digest ?? this.ctx.imageDigests?.[image];
  }

  private containerFrom(template: ContainerTemplate, component: string, replicaIndex: number, name: string): ContainerSpec {
    const spec: ContainerSpec = {
      ...structuredClone(template),
      name,
      project: this.project,
      environment: this.environment,
      service: this.name,
      component,
      replicaIndex,
    };
    const digest = this.digestOf(spec.image);
    if (digest) spec.imageDigest = digest;
    spec.labels = {
      ...(this.service.spec?.labels ?? {}),
      ...template.labels,
      ...ownershipLabels({ project: this.project, environment: this.environment, service: this.name, component, replicaIndex, deployment: this.ctx.deployment }),
    };
    const canonical = canonicaliseContainerSpec(spec);
    canonical.labels[LABELS.specHash] = specHash(canonical);
    return canonical;
  }

  private envFromService(): { env: Record<string, EnvValue>; variables: Record<string, string> } {
    const env: Record<string, EnvValue> = {};
    const variables: Record<string, string> = {};
    for (const [i, item] of (this.service.spec?.env ?? []).entries()) {
      const at = `spec.env[${i}]`;
      if (item.valueFrom?.secretKeyRef) {
        const ref = { name: item.valueFrom.secretKeyRef.name, key: item.valueFrom.secretKeyRef.key };
        env[item.name] = { secretRef: ref, secretHash: this.secretHasher(`${at}.valueFrom.secretKeyRef`)(ref) };
        variables[item.name] = secretPlaceholder(ref);
      } else {
        const text = item.value ?? '';
        const bad = malformedPlaceholder(text);
        if (bad) this.fail(`${at}.value`, `${bad} is not a secret reference; write \${secret:<secret-name>/<key>}`);
        env[item.name] = freezeEnvText(text, this.secretHasher(`${at}.value`));
        variables[item.name] = text;
      }
    }
    return { env, variables };
  }

  private renderSingle(kind: 'image' | 'build'): { component: ComponentSpec; containers: ContainerSpec[]; volumes: VolumeSpec[] } {
    const spec = this.service.spec!;
    const source = spec.source;
    const image = kind === 'image' ? source.image! : this.builtImage(undefined);
    const t = emptyContainerTemplate(image);
    if (spec.command) t.command = [...spec.command];
    if (spec.entrypoint) t.entrypoint = [...spec.entrypoint];
    t.env = this.envFromService().env;
    for (const [i, port] of (spec.ports ?? []).entries()) {
      const protocol = port.protocol ?? 'tcp';
      if (port.hostPort === undefined) {
        t.exposedPorts.push({ port: port.containerPort, protocol });
        if (port.hostIP !== undefined) this.fail(`spec.ports[${i}].hostIP`, 'applies only to a published port (with hostPort)');
        continue;
      }
      const published: ContainerSpec['ports'][number] = { containerPort: port.containerPort, protocol, hostPort: port.hostPort };
      const hostIP = normaliseHostIP(port.hostIP);
      if (hostIP && this.ctx.swarm) {
        this.fail(`spec.ports[${i}].hostIP`, `a Swarm service publishes on every address of the node that runs a task (the Engine API's port config has no host address): ${hostIP} cannot be honoured on a docker-swarm-manager server; drop hostIP, or restrict the port with the node's firewall`);
      }
      if (hostIP) published.hostIP = hostIP;
      t.ports.push(published);
    }
    const volumes: VolumeSpec[] = [];
    for (const volume of spec.volumes ?? []) {
      const readOnly = volume.readOnly ?? false;
      if (volume.hostPath) {
        t.mounts.push({ type: 'bind', source: cleanPath(volume.hostPath), target: cleanPath(volume.mountPath), readOnly, createHostPath: true });
        continue;
      }
      const name = ownedObjectName(this.project, this.environment, this.name, volume.name);
      volumes.push({ key: volume.name, name, external: false, driverOpts: {}, labels: {} });
      t.mounts.push({ type: 'volume', source: name, target: cleanPath(volume.mountPath), readOnly });
    }
    let readiness: ReadinessProbe | undefined;
    const hc = spec.healthcheck;
    if (hc) {
      const timing = {
        intervalSeconds: hc.intervalSeconds ?? 10,
        timeoutSeconds: hc.timeoutSeconds ?? 5,
        failureThreshold: hc.failureThreshold ?? 3,
        startPeriodSeconds: hc.startPeriodSeconds ?? 0,
      };
      if (hc.exec) {
        // Run inside the container by Docker, so `docker ps` and the live view show its health too.
        t.healthcheck = {
          test: ['CMD', ...hc.exec.command],
          intervalMs: timing.intervalSeconds * 1000,
          timeoutMs: timing.timeoutSeconds * 1000,
          retries: timing.failureThreshold,
          startPeriodMs: timing.startPeriodSeconds * 1000,
        };
      } else if (hc.http) {
        readiness = { http: { path: hc.http.path ?? '/', port: hc.http.port }, ...timing };
      } else if (hc.tcp) {
        readiness = { tcp: { port: hc.tcp.port }, ...timing };
      }
      if (readiness && hc.successThreshold !== undefined) readiness.successThreshold = hc.successThreshold;
    }
    if (spec.resources?.cpus !== undefined) t.resources.cpus = spec.resources.cpus;
    if (spec.resources?.memory !== undefined) {
      const bytes = parseServiceMemory(spec.resources.memory);
      if (bytes === undefined) this.fail('spec.resources.memory', `${JSON.stringify(spec.resources.memory)} is not a memory size`);
      else t.resources.memoryBytes = bytes;
    }
    t.restartPolicy = { name: spec.restartPolicy ?? 'unless-stopped' };
    const replicas = spec.replicas ?? 1;
    if (replicas > 1 && !this.ctx.swarm) {
      for (const [i, port] of t.ports.entries()) this.fail(`spec.ports[${i}].hostPort`, `host port ${port.hostPort} cannot be published by ${replicas} replicas (on a Swarm manager it can, one task per node)`);
    }
    const component: ComponentSpec = { name: this.name, replicas, image, dependsOn: [], runsToCompletion: false };
    if (readiness) component.readiness = readiness;
    const placement = this.placement();
    if (placement) component.placement = placement;
    if (kind === 'build') {
      const build = source.build!;
      component.build = {
        context: build.context ?? '.',
        dockerfile: build.dockerfile ?? 'Dockerfile',
        args: { ...(build.args ?? {}) },
        git: build.git.ref !== undefined ? { url: build.git.url, ref: build.git.ref } : { url: build.git.url },
      };
    }
    const containers: ContainerSpec[] = [];
    for (let replica = 1; replica <= replicas; replica++) {
      containers.push(this.containerFrom(t, this.name, replica, containerName(this.project, this.environment, this.name, undefined, replica)));
    }
    if (replicas === 0 && this.ctx.swarm) component.taskTemplate = this.containerFrom(t, this.name, 1, containerName(this.project, this.environment, this.name, undefined, 1));
    return { component, containers, volumes };
  }

  /** spec.placement, checked as Swarm would check it; only a Swarm manager places tasks. */
  private placement(): Placement | undefined {
    const declared = this.service.spec!.placement;
    if (!declared) return undefined;
    if (!this.ctx.swarm) {
      this.fail('spec.placement', `places the tasks of a Swarm service: server ${this.service.spec!.server} is not a docker-swarm-manager`);
      return undefined;
    }
    const placement: Placement = { constraints: [...(declared.constraints ?? [])], spread: (declared.preferences ?? []).map((p) => p.spread) };
    for (const problem of placementProblems(placement, 'spec.placement')) this.fail(problem.path, problem.message);
    if (declared.maxReplicasPerNode !== undefined) placement.maxReplicasPerNode = declared.maxReplicasPerNode;
    return placement;
  }

  private renderCompose() {
    const spec = this.service.spec!;
    for (const field of CONTAINER_FIELDS) {
      if (spec[field] !== undefined) this.fail(`spec.${field}`, 'applies to image and build sources; with a compose source declare it in the compose file');
    }
    const compose = spec.source.compose!;
    const { variables } = this.envFromService();
    if (this.causes.length > 0) throw this.error();
    const loaded = loadCompose({
      source: compose.file !== undefined ? { file: compose.file } : { inline: compose.inline ?? {} },
      reader: this.ctx.composeFiles,
      variables,
      profiles: compose.profiles ?? [],
    });
    const mapping = mapCompose(loaded, {
      project: this.project,
      environment: this.environment,
      service: this.name,
      reader: this.ctx.composeFiles,
      resolveSecretHash: this.secretHasher(compose.file !== undefined ? `spec.source.compose.file (${compose.file})` : 'spec.source.compose.inline'),
      hashContent: this.hashContent,
      builtImage: (component, declared, build) => this.builtImage(component, declared, build),
      buildContextDigest: (context) => compose.buildContexts?.[context],
      swarm: this.ctx.swarm,
    });
    if (this.causes.length > 0) throw this.error();
    // replicas: 0 on the Service stops the whole compose project; otherwise each compose service
    // keeps its own replica count.
    const scaleToZero = spec.replicas === 0;
    const components = mapping.components.map((c) => (scaleToZero ? { ...c, spec: { ...c.spec, replicas: 0 } } : c));
    const containers = components.flatMap((c) => this.composeContainers(c));
    const specs = components.map((c) => {
      if (c.spec.replicas > 0 || !this.ctx.swarm) return c.spec;
      // A Swarm service scaled to zero keeps its task template, as an image Service's does.
      return { ...c.spec, taskTemplate: this.containerFrom(c.template, c.spec.name, 1, containerName(this.project, this.environment, this.name, c.spec.name, 1)) };
    });
    return { ...mapping, components: specs, containers };
  }

  private composeContainers(component: MappedComponent): ContainerSpec[] {
    const out: ContainerSpec[] = [];
    for (let replica = 1; replica <= component.spec.replicas; replica++) {
      const name = component.containerName ?? containerName(this.project, this.environment, this.name, component.spec.name, replica);
      const container = this.containerFrom(component.template, component.spec.name, replica, name);
      out.push(container);
    }
    return out;
  }
}

function uniqueSecretRefs(refs: HashedSecretRef[]): HashedSecretRef[] {
  const byId = new Map(refs.map((r) => [`${r.name}/${r.key}`, r]));
  return [...byId.entries()].sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0)).map(([, r]) => r);
}

function parseImageRefRepository(reference: string): string {
  const at = reference.indexOf('@');
  const withoutDigest = at >= 0 ? reference.slice(0, at) : reference;
  const colon = withoutDigest.lastIndexOf(':');
  return colon > withoutDigest.lastIndexOf('/') ? withoutDigest.slice(0, colon) : withoutDigest;
}

/**
 * The frozen input of a Service: throws ValidationError (every problem, each with its path) when
 * the Service cannot be deployed as declared.
 */
export function renderFrozenInput(service: Service, ctx: RenderContext): FrozenInput {
  return new Renderer(service, ctx).render();
}

/** Every Secret key a frozen container needs, with hashes: what the executor must resolve. */
export function secretsOfContainer(container: ContainerSpec): HashedSecretRef[] {
  const refs = Object.values(container.env).flatMap(secretsOf);
  for (const file of container.files) {
    if ('secretRef' in file.source) refs.push({ ...file.source.secretRef, secretHash: file.contentHash });
  }
  return refs;
}

/**
 * Renders a stored Service the way its rollout does, reading compose files from the spec (where
 * `holdfast apply` puts them). Admission runs it on every write and the controller before every
 * rollout, so what one accepts the other can deploy.
 */
export function renderDeclaredService(service: Service, ctx: Pick<RenderContext, 'resolveSecret' | 'sourceCommit' | 'swarm'>): FrozenInput {
  const files = service.spec?.source.compose?.files ?? {};
  const encoder = new TextEncoder();
  return renderFrozenInput(service, {
    ...ctx,
    composeFiles: {
      readFile: (path) => (Object.hasOwn(files, path) ? encoder.encode(files[path]) : undefined),
      isDirectory: (path) => Object.keys(files).some((f) => f.startsWith(`${path}/`)),
    },
  });
}
