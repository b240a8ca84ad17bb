// The create request built from a frozen spec, against what the docker CLI sent for the same
// container: testdata/inspect/container-full.json was made with `docker run` flags equal to the
// compose service that frozenFull() renders (see normalise-live.test.ts).
import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { emptyContainerSpec, type ContainerSpec } from '../../../core/deploy/container-spec.js';
import { containerCreateRequest, imageReference } from '../../../core/deploy/docker-request.js';
import type { DockerContainerInspect } from '../../../core/deploy/docker-types.js';
import { parseTmpfsOptions } from '../../../core/deploy/mounts.js';
import { frozenFull } from './fixtures.js';

const real = JSON.parse(readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'testdata', 'inspect', 'container-full.json'), 'utf8')) as DockerContainerInspect;
const ctx = { secretValue: () => 's3cret-value', fileHostPath: () => '/unused' };

describe('containerCreateRequest against the docker CLI request for the same container', () => {
  const spec = frozenFull();
  const { name, body, connect } = containerCreateRequest(spec, ctx);
  const host = body.HostConfig;
  const rc = real.HostConfig!;
  const cfg = real.Config!;
  const cases: Array<[string, unknown, unknown]> = [
    ['name', name, 'hf_shop_production_web_web_1'],
    ['Image', body.Image, cfg.Image],
    ['Entrypoint', body.Entrypoint, cfg.Entrypoint],
    ['Cmd', body.Cmd, cfg.Cmd],
    ['Env (secrets resolved for the host)', [...body.Env].sort(), [...cfg.Env!].sort()],
    ['ExposedPorts', body.ExposedPorts, cfg.ExposedPorts],
    ['Volumes (anonymous)', body.Volumes, cfg.Volumes],
    ['Healthcheck', body.Healthcheck, cfg.Healthcheck],
    ['User, WorkingDir, Hostname, Domainname', [body.User, body.WorkingDir, body.Hostname, body.Domainname], [cfg.User, cfg.WorkingDir, cfg.Hostname, cfg.Domainname]],
    ['StopSignal, StopTimeout, Tty, OpenStdin', [body.StopSignal, body.StopTimeout, body.Tty, body.OpenStdin], [cfg.StopSignal, cfg.StopTimeout, cfg.Tty, cfg.OpenStdin]],
    ['PortBindings', host.PortBindings, rc.PortBindings],
    ['Binds', host.Binds, rc.Binds],
    ['Tmpfs (as parsed)', Object.entries(host.Tmpfs).map(([t, o]) => parseTmpfsOptions(t, o)), Object.entries(rc.Tmpfs!).map(([t, o]) => parseTmpfsOptions(t, o))],
    ['RestartPolicy', host.RestartPolicy, rc.RestartPolicy],
    ['NetworkMode', host.NetworkMode, rc.NetworkMode],
    ['CapAdd (Docker adds CAP_)', host.CapAdd.map((c) => `CAP_${c}`).sort(), [...rc.CapAdd!].sort()],
    ['CapDrop', host.CapDrop, rc.CapDrop],
    ['SecurityOpt', host.SecurityOpt, rc.SecurityOpt],
    ['Sysctls', host.Sysctls, rc.Sysctls],
    ['Ulimits', host.Ulimits, rc.Ulimits],
    ['ShmSize', host.ShmSize, rc.ShmSize],
    ['Dns, DnsSearch, DnsOptions, ExtraHosts, GroupAdd', [host.Dns, host.DnsSearch, host.DnsOptions, host.ExtraHosts, host.GroupAdd], [rc.Dns, rc.DnsSearch, rc.DnsOptions, rc.ExtraHosts, rc.GroupAdd]],
    ['LogConfig (the daemon adds its own log-opts)', host.LogConfig, { Type: 'json-file', Config: { 'max-size': rc.LogConfig!.Config!['max-size'] } }],
    ['Memory, MemoryReservation, NanoCpus, PidsLimit, Init', [host.Memory, host.MemoryReservation, host.NanoCpus, host.PidsLimit, host.Init], [rc.Memory, rc.MemoryReservation, rc.NanoCpus, rc.PidsLimit, rc.Init]],
    ['the network and its aliases', body.NetworkingConfig, { EndpointsConfig: { 'fixture-normalise-net': { Aliases: ['web', 'www'] } } }],
    ['no second network', connect, []],
  ];
  for (const [what, actual, expected] of cases) it(what, () => assert.deepEqual(actual, expected));
});

describe('containerCreateRequest encodings', () => {
  const base = (): ContainerSpec => emptyContainerSpec({ name: 'c', project: 'p', environment: 'e', service: 's', component: 's', replicaIndex: 1, image: 'registry.example/api:2.0' });
  it('pins the image to the frozen digest', () => {
    const digest = 'sha256:' + 'a'.repeat(64);
    assert.equal(imageReference({ image: 'registry.example/api:2.0', imageDigest: digest }), `registry.example/api@${digest}`);
    assert.equal(imageReference({ image: 'localhost:5000/api', imageDigest: digest }), `localhost:5000/api@${digest}`);
    assert.equal(imageReference({ image: 'api:1' }), 'api:1');
  });
  it('sends binds without host-path creation, and volumes with a subpath, through Mounts; files as read-only binds', () => {
    const spec = base();
    spec.mounts = [
      { type: 'bind', source: '/srv/certs', target: '/certs', readOnly: true, propagation: 'rslave' },
      { type: 'volume', source: 'cache', target: '/cache', readOnly: false, subpath: 'a', noCopy: true },
      { type: 'tmpfs', source: '', target: '/run', readOnly: false, sizeBytes: 1024, mode: 0o1777, tmpfsOptions: ['noexec'] },
    ];
    spec.files = [{ kind: 'secret', name: 'db', target: '/run/secrets/db', contentHash: 'h', source: { secretRef: { name: 'db', key: 'pw' } } }];
    const { body } = containerCreateRequest(spec, { secretValue: () => 'x', fileHostPath: (f) => `/var/lib/holdfast/files/${f.contentHash}` });
    assert.deepEqual(body.HostConfig.Mounts, [
      { Type: 'bind', Source: '/srv/certs', Target: '/certs', ReadOnly: true, BindOptions: { Propagation: 'rslave' } },
      { Type: 'volume', Source: 'cache', Target: '/cache', ReadOnly: false, VolumeOptions: { Subpath: 'a', NoCopy: true } },
    ]);
    assert.deepEqual(body.HostConfig.Tmpfs, { '/run': 'size=1024,mode=1777,noexec' });
    assert.deepEqual(body.HostConfig.Binds, ['/var/lib/holdfast/files/h:/run/secrets/db:ro']);
  });
  it('connects every network after the first, and none with a network mode', () => {
    const spec = base();
    spec.networks = [{ name: 'a', aliases: ['s'] }, { name: 'b', aliases: ['s', 'x'], ipv4Address: '10.0.0.5' }];
    const request = containerCreateRequest(spec, ctx);
    assert.deepEqual(request.body.NetworkingConfig, { EndpointsConfig: { a: { Aliases: ['s'] } } });
    assert.deepEqual(request.connect, [{ network: 'b', endpoint: { Aliases: ['s', 'x'], IPAMConfig: { IPv4Address: '10.0.0.5' } } }]);
    spec.networkMode = 'host';
    spec.networks = [];
    assert.equal(containerCreateRequest(spec, ctx).body.HostConfig.NetworkMode, 'host');
    assert.equal(containerCreateRequest(base(), ctx).body.HostConfig.NetworkMode, 'default');
  });
});
