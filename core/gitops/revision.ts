// Which commit a GitRepository's ref names, from what `git ls-remote` printed; and how a revision is
// written (`main@sha1:<commit>`, as Flux writes it). Pure.
import semver from 'semver';

export interface GitRef {
  branch?: string;
  tag?: string;
  semver?: string;
  commit?: string;
}

export interface RemoteRef {
  sha: string;
  /** Full ref name, e.g. refs/heads/main or refs/tags/v1.2.0^{} (the commit a tag object points at). */
  name: string;
}

export interface ResolvedRevision {
  commit: string;
  /** `main@sha1:…`, `v1.2.0@sha1:…`, or `sha1:…` for a pinned commit. */
  revision: string;
}

const FULL_SHA = /^[0-9a-f]{40}$/;

/** The lines of `git ls-remote` output: `<sha>\t<ref name>`. */
export function parseLsRemote(text: string): RemoteRef[] {
  return text
    .split('\n')
    .map((line) => line.trim().split(/\s+/))
    .filter(([sha, name]) => sha && name && FULL_SHA.test(sha))
    .map(([sha, name]) => ({ sha, name }));
}

/** The patterns to give `git ls-remote` for a ref; none for a pinned commit (nothing to ask). */
export function lsRemotePatterns(ref: GitRef): string[] {
  if (ref.commit) return [];
  if (ref.branch) return [`refs/heads/${ref.branch}`];
  if (ref.tag) return [`refs/tags/${ref.tag}`, `refs/tags/${ref.tag}^{}`];
  return ['refs/tags/*'];
}

/** The commit `ref` names among `refs`, or why there is none. */
export function resolveRevision(ref: GitRef, refs: RemoteRef[]): ResolvedRevision | { error: string } {
  if (ref.commit) return { commit: ref.commit, revision: `sha1:${ref.commit}` };
  if (ref.branch) {
    const head = refs.find((r) => r.name === `refs/heads/${ref.branch}`);
    return head ? { commit: head.sha, revision: `${ref.branch}@sha1:${head.sha}` } : { error: `branch "${ref.branch}" not found in the repository` };
  }
  if (ref.tag) {
    const sha = tagCommit(refs, ref.tag);
    return sha ? { commit: sha, revision: `${ref.tag}@sha1:${sha}` } : { error: `tag "${ref.tag}" not found in the repository` };
  }
  const range = ref.semver ?? '';
  if (!semver.validRange(range)) return { error: `ref.semver "${range}" is not a semver range (e.g. ">=1.0.0 <2.0.0", "^1.2", "1.x")` };
  const tags = [...new Set(refs.filter((r) => r.name.startsWith('refs/tags/')).map((r) => r.name.slice('refs/tags/'.length).replace(/\^\{\}$/, '')))];
  const best = tags
    .filter((t) => semver.valid(t, { loose: true }) && semver.satisfies(semver.clean(t, { loose: true })!, range))
    .sort((a, b) => semver.rcompare(semver.clean(a, { loose: true })!, semver.clean(b, { loose: true })!))[0];
  if (!best) return { error: `no tag satisfies the semver range "${range}"` };
  return { commit: tagCommit(refs, best)!, revision: `${best}@sha1:${tagCommit(refs, best)}` };
}

/** An annotated tag's commit is the peeled `^{}` entry; a lightweight tag names the commit itself. */
function tagCommit(refs: RemoteRef[], tag: string): string | undefined {
  return (refs.find((r) => r.name === `refs/tags/${tag}^{}`) ?? refs.find((r) => r.name === `refs/tags/${tag}`))?.sha;
}

/** The commit of a revision string (`main@sha1:<sha>` → `<sha>`). */
export function commitOf(revision: string | undefined): string | undefined {
  return revision?.match(/sha1:([0-9a-f]{40})$/)?.[1];
}
