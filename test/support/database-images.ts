// The database test images, made from this machine's PostgreSQL and MariaDB (the Debian packages
// scripts/setup.sh installs) by scripts/postgres-test-image.sh and scripts/mariadb-test-image.sh: no
// registry is reachable. Each root filesystem is built once per machine, cached beside the test
// hosts' state, and imported into a host the first time a test asks for it there.
import { execFile } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync } from 'node:fs';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { packageRoot } from '../../core/package-root.js';
import { testHostsStateDir, type TestHost } from './testhosts.js';

const run = promisify(execFile);
export const POSTGRES_TEST_IMAGE = 'holdfast-test/postgres:1';
export const MARIADB_TEST_IMAGE = 'holdfast-test/mariadb:1';

interface TestImage {
  name: string;
  /** Bump when the script changes what it builds. */
  recipe: string;
  /** scripts/<script> OUT.tar writes the root filesystem. */
  script: string;
  /** `docker import --change` instructions. */
  changes: () => string[];
}

const POSTGRES: TestImage = {
  name: POSTGRES_TEST_IMAGE,
  recipe: '2',
  script: 'postgres-test-image.sh',
  changes: () => {
    // The script packs the newest PostgreSQL installed here, under its own path.
    const version = readdirSync('/usr/lib/postgresql').sort((a, b) => Number(b) - Number(a))[0];
    return [
      'ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]',
      `ENV PATH=/usr/lib/postgresql/${version}/bin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TZ=UTC PGDATA=/var/lib/postgresql/data`,
      'EXPOSE 5432',
    ];
  },
};

const MARIADB: TestImage = {
  name: MARIADB_TEST_IMAGE,
  recipe: '1',
  script: 'mariadb-test-image.sh',
  changes: () => ['ENTRYPOINT ["/usr/local/bin/docker-entrypoint.sh"]', 'ENV PATH=/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin TZ=UTC', 'EXPOSE 3306'],
};

/** Imports the PostgreSQL image into `host` unless it has this recipe's already; returns its name. */
export const ensurePostgresImage = (host: TestHost): Promise<string> => ensureImage(host, POSTGRES);

/** Imports the MariaDB image into `host` unless it has this recipe's already; returns its name. */
export const ensureMariadbImage = (host: TestHost): Promise<string> => ensureImage(host, MARIADB);

async function ensureImage(host: TestHost, image: TestImage): Promise<string> {
  const docker = (...args: string[]) => run('docker', ['-H', `unix://${host.dockerSocket}`, ...args], { timeout: 120_000, maxBuffer: 16 * 1024 * 1024 });
  const recipe = await docker('image', 'inspect', '--format', '{{index .Config.Labels "dev.holdfast.test-image.recipe"}}', image.name).then(
    (r) => r.stdout.trim(),
    () => undefined,
  );
  if (recipe === image.recipe) return image.name;
  const dir = join(testHostsStateDir(), 'images');
  const rootfs = join(dir, `${image.script.replace(/-test-image\.sh$/, '')}-rootfs-r${image.recipe}.tar`);
  if (!existsSync(rootfs)) {
    mkdirSync(dir, { recursive: true });
    await run('bash', [join(packageRoot(), 'scripts', image.script), rootfs], { timeout: 300_000 });
  }
  const changes = [...image.changes(), `LABEL dev.holdfast.test-image.recipe=${image.recipe}`].flatMap((c) => ['--change', c]);
  await docker('import', ...changes, rootfs, image.name);
  return image.name;
}
