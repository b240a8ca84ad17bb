import assert from 'node:assert/strict';
import { test } from 'node:test';
import type { Resource } from '../../../core/resource.js';
import { serverResourcesSection } from '../../../cli/server-describe.js';

const GiB = 1024 ** 3;
const MiB = 1024 ** 2;
const server = (resources: Record<string, unknown> | undefined): Resource => ({
  apiVersion: 'holdfast.dev/v1alpha1',
  kind: 'Server',
  metadata: { name: 'edge-1' },
  spec: {},
  status: resources ? { resources } : {},
});

test("a server's resources: memory, load, free disk with its trend, Docker's objects as docker system df", () => {
  const cases: Array<[string, Record<string, unknown> | undefined, string[]]> = [
    ['not measured', undefined, ['Resources:   <not measured yet>']],
    [
      'everything',
      {
        cpus: 4,
        memoryBytes: 8 * GiB,
        memoryAvailableBytes: 3 * GiB,
        load1: 0.5,
        diskFreeBytes: 40 * GiB,
        diskFreeTrend: '-1.2 GiB in 2h',
        dockerDisk: {
          images: { count: 12, sizeBytes: 1 * GiB, reclaimableBytes: 256 * MiB },
          containers: { count: 3, sizeBytes: 0, reclaimableBytes: 0 },
          volumes: { count: 2, sizeBytes: 100 * MiB, reclaimableBytes: 100 * MiB },
          buildCache: { count: 0, sizeBytes: 0, reclaimableBytes: 0 },
        },
      },
      [
        'Resources:',
        '  CPUs:          4',
        '  Memory:        3.0 GiB available of 8.0 GiB',
        '  Load (1 min):  0.50',
        '  Disk Free:     40.0 GiB (-1.2 GiB in 2h)',
        '  Docker Disk:',
        '    TYPE            TOTAL   SIZE        RECLAIMABLE',
        '    Images          12      1.0 GiB     256.0 MiB (25%)',
        '    Containers      3       0 B         0 B',
        '    Local Volumes   2       100.0 MiB   100.0 MiB (100%)',
        '    Build Cache     0       0 B         0 B',
      ],
    ],
    ['only what the Engine API gave (the shell command failed)', { cpus: 2, memoryBytes: 2 * GiB }, ['Resources:', '  CPUs:          2', '  Memory:        2.0 GiB total']],
  ];
  for (const [what, resources, expected] of cases) assert.deepEqual(serverResourcesSection(server(resources)), expected, what);
});
