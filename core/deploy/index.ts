// The deployable model: container specs, frozen inputs, ownership labels and names.
export * from './container-spec.js';
export { freezeEnvText, liveEnvValueLike, resolveEnvValue, secretPlaceholder, secretRefsIn, secretsOf, TEMPLATE_MISMATCH } from './env-secrets.js';
export { canonicalImageRef, parseImageRef, repositoryOf, sameImage, type ImageIdentity, type ImageRef } from './image-ref.js';
export { parseCpus, parseDockerBytes, parseDurationMs, parseServiceMemory } from './units.js';
export { renderDeclaredService, renderFrozenInput, secretsOfContainer, type RenderContext } from './render.js';
export { diffContainerSpecs, isIgnored, type CompareOptions, type FieldDiff, type FieldDiffKind } from './compare.js';
export { containerState, DEFAULT_PATH, digestFor, normaliseInspect, UNHASHED, type ContainerState, type HealthStatus, type LiveContainer, type NormaliseOptions } from './normalise-live.js';
export type { DockerContainerInspect, DockerImageInspect, DockerNetworkInspect, DockerVolumeInspect } from './docker-types.js';
export { parseBind, parseTmpfs, parseTmpfsOptions } from './mounts.js';
export { containerCreateRequest, imageReference, type ContainerCreateBody, type ContainerCreateRequest, type CreateRequestContext, type EndpointRequest } from './docker-request.js';
export { rolledBack, rolledBackMessage, ROLLED_BACK_CONDITION, type DeploymentFacts, type RolledBack } from './rolled-back.js';
