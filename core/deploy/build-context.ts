// Build contexts that travel with the manifests: `holdfast apply` packs a compose service's build
// directory into a deterministic tar, names it by its sha256 digest and uploads it once; the Service
// records the digest, and the image a build produces is tagged from it. Pure: the limits, the digest
// syntax and the tag.
import { canonicalJson } from '../canonical-json.js';
import { sha256Hex, type BuildSpec } from './container-spec.js';

/** The largest build context tar the control plane accepts and keeps. */
export const BUILD_CONTEXT_MAX_BYTES = 64 * 1024 * 1024;

const DIGEST = /^sha256:[0-9a-f]{64}$/;

export function isContextDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** `sha256:<hex>` of a build context tar. */
export function contextDigest(tar: Uint8Array): string {
  return `sha256:${sha256Hex(tar)}`;
}

/**
 * The tag of the image a build from an uploaded context produces: `ctx-` and 12 hex digits of the
 * hash of everything the build reads (the context's digest, the Dockerfile path, build args and
 * target). It changes exactly when one of them changes, so an unchanged input is never rebuilt.
 */
export function contextImageTag(build: Pick<BuildSpec, 'dockerfile' | 'args' | 'target'> & { contextDigest: string }): string {
  const input = { context: build.contextDigest, dockerfile: build.dockerfile, args: build.args, target: build.target };
  return `ctx-${sha256Hex(canonicalJson(input)).slice(0, 12)}`;
}
