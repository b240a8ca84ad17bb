// Shared by the deploy, compose and plan tests: Services to render, readers over fixture
// directories or in-memory files, and a secret resolver that hashes names (values never exist here).
import { readFileSync, statSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import type { SourceReader } from '../../../core/compose/load.js';
import { renderFrozenInput, type RenderContext } from '../../../core/deploy/render.js';
import type { ContainerSpec, FrozenInput } from '../../../core/deploy/container-spec.js';
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
