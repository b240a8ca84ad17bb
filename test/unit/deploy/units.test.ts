import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseCpus, parseDockerBytes, parseDurationMs, parseFileMode, parseServiceMemory } from '../../../core/deploy/units.js';
import { canonicalImageRef, parseImageRef, sameImage } from '../../../core/deploy/image-ref.js';

describe('parseDockerBytes (go-units RAMInBytes)', () => {
  const cases: Array<[string | number, number | undefined]> = [
    ['512m', 512 * 1024 ** 2], ['1g', 1024 ** 3], ['1GB', 1024 ** 3], ['64MiB', 64 * 1024 ** 2], ['1.5g', 1.5 * 1024 ** 3],
    ['100', 100], [2048, 2048], ['10k', 10240], ['1 gb', 1024 ** 3], ['lots', undefined], ['-1m', undefined], ['5x', undefined],
  ];
  for (const [input, expected] of cases) it(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(parseDockerBytes(input), expected));
});

describe('parseServiceMemory (CRD: Docker and Kubernetes units)', () => {
  const cases: Array<[string | number, number | undefined]> = [
    ['256m', 256 * 1024 ** 2], ['256Mi', 256 * 1024 ** 2], ['256M', 256_000_000], ['1G', 1e9], ['1Gi', 1024 ** 3], ['1g', 1024 ** 3],
    ['1000', 1000], [1000, 1000], ['100b', 100], ['1.5Gi', 1.5 * 1024 ** 3], ['1Pi', undefined], ['x', undefined],
  ];
  for (const [input, expected] of cases) it(`${JSON.stringify(input)} → ${expected}`, () => assert.equal(parseServiceMemory(input), expected));
});

describe('parseDurationMs (Go durations)', () => {
  const cases: Array<[string, number | undefined]> = [
    ['10s', 10_000], ['1m30s', 90_000], ['500ms', 500], ['1h', 3_600_000], ['1.5s', 1500], ['0', 0], ['0s', 0], ['2us', 0.002], ['10', undefined], ['s', undefined],
  ];
  for (const [input, expected] of cases) it(`${input} → ${expected}`, () => assert.equal(parseDurationMs(input), expected));
});

describe('parseCpus and parseFileMode', () => {
  it('reads CPU counts', () => {
    assert.equal(parseCpus('0.5'), 0.5);
    assert.equal(parseCpus(2), 2);
    assert.equal(parseCpus('0'), undefined);
    assert.equal(parseCpus('half'), undefined);
  });
  it('reads file modes as octal', () => {
    assert.equal(parseFileMode('0440'), 0o440);
    assert.equal(parseFileMode(440), 0o440);
    assert.equal(parseFileMode('0o600'), 0o600);
    assert.equal(parseFileMode('999'), undefined);
  });
});

describe('image references', () => {
  it('applies Docker Hub defaults', () => {
    assert.deepEqual(parseImageRef('nginx'), { registry: 'docker.io', path: 'library/nginx', tag: undefined, digest: undefined });
    assert.equal(canonicalImageRef('nginx'), 'docker.io/library/nginx:latest');
    assert.equal(canonicalImageRef('localhost:5000/web:1.2'), 'localhost:5000/web:1.2');
    assert.equal(canonicalImageRef('registry.example/team/web@sha256:' + 'a'.repeat(64)), 'registry.example/team/web@sha256:' + 'a'.repeat(64));
  });
  const A = 'sha256:' + 'a'.repeat(64);
  const B = 'sha256:' + 'b'.repeat(64);
  const cases: Array<[string, Parameters<typeof sameImage>[0], Parameters<typeof sameImage>[1], boolean]> = [
    ['same tag, Hub short form', { image: 'nginx' }, { image: 'docker.io/library/nginx:latest' }, true],
    ['other tag', { image: 'web:1' }, { image: 'web:2' }, false],
    ['tag pinned by digest vs digest reference', { image: 'web:1', imageDigest: A }, { image: `web@${A}` }, true],
    ['same tag, moved digest', { image: 'web:1', imageDigest: A }, { image: 'web:1', imageDigest: B }, false],
    ['same tag, live digest unknown', { image: 'web:1', imageDigest: A }, { image: 'web:1' }, true],
    ['other repository', { image: 'web:1' }, { image: 'api:1' }, false],
  ];
  for (const [what, a, b, expected] of cases) it(`${what} → ${expected}`, () => assert.equal(sameImage(a, b), expected));
});
