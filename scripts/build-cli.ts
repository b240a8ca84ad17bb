// Bundles the CLI (run by `npm run build` after tsc) into dist/cli/holdfast.cjs, which
// bin/holdfast.js runs: the commands it loads lazily stay lazy inside the bundle, and server-only
// code cannot slip in. The CRD schemas' validators are compiled here, not on every run, into
// dist/cli/validators.cjs, which the bundle reads only when it validates manifests (they are most
// of the CLI's code, and `get` or `--version` need none of it). `holdfast serve` runs the server
// from dist/ (tsc's output), outside the bundle. Last, it runs the bundle twice to write V8's code
// cache of it (dist/cli/holdfast.cjs.cache), which bin/holdfast.js hands to V8 instead of compiling.
import { execFileSync } from 'node:child_process';
import { existsSync, rmSync } from 'node:fs';
import { join, relative } from 'node:path';
import { build, type BuildOptions, type Plugin } from 'esbuild';
import { packageRoot } from '../core/package-root.js';
import { precompiledValidatorsSource } from './precompile-validators.js';

const ROOT = packageRoot();
const OUT_DIR = join(ROOT, 'dist', 'cli');
const VALIDATORS_FILE = 'validators.cjs';
const BUNDLE = join(OUT_DIR, 'holdfast.cjs');

/**
 * The project's folders the CLI may carry: its own, the pure core and the manifest reader (as
 * ALLOWED in test/unit/architecture/dependency-direction.test.ts says).
 */
const CLI_FOLDERS = ['cli', 'core', 'manifests'];

const common: BuildOptions = {
  bundle: true,
  platform: 'node',
  target: 'node20',
  // Less to parse on every start; names are kept so that HOLDFAST_DEBUG stacks stay readable.
  minifyWhitespace: true,
  minifySyntax: true,
  legalComments: 'none',
  logLevel: 'warning',
};

const cliBoundary: Plugin = {
  name: 'holdfast-cli-boundary',
  setup(b) {
    const from = (importer: string, file: string) => relative(ROOT, importer) === file;
    // Resolved at run time beside the bundle, as from dist/cli/main.js: tsc's output of the server.
    b.onResolve({ filter: /^\.\/commands\/serve\.js$/ }, (args) => (from(args.importer, 'cli/main.ts') ? { path: args.path, external: true } : undefined));
    // require(), not import: an external import would be loaded when the bundle starts.
    b.onResolve({ filter: /^\.\/compiled-validators\.js$/ }, (args) =>
      from(args.importer, 'core/schema/validate.ts') ? { path: VALIDATORS_FILE, namespace: 'holdfast-validators' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'holdfast-validators' }, () => ({ contents: `module.exports = require("./${VALIDATORS_FILE}");`, loader: 'js' }));
    b.onResolve({ filter: new RegExp(`^\\./${VALIDATORS_FILE.replace('.', '\\.')}$`) }, (args) =>
      args.namespace === 'holdfast-validators' ? { path: args.path, external: true } : undefined,
    );
    // commander requires child_process when it loads, for subcommands that are programs of their
    // own, which Holdfast has none of: ~8 ms of every start. It gets the module when it first uses it.
    b.onResolve({ filter: /^(node:)?child_process$/ }, (args) =>
      args.importer.includes('/node_modules/commander/') ? { path: 'child_process', namespace: 'holdfast-lazy-builtin' } : undefined,
    );
    b.onLoad({ filter: /.*/, namespace: 'holdfast-lazy-builtin' }, (args) => ({
      contents: `module.exports = new Proxy({}, { get: (_, key) => require("node:${args.path}")[key] });`,
      loader: 'js',
    }));
    b.onLoad({ filter: /\.ts$/ }, (args) => {
      const file = relative(ROOT, args.path);
      if (file.startsWith('..') || file.split('/').includes('node_modules')) return undefined;
      if (CLI_FOLDERS.includes(file.split('/')[0])) return undefined;
      return { errors: [{ text: `${file} is not CLI code (the CLI carries only ${CLI_FOLDERS.map((f) => `${f}/`).join(', ')}): load it lazily from dist/ as serve does, or move it` }] };
    });
  },
};

await build({
  ...common,
  stdin: { contents: precompiledValidatorsSource(), resolveDir: ROOT, sourcefile: 'precompiled-validators.cjs', loader: 'js' },
  outfile: join(OUT_DIR, VALIDATORS_FILE),
  format: 'cjs',
});

await build({
  ...common,
  entryPoints: [join(ROOT, 'cli', 'main.ts')],
  outfile: BUNDLE,
  // CommonJS rather than an ES module: Node starts it sooner (no module graph to link), and its imports
  // of Node's modules become require() calls made when the code needing them first runs, where an ES
  // module loads them all before its first line (`holdfast get` needs neither TLS nor WebSockets).
  format: 'cjs',
  define: { 'import.meta.url': '__holdfastBundleUrl' },
  banner: { js: "var __holdfastBundleUrl = require('node:url').pathToFileURL(__filename).href;" },
  // Loaded from node_modules when needed: ssh2 (native addons) by the SSH key verbs.
  external: ['ssh2'],
  plugins: [cliBoundary],
});

// The code cache holds the functions V8 compiled while the bundle ran, so it runs the commands most
// starts are: `--version`, and a `get` that reaches no server (its request, config and error paths).
// A cache V8 rejects (another Node, other flags) only costs the compile it would have saved.
// Where bin/holdfast.js looks for it: beside the bundle.
const CACHE = `${BUNDLE}.cache`;
rmSync(CACHE, { force: true });
const bin = join(ROOT, 'bin', 'holdfast.js');
const env = { PATH: process.env.PATH ?? '/usr/bin:/bin', HOME: OUT_DIR, HOLDFAST_WRITE_CODE_CACHE: CACHE, HOLDFAST_URL: 'http://127.0.0.1:9', HOLDFAST_TOKEN: 'build' };
execFileSync(process.execPath, [bin, '--version'], { env, stdio: 'ignore' });
try {
  execFileSync(process.execPath, [bin, 'get', 'services'], { env, stdio: 'ignore' });
} catch {
  // It fails, as meant: nothing listens on port 9.
}
if (!existsSync(CACHE)) throw new Error(`build-cli: ${CACHE} was not written`);
