// For a GitRepository on a local path: watch the repository's refs and ask for a sync when they
// settle (a commit or a push writes several files; one debounced sync follows), so a local commit
// applies without waiting for the interval.
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { watch, type FSWatcher } from 'chokidar';

const SETTLE_MS = 500;

export function isLocalUrl(url: string): boolean {
  return url.startsWith('/') || url.startsWith('file://');
}

export class LocalRepositoryWatchers {
  private readonly watchers = new Map<string, { url: string; watcher: FSWatcher; timer?: NodeJS.Timeout }>();

  constructor(private readonly onChange: (key: string) => void) {}

  /** Watches `url` for `key` (replacing a watch of another URL); with no url, stops watching. */
  async ensure(key: string, url: string | undefined): Promise<void> {
    const current = this.watchers.get(key);
    if (current && current.url === url) return;
    if (current) await this.stop(key);
    if (!url || !isLocalUrl(url)) return;
    const path = url.replace(/^file:\/\//, '');
    const gitDir = existsSync(join(path, '.git')) ? join(path, '.git') : path;
    const entry: { url: string; watcher: FSWatcher; timer?: NodeJS.Timeout } = {
      url,
      watcher: watch([join(gitDir, 'refs'), join(gitDir, 'packed-refs'), join(gitDir, 'HEAD')], { ignoreInitial: true }),
    };
    entry.watcher.on('all', () => {
      clearTimeout(entry.timer);
      entry.timer = setTimeout(() => this.onChange(key), SETTLE_MS);
      entry.timer.unref();
    });
    // A path that cannot be watched is still polled at the interval.
    entry.watcher.on('error', () => undefined);
    this.watchers.set(key, entry);
  }

  async stop(key: string): Promise<void> {
    const entry = this.watchers.get(key);
    if (!entry) return;
    this.watchers.delete(key);
    clearTimeout(entry.timer);
    await entry.watcher.close();
  }

  async stopAll(): Promise<void> {
    await Promise.all([...this.watchers.keys()].map((key) => this.stop(key)));
  }
}
