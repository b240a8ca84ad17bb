// The direction of dependencies between the top-level folders, which is the architecture: a pure
// core at the bottom; the execution plane (hosts), the store and security around it; controllers
// over those; the API over the controllers; clients (the CLI, the dashboard) that speak to the API and
// share only the core with it. This file is the one list of what may import what. A new import
// against it fails here; so does an entry in KNOWN_EXCEPTIONS that is no longer needed.
import assert from 'node:assert/strict';
import { readFileSync, readdirSync } from 'node:fs';
import { dirname, join, normalize, relative } from 'node:path';
import { describe, it } from 'node:test';
import { packageRoot } from '../../../core/package-root.js';

const ROOT = packageRoot();

/** For each folder, the folders its code may import from (its own is always allowed). */
const ALLOWED: Record<string, readonly string[]> = {
  core: [],
  hosts: ['core'],
  store: ['core', 'observability'],
  observability: ['core'],
  security: ['core', 'store'],
  // Reading manifest files and compose bundles from disk: the CLI's apply and the GitOps sync.
  manifests: ['core'],
  controllers: ['core', 'hosts', 'store', 'security', 'observability', 'manifests'],
  api: ['core', 'hosts', 'store', 'security', 'observability', 'controllers'],
  // The composition root: builds every part and wires them together for `holdfast serve`.
  'control-plane': ['core', 'hosts', 'store', 'security', 'observability', 'controllers', 'api'],
  cli: ['core', 'manifests'],
  'dashboard/src': ['core'],
  // Benchmarks drive the whole product on the test hosts, with the tests' own harness.
  bench: ['core', 'hosts', 'store', 'security', 'observability', 'manifests', 'controllers', 'api', 'control-plane', 'cli', 'test/support'],
};

/** Node modules and packages that do I/O: the core must reach none of them. */
const IO_MODULES = /^(node:)?(fs|fs\/promises|child_process|net|http|https|http2|tls|dgram|dns|worker_threads|cluster)$|^(pg|ssh2|@electric-sql\/pglite|chokidar|express|pino)(\/|$)/;

/**
 * Imports against the rules that are known and not yet moved, each with the reason it is still
 * there. Keep this list short; remove an entry with the move that makes it unnecessary.
 */
const KNOWN_EXCEPTIONS: Record<string, string> = {
  'cli/commands/serve.ts -> control-plane/start.ts': 'the serve command starts the control plane (the composition root); the bundle loads it from dist/ at run time',
  'cli/commands/serve.ts -> control-plane/config.ts': 'the serve command passes its flags as the control plane takes them (a type only)',
  'core/package-root.ts -> node:fs': 'finds the folder holding package.json, for data files shipped beside the code',
};

interface Import {
  from: string;
  /** A path from the package root for an import of the project's own code, else the package name. */
  to: string;
  ownCode: boolean;
}

function sourceFiles(dir: string): string[] {
  return readdirSync(join(ROOT, dir), { recursive: true, withFileTypes: true })
    .filter((entry) => entry.isFile() && /\.(ts|tsx|mts)$/.test(entry.name) && !entry.name.endsWith('.d.ts'))
    .map((entry) => relative(ROOT, join(entry.parentPath ?? entry.path, entry.name)))
    .filter((file) => !file.split('/').includes('node_modules') && !file.split('/').includes('dist'));
}

const SPECIFIER = /(?:^|[\s;])(?:import|export)\s+(?:type\s+)?(?:[^'";]*?\s+from\s+)?['"]([^'"]+)['"]|\bimport\(\s*['"]([^'"]+)['"]\s*\)/g;

function importsOf(file: string): Import[] {
  const text = readFileSync(join(ROOT, file), 'utf8');
  const found: Import[] = [];
  for (const match of text.matchAll(SPECIFIER)) {
    const specifier = match[1] ?? match[2]!;
    const ownCode = specifier.startsWith('.');
    const to = ownCode ? normalize(join(dirname(file), specifier)).replace(/\.js$/, '.ts') : specifier;
    found.push({ from: file, to, ownCode });
  }
  return found;
}

/** The folder of ALLOWED a path belongs to, or undefined for files outside them (scripts, tests). */
function folderOf(path: string): string | undefined {
  return Object.keys(ALLOWED)
    .concat('test/support')
    .filter((folder) => path === folder || path.startsWith(folder + '/'))
    .sort((a, b) => b.length - a.length)[0];
}

function violations(): string[] {
  const found: string[] = [];
  for (const folder of Object.keys(ALLOWED)) {
    for (const file of sourceFiles(folder)) {
      for (const { to, ownCode } of importsOf(file)) {
        if (!ownCode) {
          if (folder === 'core' && IO_MODULES.test(to)) found.push(`${file} -> ${to}`);
          continue;
        }
        const target = folderOf(to);
        if (target !== folder && (target === undefined || !ALLOWED[folder]!.includes(target))) found.push(`${file} -> ${to}`);
      }
    }
  }
  return found.sort();
}

describe('dependency direction', () => {
  const found = violations();

  it('finds imports to check (the scan reads the tree)', () => {
    const scanned = Object.keys(ALLOWED).flatMap(sourceFiles).flatMap(importsOf);
    assert.ok(scanned.length > 500, `only ${scanned.length} imports found`);
    assert.ok(scanned.some((i) => i.from === 'api/app.ts' && i.to.startsWith('controllers/')), 'an API import of the controllers is seen');
  });

  it('has no import against the allowed directions beyond the known exceptions', () => {
    const unexpected = found.filter((v) => !(v in KNOWN_EXCEPTIONS));
    assert.deepEqual(unexpected, [], 'these imports go against ALLOWED: move the code to the folder it belongs to');
  });

  it('lists no exception that is no longer needed', () => {
    const stale = Object.keys(KNOWN_EXCEPTIONS).filter((e) => !found.includes(e));
    assert.deepEqual(stale, [], 'these exceptions no longer occur: remove them from KNOWN_EXCEPTIONS');
  });
});
