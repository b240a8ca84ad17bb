// A build context for POST /build from entries held in memory (an inline Dockerfile, generated
// config, a directory packed by `holdfast apply`): a plain ustar archive, the same bytes for the same
// entries (owner root, fixed mtime). Pure.

export interface ContextFile {
  /** Relative path inside the context, `/`-separated. */
  path: string;
  /** A regular file's bytes; empty for directories and symbolic links. */
  content: string | Buffer;
  /** Unix permission bits; 0o644 (0o755 for a directory, 0o777 for a link) when omitted. */
  mode?: number;
  /** A regular file when omitted. */
  type?: 'file' | 'directory' | 'symlink';
  /** A symbolic link's target. */
  linkTarget?: string;
}

const TYPE_FLAG = { file: '0', symlink: '2', directory: '5' } as const;
const DEFAULT_MODE = { file: 0o644, symlink: 0o777, directory: 0o755 } as const;

const BLOCK = 512;

export function buildContextTar(files: readonly ContextFile[], mtimeSeconds = 0): Buffer {
  const blocks: Buffer[] = [];
  const seen = new Set<string>();
  for (const file of files) {
    const type = file.type ?? 'file';
    const path = checkPath(file.path);
    if (seen.has(path)) throw new Error(`build context: ${path} given twice`);
    seen.add(path);
    const data = type !== 'file' ? Buffer.alloc(0) : typeof file.content === 'string' ? Buffer.from(file.content, 'utf8') : file.content;
    const link = type === 'symlink' ? (file.linkTarget ?? '') : '';
    if (type === 'symlink' && (link === '' || Buffer.byteLength(link) > 100)) throw new Error(`build context: the link ${path} needs a target of 1 to 100 bytes`);
    blocks.push(header(type === 'directory' && Buffer.byteLength(path) < 100 ? `${path}/` : path, data.length, file.mode ?? DEFAULT_MODE[type], mtimeSeconds, TYPE_FLAG[type], link));
    blocks.push(data);
    const padding = (BLOCK - (data.length % BLOCK)) % BLOCK;
    if (padding > 0) blocks.push(Buffer.alloc(padding));
  }
  // Two zero blocks end the archive.
  blocks.push(Buffer.alloc(BLOCK * 2));
  return Buffer.concat(blocks);
}

function checkPath(path: string): string {
  const clean = path.replace(/^\.\//, '');
  if (clean === '' || clean.startsWith('/') || clean.split('/').some((part) => part === '..' || part === '')) {
    throw new Error(`build context: "${path}" must be a relative path without "..", empty parts or a leading "/"`);
  }
  return clean;
}

function header(path: string, size: number, mode: number, mtime: number, typeFlag: string, linkTarget: string): Buffer {
  const block = Buffer.alloc(BLOCK);
  let name = path;
  let prefix = '';
  if (Buffer.byteLength(path) > 100) {
    // ustar splits long paths at a slash: prefix (155 bytes) + name (100 bytes).
    const cut = path.lastIndexOf('/', 155);
    if (cut <= 0 || Buffer.byteLength(path.slice(cut + 1)) > 100 || Buffer.byteLength(path.slice(0, cut)) > 155) {
      throw new Error(`build context: path too long for a tar header: ${path}`);
    }
    prefix = path.slice(0, cut);
    name = path.slice(cut + 1);
  }
  block.write(name, 0, 100, 'utf8');
  writeOctal(block, mode & 0o7777, 100, 8);
  writeOctal(block, 0, 108, 8); // uid
  writeOctal(block, 0, 116, 8); // gid
  writeOctal(block, size, 124, 12);
  writeOctal(block, mtime, 136, 12);
  block.fill(' ', 148, 156); // checksum counts as spaces while summing
  block.write(typeFlag, 156, 1, 'ascii');
  block.write(linkTarget, 157, 100, 'utf8');
  block.write('ustar\0', 257, 6, 'ascii');
  block.write('00', 263, 2, 'ascii');
  block.write('root', 265, 32, 'ascii');
  block.write('root', 297, 32, 'ascii');
  block.write(prefix, 345, 155, 'utf8');
  let sum = 0;
  for (const byte of block) sum += byte;
  block.write(`${sum.toString(8).padStart(6, '0')}\0 `, 148, 8, 'ascii');
  return block;
}

function writeOctal(block: Buffer, value: number, offset: number, length: number): void {
  block.write(`${value.toString(8).padStart(length - 1, '0')}\0`, offset, length, 'ascii');
}
