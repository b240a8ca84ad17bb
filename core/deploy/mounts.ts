// Mount strings as Docker writes them: `--tmpfs` options and `Binds` entries (`src:dst[:opts]`).

import { cleanPath, type MountSpec } from './container-spec.js';
import { parseDockerBytes, parseFileMode } from './units.js';

/** `size=64m,mode=1777,noexec` for a tmpfs at `target`; a message when an option is invalid. */
export function parseTmpfsOptions(target: string, options: string): MountSpec | string {
  const mount: MountSpec = { type: 'tmpfs', source: '', target: cleanPath(target), readOnly: false };
  const others: string[] = [];
  for (const option of options.split(',').map((o) => o.trim()).filter(Boolean)) {
    const eq = option.indexOf('=');
    const key = eq >= 0 ? option.slice(0, eq) : option;
    const value = eq >= 0 ? option.slice(eq + 1) : undefined;
    if (key === 'size' && value !== undefined) {
      const size = parseDockerBytes(value);
      if (size === undefined) return `size ${JSON.stringify(value)} is not a size`;
      mount.sizeBytes = size;
    } else if (key === 'mode' && value !== undefined) {
      const mode = parseFileMode(value);
      if (mode === undefined) return `mode ${JSON.stringify(value)} is not an octal file mode`;
      mount.mode = mode;
    } else if (option === 'ro') mount.readOnly = true;
    else if (option !== 'rw') others.push(option);
  }
  if (others.length > 0) mount.tmpfsOptions = others.sort();
  return mount;
}

/** `/run` or `/run:size=64m,mode=1777,noexec` (compose's `tmpfs`, docker's `--tmpfs`). */
export function parseTmpfs(entry: string): MountSpec | string {
  const colon = entry.indexOf(':');
  const target = colon >= 0 ? entry.slice(0, colon) : entry;
  if (!target.startsWith('/')) return `${JSON.stringify(target)} must be an absolute path`;
  return parseTmpfsOptions(target, colon >= 0 ? entry.slice(colon + 1) : '');
}

const PROPAGATION = new Set(['shared', 'slave', 'private', 'rshared', 'rslave', 'rprivate']);
const CONSISTENCY = new Set(['cached', 'delegated', 'consistent']);

/**
 * A HostConfig.Binds entry: `name:/dst[:opts]` (a named volume) or `/src:/dst[:opts]` (a bind,
 * whose missing source Docker creates). Docker's own default propagation (rprivate) is left out.
 */
export function parseBind(entry: string): MountSpec | undefined {
  const parts = entry.split(':');
  if (parts.length < 2 || parts.length > 3) return undefined;
  const [source, target, opts = ''] = parts;
  const isBind = source.startsWith('/');
  const mount: MountSpec = { type: isBind ? 'bind' : 'volume', source: isBind ? cleanPath(source) : source, target: cleanPath(target), readOnly: false };
  for (const option of opts.split(',').filter(Boolean)) {
    if (option === 'ro') mount.readOnly = true;
    else if (option === 'z' || option === 'Z') mount.selinux = option;
    else if (option === 'nocopy') mount.noCopy = true;
    else if (PROPAGATION.has(option)) {
      if (option !== 'rprivate') mount.propagation = option;
    }
    // rw and consistency modes change nothing on Docker Engine.
    else if (option !== 'rw' && !CONSISTENCY.has(option)) return undefined;
  }
  if (isBind) mount.createHostPath = true;
  return mount;
}
