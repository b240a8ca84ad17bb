// Packs a build context directory beside the manifests into the tar `holdfast apply` uploads: entries
// sorted by path, owner root, mtime 0, modes reduced to 0644/0755, so the same files always give the
// same bytes and the same digest. `.dockerignore` is honoured as `docker build` honours it (the
// Dockerfile and .dockerignore themselves always go along). Symbolic links that leave the context
// and contexts larger than the limit are refused, each with the path at fault.
import { lstatSync, readdirSync, readFileSync, readlinkSync, statSync, type Stats } from 'node:fs';
import { join, posix, relative } from 'node:path';
import dockerignore from '@balena/dockerignore';
import { BUILD_CONTEXT_MAX_BYTES, contextDigest } from '../core/deploy/build-context.js';
import { buildContextTar, type ContextFile } from '../core/deploy/context-tar.js';

export interface PackedContext {
  /** sha256:… of `tar`. */
  digest: string;
  tar: Buffer;
  /** Regular files packed. */
  files: number;
}

export class ContextPackError extends Error {}

const TAR_BLOCK = 512;
const IGNORE_FILE = '.dockerignore';

/** Packs the directory `dir`; `dockerfile` (relative to it) must be a file inside it. */
export function packBuildContext(dir: string, opts: { dockerfile?: string; maxBytes?: number } = {}): PackedContext {
  const maxBytes = opts.maxBytes ?? BUILD_CONTEXT_MAX_BYTES;
  const dockerfile = posix.normalize(opts.dockerfile ?? 'Dockerfile');
  if (dockerfile.startsWith('/') || dockerfile === '..' || dockerfile.startsWith('../')) {
    throw new ContextPackError(`the Dockerfile ${opts.dockerfile} must be inside the build context`);
  }
  const root = statOrUndefined(dir, true);
  if (!root?.isDirectory()) throw new ContextPackError(root ? 'is not a directory' : 'does not exist (it is read relative to the compose file)');

  // A CommonJS module whose export is also its own `default`, which is how its types name it.
  const rules = dockerignore.default({ ignorecase: false });
  let exceptions = false;
  const ignoreText = readIfFile(join(dir, IGNORE_FILE));
  if (ignoreText !== undefined) {
    rules.add(ignoreText);
    exceptions = ignoreText.split(/\r?\n/).some((line) => line.trim().startsWith('!'));
  }
  const alwaysKept = new Set([dockerfile, IGNORE_FILE]);
  const ignored = (rel: string) => !alwaysKept.has(rel) && rules.ignores(rel);

  const entries: ContextFile[] = [];
  let bytes = 2 * TAR_BLOCK;
  let files = 0;
  const add = (entry: ContextFile, size: number) => {
    bytes += TAR_BLOCK + Math.ceil(size / TAR_BLOCK) * TAR_BLOCK;
    if (bytes > maxBytes) {
      throw new ContextPackError(`is larger than ${maxBytes / 1024 / 1024} MiB as a tar (at ${entry.path}); leave out what the build does not need with a ${IGNORE_FILE}`);
    }
    entries.push(entry);
  };

  const walk = (rel: string) => {
    const names = readdirSync(rel ? join(dir, rel) : dir).sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    for (const name of names) {
      const path = rel ? `${rel}/${name}` : name;
      const st = lstatSync(join(dir, path));
      const skip = ignored(path);
      if (st.isDirectory()) {
        // An excluded directory is still walked when a `!` rule may bring back something inside it.
        if (skip && !exceptions && !dockerfile.startsWith(`${path}/`)) continue;
        if (!skip) add({ path, content: '', type: 'directory' }, 0);
        walk(path);
      } else if (skip) {
        continue;
      } else if (st.isSymbolicLink()) {
        const target = readlinkSync(join(dir, path));
        const resolved = posix.normalize(posix.join(posix.dirname(path), target));
        if (target.startsWith('/') || resolved === '..' || resolved.startsWith('../')) {
          throw new ContextPackError(`${path} is a symbolic link to ${target}, outside the build context`);
        }
        add({ path, content: '', type: 'symlink', linkTarget: target }, 0);
      } else if (st.isFile()) {
        if (st.size > maxBytes) add({ path, content: '' }, st.size);
        add({ path, content: readFileSync(join(dir, path)), mode: st.mode & 0o111 ? 0o755 : 0o644 }, st.size);
        files++;
      }
      // Sockets, FIFOs and devices have no place in an image build: left out, as git would.
    }
  };
  try {
    walk('');
  } catch (err) {
    if (err instanceof ContextPackError) throw err;
    const e = err as NodeJS.ErrnoException;
    // An unreadable file or directory: say which, relative to the context.
    const where = e.path ? relative(dir, e.path) || '.' : '';
    throw new ContextPackError(`cannot be read${where ? ` at ${where}` : ''}: ${e.code ?? e.message}`);
  }

  const packedDockerfile = entries.find((e) => e.path === dockerfile);
  if (!packedDockerfile || (packedDockerfile.type ?? 'file') !== 'file') {
    throw new ContextPackError(`has no Dockerfile at ${dockerfile}`);
  }
  let tar: Buffer;
  try {
    tar = buildContextTar(entries);
  } catch (err) {
    throw new ContextPackError((err as Error).message.replace(/^build context: /, ''));
  }
  return { digest: contextDigest(tar), tar, files };
}

function statOrUndefined(path: string, follow = false): Stats | undefined {
  try {
    return follow ? statSync(path) : lstatSync(path);
  } catch {
    return undefined;
  }
}

function readIfFile(path: string): string | undefined {
  return statOrUndefined(path)?.isFile() ? readFileSync(path, 'utf8') : undefined;
}
