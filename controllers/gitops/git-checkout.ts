// The control plane's copies of followed repositories: one cache directory per URL (a hash of it),
// each a shallow clone that fetches only the commit a sync needs, checked out in place. Credentials
// go to git as files written 0600 (an SSH key, a known_hosts that pins the host) or through the
// environment (an https Authorization header), never on a command line; they are removed after use.
import { createHash } from 'node:crypto';
import { mkdir, mkdtemp, rm, stat, writeFile } from 'node:fs/promises';
import { join } from 'node:path';
import { HoldfastError } from '../../core/errors.js';
import { lsRemotePatterns, parseLsRemote, resolveRevision, type GitRef, type ResolvedRevision } from '../../core/gitops/revision.js';
import { quoteArgv } from '../../hosts/exec.js';
import { runCommand } from '../git/git-command.js';

export type GitCredentials =
  | { kind: 'none' }
  | { kind: 'ssh'; privateKey: string; knownHosts: string }
  | { kind: 'https'; username: string; password: string };

/** The keys spec.verify trusts: an SSH allowed-signers file and ASCII-armored OpenPGP public keys. */
export interface TrustedSigners {
  allowedSigners: string;
  pgpKeys: string[];
}

export interface FetchRequest {
  url: string;
  ref: GitRef;
  credentials: GitCredentials;
  timeoutMs: number;
  signal?: AbortSignal;
}

export interface CheckedOut extends ResolvedRevision {
  /** The working tree at the commit: read it before the next checkout of the same URL. */
  dir: string;
  /** First line of the commit's message. */
  message: string;
}

export class GitCheckouts {
  /** One operation per cache directory at a time (two sources may follow one URL). */
  private readonly locks = new Map<string, Promise<unknown>>();

  constructor(private readonly cacheDir: string) {}

  /** The commit the ref names now: one `git ls-remote`, nothing fetched (an idle poll's cost). */
  async resolve(req: FetchRequest): Promise<ResolvedRevision> {
    const patterns = lsRemotePatterns(req.ref);
    if (patterns.length === 0) return resolveRevision(req.ref, []) as ResolvedRevision;
    const { stdout } = await this.withCredentials(req, (env) =>
      runCommand('git', ['ls-remote', '--', req.url, ...patterns], { env, signal: req.signal, timeoutMs: req.timeoutMs }),
    );
    const resolved = resolveRevision(req.ref, parseLsRemote(stdout.toString('utf8')));
    if ('error' in resolved) throw new HoldfastError('NotFound', `${resolved.error} (${req.url})`);
    return resolved;
  }

  /**
   * Checks `resolved.commit` out in the URL's cache directory, fetching it (depth 1) unless the
   * cache has it. `use` reads the tree while no other checkout of the URL can move it.
   */
  async withCheckout<T>(req: FetchRequest, resolved: ResolvedRevision, use: (tree: CheckedOut) => Promise<T>): Promise<T> {
    const dir = join(this.cacheDir, createHash('sha256').update(req.url).digest('hex').slice(0, 32));
    return this.exclusive(dir, async () => {
      const git = (args: string[], env?: Record<string, string>) => runCommand('git', ['-C', dir, ...args], { env, signal: req.signal, timeoutMs: req.timeoutMs });
      if (!(await exists(join(dir, '.git')))) {
        await mkdir(dir, { recursive: true, mode: 0o700 });
        await git(['init', '--quiet']);
      }
      const present = await git(['cat-file', '-e', `${resolved.commit}^{commit}`]).then(
        () => true,
        () => false,
      );
      if (!present) {
        await this.withCredentials(req, (env) => git(['fetch', '--quiet', '--depth', '1', '--no-tags', '--', req.url, resolved.commit], env));
      }
      await git(['checkout', '--quiet', '--force', '--detach', resolved.commit]);
      await git(['clean', '--quiet', '-ffdx']);
      const { stdout } = await git(['log', '-1', '--format=%s', resolved.commit]);
      return use({ ...resolved, dir, message: stdout.toString('utf8').trim().slice(0, 1024) });
    });
  }

  /**
   * Why `commit` (checked out in `tree`) is not signed by one of `allowedSigners` (git's SSH
   * allowed_signers file), or undefined when it is. Call inside withCheckout.
   */
  async unverifiedCommit(tree: CheckedOut, signers: TrustedSigners, req: Pick<FetchRequest, 'timeoutMs' | 'signal'>): Promise<string | undefined> {
    const git = (args: string[], env?: Record<string, string>) => runCommand('git', ['-C', tree.dir, ...args], { signal: req.signal, timeoutMs: req.timeoutMs, env });
    const { stdout } = await git(['cat-file', 'commit', tree.commit]);
    const header = stdout.toString('utf8').split('\n\n')[0];
    if (!/^gpgsig /m.test(header)) return 'the commit carries no signature';
    const openpgp = /^gpgsig -----BEGIN PGP SIGNATURE-----/m.test(header);
    if (openpgp && !signers.pgpKeys.length) return 'it carries a GPG signature, and the Secret holds no GPG public key';
    if (!openpgp && !signers.allowedSigners) return 'it carries an SSH signature, and the Secret holds no SSH public key';
    await mkdir(this.cacheDir, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(this.cacheDir, 'verify-'));
    try {
      if (openpgp) {
        // A keyring of only the trusted keys, in a home of its own: nothing else is trusted.
        const home = join(dir, 'gnupg');
        await mkdir(home, { mode: 0o700 });
        const keys = join(dir, 'trusted.asc');
        await writeFile(keys, `${signers.pgpKeys.join('\n')}\n`, { mode: 0o600 });
        await runCommand('gpg', ['--batch', '--quiet', '--homedir', home, '--import', keys], { signal: req.signal, timeoutMs: req.timeoutMs });
        await git(['-c', 'gpg.format=openpgp', '-c', 'gpg.program=gpg', 'verify-commit', tree.commit], { GNUPGHOME: home });
      } else {
        const file = join(dir, 'allowed_signers');
        await writeFile(file, signers.allowedSigners, { mode: 0o600 });
        await git(['-c', 'gpg.format=ssh', '-c', `gpg.ssh.allowedSignersFile=${file}`, 'verify-commit', tree.commit]);
      }
      return undefined;
    } catch (err) {
      if (!(err instanceof HoldfastError) || !/^git verify-commit failed/.test(err.message)) throw err;
      const key = /key (SHA256:[A-Za-z0-9+/=]+)/.exec(err.message)?.[1] ?? /using \w+ key ([0-9A-F]{16,40})/.exec(err.message)?.[1];
      return key ? `it is signed with a key that is not trusted (${key})` : `its signature does not verify (${err.message.replace(/^git verify-commit failed: /, '')})`;
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }

  private async exclusive<T>(dir: string, fn: () => Promise<T>): Promise<T> {
    const before = this.locks.get(dir) ?? Promise.resolve();
    const run = before.catch(() => undefined).then(fn);
    this.locks.set(dir, run);
    try {
      return await run;
    } finally {
      if (this.locks.get(dir) === run) this.locks.delete(dir);
    }
  }

  private async withCredentials<T>(req: FetchRequest, fn: (env: Record<string, string>) => Promise<T>): Promise<T> {
    const { credentials } = req;
    if (credentials.kind === 'none') return fn({});
    if (credentials.kind === 'https') {
      const basic = Buffer.from(`${credentials.username}:${credentials.password}`).toString('base64');
      // git reads config from the environment: the header reaches the server and no process list.
      return fn({ GIT_CONFIG_COUNT: '1', GIT_CONFIG_KEY_0: 'http.extraHeader', GIT_CONFIG_VALUE_0: `Authorization: Basic ${basic}` });
    }
    await mkdir(this.cacheDir, { recursive: true, mode: 0o700 });
    const dir = await mkdtemp(join(this.cacheDir, 'ssh-'));
    try {
      const key = join(dir, 'id');
      const knownHosts = join(dir, 'known_hosts');
      await writeFile(key, credentials.privateKey.endsWith('\n') ? credentials.privateKey : `${credentials.privateKey}\n`, { mode: 0o600 });
      await writeFile(knownHosts, credentials.knownHosts.endsWith('\n') ? credentials.knownHosts : `${credentials.knownHosts}\n`, { mode: 0o600 });
      const ssh = quoteArgv([
        'ssh', '-i', key, '-o', 'IdentitiesOnly=yes', '-o', 'BatchMode=yes', '-o', 'StrictHostKeyChecking=yes',
        '-o', `UserKnownHostsFile=${knownHosts}`, '-o', 'GlobalKnownHostsFile=/dev/null', '-o', 'ConnectTimeout=10',
      ]);
      return await fn({ GIT_SSH_COMMAND: ssh });
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  }
}

async function exists(path: string): Promise<boolean> {
  return stat(path).then(
    () => true,
    () => false,
  );
}
