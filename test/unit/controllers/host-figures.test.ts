// Disk and load figures from `df -Pk` and /proc/loadavg, and the disk check judged from them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { hostFiguresCommand, judgeDisk, parseHostFigures, type HostFigures } from '../../../controllers/servers/host-figures.js';

const GiB = 1024 ** 3;

describe('parseHostFigures', () => {
  const cases: Array<[string, string, HostFigures | undefined]> = [
    [
      'GNU df and a load line',
      'Filesystem     1024-blocks     Used Available Capacity Mounted on\n/dev/vda         264212084 25520156  80870756      24% /\n0.71 1.73 2.54 3/200 26632\n',
      { mountPoint: '/', diskTotalBytes: 264212084 * 1024, diskFreeBytes: 80870756 * 1024, load1: 0.71 },
    ],
    [
      'busybox df, a file system name with a space, a data root on its own mount',
      'Filesystem           1024-blocks    Used Available Capacity Mounted on\nmy disk                 1000000  900000    100000  90% /var/lib/docker\n12.50 3.00 1.00 1/99 7\n',
      { mountPoint: '/var/lib/docker', diskTotalBytes: 1000000 * 1024, diskFreeBytes: 100000 * 1024, load1: 12.5 },
    ],
    ['no load line', 'Filesystem 1024-blocks Used Available Capacity Mounted on\noverlay 100 50 50 50% /\n', { mountPoint: '/', diskTotalBytes: 102400, diskFreeBytes: 51200 }],
    ['an error instead', 'df: /nowhere: No such file or directory\n', undefined],
    ['numbers missing', 'Filesystem 1024-blocks Used Available Capacity Mounted on\noverlay - - - - /\n', undefined],
  ];
  for (const [what, stdout, expected] of cases) it(what, () => assert.deepEqual(parseHostFigures(stdout), expected));

  it('passes the data root as an argument, never inside the script', () => {
    assert.deepEqual(hostFiguresCommand("/srv/it's docker"), ['sh', '-c', 'df -Pk -- "$1" && cat /proc/loadavg', 'sh', "/srv/it's docker"]);
  });
});

describe('judgeDisk', () => {
  const figures = (freeBytes: number, totalBytes: number): HostFigures => ({ mountPoint: '/', diskFreeBytes: freeBytes, diskTotalBytes: totalBytes });
  const cases: Array<[string, HostFigures, string, RegExp]> = [
    ['plenty', figures(80 * GiB, 250 * GiB), 'Pass', /^80\.0 GiB free of 250\.0 GiB \(32%\) on \//],
    ['under 10% of a big disk', figures(20 * GiB, 250 * GiB), 'Warn', /^disk space low: 20\.0 GiB free/],
    ['under 2 GiB of a small disk', figures(1.5 * GiB, 10 * GiB), 'Warn', /^disk space low/],
    ['under 512 MiB', figures(100 * 1024 ** 2, 10 * GiB), 'Fail', /^disk full: 100\.0 MiB free .*; rollouts wait until there is at least 512\.0 MiB$/],
    ['nothing left', figures(0, 10 * GiB), 'Fail', /^disk full: 0 B free/],
  ];
  for (const [what, input, result, message] of cases) {
    it(what, () => {
      const judged = judgeDisk(input);
      assert.equal(judged.result, result);
      assert.match(judged.message, message);
    });
  }
});

describe('a rollout that runs out of disk', () => {
  it('fails with reason DiskFull and what to do, whatever step it was in', async () => {
    const { RolloutFailure, diskFull } = await import('../../../controllers/services/rollout.js');
    const pull = diskFull(new RolloutFailure('PullFailed', 'cannot pull web:2: write /var/lib/docker/tmp/x: no space left on device'), 'edge-1');
    assert.equal(pull.reason, 'DiskFull');
    assert.match(pull.message, /^server edge-1 is out of disk space \(free some: docker system prune, or grow the volume\): cannot pull web:2: .*no space left on device$/);
    const other = new RolloutFailure('HealthCheckFailed', 'web did not become ready');
    assert.equal(diskFull(other, 'edge-1'), other);
  });
});
