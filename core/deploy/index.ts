// The deployable model: container specs, frozen inputs, ownership labels and names.
export * from './container-spec.js';
export { freezeEnvText, liveEnvValueLike, resolveEnvValue, secretPlaceholder, secretRefsIn, secretsOf, TEMPLATE_MISMATCH } from './env-secrets.js';
export { canonicalImageRef, parseImageRef, repositoryOf, sameImage, type ImageIdentity, type ImageRef } from './image-ref.js';
export { parseCpus, parseDockerBytes, parseDurationMs, parseServiceMemory } from './units.js';

export { renderFrozenInput, secretsOfContainer, type RenderContext } from './render.js';
