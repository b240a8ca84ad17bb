// Image references as Docker reads them: `[registry/]path[:tag][@digest]`, with Docker Hub's
// defaults (`nginx` is `docker.io/library/nginx:latest`), so a tag and a digest of the same image
// compare as what they are.

export interface ImageRef {
  /** Registry host, `docker.io` by default. */
  registry: string;
  /** Repository path, `library/nginx` for an official image. */
  path: string;
  tag?: string;
  digest?: string;
}

const DIGEST = /^[a-z0-9]+(?:[.+_-][a-z0-9]+)*:[a-zA-Z0-9=_-]{32,}$/;

export function parseImageRef(reference: string): ImageRef {
  let rest = reference.trim();
  let digest: string | undefined;
  const at = rest.indexOf('@');
  if (at >= 0) {
    digest = rest.slice(at + 1);
    rest = rest.slice(0, at);
  }
  let tag: string | undefined;
  const lastColon = rest.lastIndexOf(':');
  if (lastColon > rest.lastIndexOf('/')) {
    tag = rest.slice(lastColon + 1);
    rest = rest.slice(0, lastColon);
  }
  const slash = rest.indexOf('/');
  const first = slash >= 0 ? rest.slice(0, slash) : '';
  let registry = 'docker.io';
  let path = rest;
  if (slash >= 0 && (first.includes('.') || first.includes(':') || first === 'localhost')) {
    registry = first;
    path = rest.slice(slash + 1);
  }
  if (registry === 'index.docker.io' || registry === 'registry-1.docker.io') registry = 'docker.io';
  if (registry === 'docker.io' && !path.includes('/')) path = `library/${path}`;
  return { registry, path, tag, digest };
}

export function isDigest(value: string): boolean {
  return DIGEST.test(value);
}

/** `registry/path` in full: the repository both refs must name to be the same image. */
export function repositoryOf(reference: string): string {
  const ref = parseImageRef(reference);
  return `${ref.registry}/${ref.path}`;
}

/** The fully qualified form: `docker.io/library/nginx:latest`, `registry/x@sha256:...`. */
export function canonicalImageRef(reference: string): string {
  const ref = parseImageRef(reference);
  const base = `${ref.registry}/${ref.path}`;
  if (ref.digest) return ref.tag ? `${base}:${ref.tag}@${ref.digest}` : `${base}@${ref.digest}`;
  return `${base}:${ref.tag ?? 'latest'}`;
}

export interface ImageIdentity {
  image: string;
  imageDigest?: string;
}

/**
 * Whether two (reference, digest) pairs name the same image: the same repository, and then the
 * same digest when both digests are known, else the same tag. `web:1.4` pinned to sha256:a and
 * `web@sha256:a` are the same; `web:1.4` at sha256:a and `web:1.4` at sha256:b are not.
 */
export function sameImage(a: ImageIdentity, b: ImageIdentity): boolean {
  const ra = parseImageRef(a.image);
  const rb = parseImageRef(b.image);
  if (ra.registry !== rb.registry || ra.path !== rb.path) return false;
  const da = a.imageDigest ?? ra.digest;
  const db = b.imageDigest ?? rb.digest;
  if (da && db) return da === db;
  if (ra.digest || rb.digest) return false;
  return (ra.tag ?? 'latest') === (rb.tag ?? 'latest');
}
