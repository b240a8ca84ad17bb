// Shared by the deploy, compose and plan tests: Services to render, readers over fixture
// directories or in-memory files, and a secret resolver that hashes names (values never exist here).
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SourceReader } from '../../../core/compose/load.js';
import { renderFrozenInput, type RenderContext } from '../../../core/deploy/render.js';
import { sha256Hex, type ContainerSpec, type FrozenInput } from '../../../core/deploy/container-spec.js';
import type { Service, ServiceSpec } from '../../../core/schema/types.generated.js';

export const COMPOSE_TESTDATA = join(dirname(fileURLToPath(import.meta.url)), '..', 'compose', 'testdata');

/** Reads files under `root`, as the control plane reads files beside a manifest. */
export function directoryReader(root: string): SourceReader {
  return {
    readFile(path) {
      try {
        const full = join(root, path);
        if (!statSync(full).isFile()) return undefined;
        return new Uint8Array(readFileSync(full));
      } catch {
        return undefined;
      }
    },
    isDirectory(path) {
      try {
        return statSync(join(root, path)).isDirectory();
      } catch {
        return false;
      }
    },
  };
}

export function memoryReader(files: Record<string, string>): SourceReader {
  const encoder = new TextEncoder();
  return {
    readFile: (path) => (path in files ? encoder.encode(files[path]) : undefined),
    isDirectory: (path) => Object.keys(files).some((f) => f.startsWith(`${path}/`)),
  };
}

/** A Service as the API stores it: validated, with the CRD's defaults applied. */
export function service(spec: Partial<ServiceSpec> & Pick<ServiceSpec, 'source'>, name = 'store', namespace = 'shop'): Service {
  return {
    apiVersion: 'holdfast.dev/v1alpha1',
    kind: 'Service',
    metadata: { name, namespace, uid: '6f1c1a52-0000-4000-8000-000000000001', generation: 3 },
    spec: {
      environment: 'production',
      server: 'edge-1',
      replicas: 1,
      restartPolicy: 'unless-stopped',
      update: { order: 'start-first', healthDeadlineSeconds: 60, autoRollback: true },
      driftPolicy: { mode: 'report' },
      deletionPolicy: 'Retain',
      ...spec,
    },
  };
}

export const fakeSecretHash = (name: string, key: string) => `hash:${name}/${key}`;

export function context(extra: Partial<RenderContext> = {}): RenderContext {
  return { resolveSecret: (name, key) => ({ hash: fakeSecretHash(name, key) }), ...extra };
}

export function renderComposeFixture(
  fixture: string,
  spec: Partial<ServiceSpec> = {},
  extra: Partial<RenderContext> = {},
  profiles?: string[],
): FrozenInput {
  return renderFrozenInput(
    service({ ...spec, source: { compose: { file: 'compose.yaml', ...(profiles ? { profiles } : {}) } } }),
    context({ composeFiles: directoryReader(join(COMPOSE_TESTDATA, fixture)), ...extra }),
  );
}

export function containerOf(frozen: FrozenInput, component: string, replica = 1): ContainerSpec {
  const found = frozen.containers.find((c) => c.component === component && c.replicaIndex === replica);
  if (!found) throw new Error(`no container ${component}#${replica} in ${frozen.containers.map((c) => c.name).join(', ')}`);
  return found;
}

/** The frozen spec of the compose service that `container-full.json` was made to match. */
export function frozenFull(): ContainerSpec {
  const compose = {
    services: {
      web: {
        image: 'holdfast-test/busybox:1',
        entrypoint: ['/bin/sh'],
        command: ['-c', 'exec httpd -f -p 8080 -h /www'],
        labels: { tier: 'frontend' },
        environment: { GREETING: 'hello', DB_PASSWORD: '${DB_PASSWORD}', DSN: 'postgres://app:${DB_PASSWORD}@db/app' },
        ports: ['127.0.0.1:38080:8080', '38081:8081/udp', '8082'],
        volumes: ['data:/data', '/tmp:/host-tmp:ro', '/var/lib/extra'],
        tmpfs: ['/run/app:size=64m,mode=1777'],
        restart: 'unless-stopped',
        healthcheck: { test: ['CMD-SHELL', 'wget -q -O- http://127.0.0.1:8080/ || exit 1'], interval: '2s', timeout: '2s', retries: 3, start_period: '1s' },
        cap_add: ['NET_ADMIN', 'CHOWN'],
        cap_drop: ['ALL'],
        security_opt: ['no-new-privileges:true'],
        sysctls: { 'net.core.somaxconn': 1024 },
        ulimits: { nofile: { soft: 1024, hard: 2048 } },
        shm_size: '256m',
        dns: ['1.1.1.1'],
        dns_search: ['example.internal'],
        dns_opt: ['use-vc'],
        extra_hosts: ['registry.local:10.0.0.2'],
        group_add: [1001],
        logging: { driver: 'json-file', options: { 'max-size': '10m' } },
        mem_limit: '512m',
        mem_reservation: '256m',
        cpus: 1.5,
        pids_limit: 200,
        init: true,
        tty: true,
        stdin_open: true,
        user: '1000:1000',
        working_dir: '/srv',
        hostname: 'web-1',
        domainname: 'example.internal',
        stop_signal: 'SIGINT',
        stop_grace_period: '90s',
        networks: { net: { aliases: ['www'] } },
      },
    },
    volumes: { data: { name: 'fixture-normalise-data' } },
    networks: { net: { name: 'fixture-normalise-net' } },
  };
  const frozen = renderFrozenInput(
    service({ source: { compose: { inline: compose } }, env: [{ name: 'DB_PASSWORD', valueFrom: { secretKeyRef: { name: 'db', key: 'password' } } }] }, 'web'),
    { resolveSecret: () => ({ hash: sha256Hex('s3cret-value') }) },
  );
  return frozen.containers[0];
}

