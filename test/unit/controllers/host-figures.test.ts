// Disk, load and memory figures from `df -Pk`, /proc/loadavg and /proc/meminfo, the disk check judged
// from them, Docker's own disk usage from /system/df, and the free-disk trend.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  addDiskSample,
  describeDiskTrend,
  hostFiguresCommand,
  judgeDisk,
  judgeMemory,
  parseHostFigures,
  pressureEvents,
  summariseDockerDisk,
  type DiskSample,
  type HostFigures,
} from '../../../controllers/servers/host-figures.js';

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
    [
      'with the available memory',
      'Filesystem 1024-blocks Used Available Capacity Mounted on\noverlay 100 50 50 50% /\n0.10 0.20 0.30 1/99 7\nMemAvailable:    2048000 kB\n',
      { mountPoint: '/', diskTotalBytes: 102400, diskFreeBytes: 51200, load1: 0.1, memoryAvailableBytes: 2048000 * 1024 },
    ],
    ['no load line', 'Filesystem 1024-blocks Used Available Capacity Mounted on\noverlay 100 50 50 50% /\n', { mountPoint: '/', diskTotalBytes: 102400, diskFreeBytes: 51200 }],
    ['an error instead', 'df: /nowhere: No such file or directory\n', undefined],
    ['numbers missing', 'Filesystem 1024-blocks Used Available Capacity Mounted on\noverlay - - - - /\n', undefined],
  ];
  for (const [what, stdout, expected] of cases) it(what, () => assert.deepEqual(parseHostFigures(stdout), expected));

  it('passes the data root as an argument, never inside the script', () => {
    assert.deepEqual(hostFiguresCommand("/srv/it's docker"), ['sh', '-c', 'df -Pk -- "$1" && cat /proc/loadavg && grep "^MemAvailable:" /proc/meminfo', 'sh', "/srv/it's docker"]);
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

describe('summariseDockerDisk', () => {
  it("sums /system/df as docker system df does: unused images, stopped containers, unreferenced volumes, idle cache are reclaimable", () => {
    const usage = summariseDockerDisk({
      LayersSize: 1000,
      Images: [
        { Id: 'a', Size: 600, SharedSize: 0, Containers: 1 },
        { Id: 'b', Size: 400, SharedSize: 0, Containers: 0 },
      ],
      Containers: [
        { Id: 'c1', State: 'running', SizeRw: 10 },
        { Id: 'c2', State: 'exited', SizeRw: 30 },
      ],
      Volumes: [
        { Name: 'v1', UsageData: { Size: 100, RefCount: 1 } },
        { Name: 'v2', UsageData: { Size: 50, RefCount: 0 } },
        { Name: 'v3', UsageData: { Size: -1, RefCount: 0 } },
      ],
      BuildCache: [
        { ID: 'b1', Size: 70, InUse: false, Shared: false },
        { ID: 'b2', Size: 20, InUse: true, Shared: false },
      ],
    });
    assert.deepEqual(usage, {
      images: { count: 2, sizeBytes: 1000, reclaimableBytes: 400 },
      containers: { count: 2, sizeBytes: 40, reclaimableBytes: 30 },
      volumes: { count: 3, sizeBytes: 150, reclaimableBytes: 50 },
      buildCache: { count: 2, sizeBytes: 90, reclaimableBytes: 70 },
    });
  });

  it('an empty engine', () => {
    const zero = { count: 0, sizeBytes: 0, reclaimableBytes: 0 };
    assert.deepEqual(summariseDockerDisk({}), { images: zero, containers: zero, volumes: zero, buildCache: zero });
  });
});

describe('free disk trend', () => {
  const at = (minutes: number, freeBytes: number): DiskSample => ({ time: new Date(Date.UTC(2026, 11, 4, 10, minutes)).toISOString(), freeBytes });

  it('keeps one sample every 5 minutes, the last 24', () => {
    let history: DiskSample[] = [];
    for (let minute = 0; minute < 200; minute++) history = addDiskSample(history, at(minute, 1000 - minute));
    assert.equal(history.length, 24);
    assert.deepEqual(history.slice(-2).map((s) => s.time), [at(190, 0).time, at(195, 0).time]);
  });

  const cases: Array<[string, DiskSample[], string | undefined]> = [
    ['one sample is no trend', [at(0, 100)], undefined],
    ['shrinking', [at(0, 3 * GiB), at(30, 2 * GiB)], '-1.0 GiB in 30m'],
    ['growing over hours', [at(0, 0), at(125, 300 * 1024 ** 2)], '+300.0 MiB in 2h5m'],
    ['flat', [at(0, 5), at(60, 5)], '+0 B in 1h'],
  ];
  for (const [what, history, expected] of cases) it(what, () => assert.equal(describeDiskTrend(history), expected));
});

describe('judgeMemory', () => {
  it('is under pressure below 10% or 256 MiB available', () => {
    const cases: Array<[available: number, total: number, pressure: boolean]> = [
      [4 * GiB, 8 * GiB, false],
      [0.9 * GiB, 8 * GiB, false],
      [0.7 * GiB, 8 * GiB, true],
      [200 * 1024 ** 2, 1 * GiB, true],
      [300 * 1024 ** 2, 1 * GiB, false],
      [0, 0, true],
    ];
    for (const [available, total, pressure] of cases) {
      const judged = judgeMemory(available, total);
      assert.equal(judged.pressure, pressure, `${available} of ${total}`);
      assert.equal(judged.reason, pressure ? 'MemoryLow' : 'MemoryOk');
    }
    assert.equal(judgeMemory(0.5 * GiB, 8 * GiB).message, 'memory low: 512.0 MiB of 8.0 GiB memory available (6%)');
  });
});

describe('pressureEvents', () => {
  const c = (type: string, status: 'True' | 'False' | 'Unknown', reason: string) => ({ type, status, reason, message: `${type} ${reason}` });
  it('reports pressure that begins, worsens or ends; not a first calm reading nor an unknown one', () => {
    const cases: Array<[string, ReturnType<typeof c>[], ReturnType<typeof c>[], string[]]> = [
      ['first reading, no pressure', [], [c('DiskPressure', 'False', 'DiskSpaceOk'), c('MemoryPressure', 'False', 'MemoryOk')], []],
      ['first reading under pressure', [], [c('DiskPressure', 'True', 'DiskSpaceLow')], ['Warning DiskSpaceLow']],
      ['disk fills up', [c('DiskPressure', 'False', 'DiskSpaceOk')], [c('DiskPressure', 'True', 'DiskSpaceLow')], ['Warning DiskSpaceLow']],
      ['low becomes full', [c('DiskPressure', 'True', 'DiskSpaceLow')], [c('DiskPressure', 'True', 'DiskFull')], ['Warning DiskFull']],
      ['still low', [c('DiskPressure', 'True', 'DiskSpaceLow')], [c('DiskPressure', 'True', 'DiskSpaceLow')], []],
      ['freed', [c('DiskPressure', 'True', 'DiskFull')], [c('DiskPressure', 'False', 'DiskSpaceOk')], ['Normal DiskPressureRelieved']],
      ['memory short, then not', [c('MemoryPressure', 'True', 'MemoryLow')], [c('MemoryPressure', 'False', 'MemoryOk')], ['Normal MemoryPressureRelieved']],
      ['not measured', [c('MemoryPressure', 'True', 'MemoryLow')], [c('MemoryPressure', 'Unknown', 'NotMeasured')], []],
      ['measured again after an unknown', [c('DiskPressure', 'Unknown', 'NotMeasured')], [c('DiskPressure', 'True', 'DiskFull')], ['Warning DiskFull']],
      ['both at once', [c('DiskPressure', 'False', 'DiskSpaceOk'), c('MemoryPressure', 'False', 'MemoryOk')], [c('DiskPressure', 'True', 'DiskFull'), c('MemoryPressure', 'True', 'MemoryLow')], ['Warning DiskFull', 'Warning MemoryLow']],
      ['other conditions say nothing', [c('Ready', 'True', 'AllChecksPassed')], [c('Ready', 'False', 'ChecksFailed')], []],
    ];
    for (const [what, before, after, expected] of cases) {
      const events = pressureEvents(before, after);
      assert.deepEqual(events.map((e) => `${e.type} ${e.reason}`), expected, what);
      for (const e of events) assert.equal(e.message, after.find((a) => e.reason.startsWith(a.type) || a.reason === e.reason)!.message, what);
    }
  });
});
