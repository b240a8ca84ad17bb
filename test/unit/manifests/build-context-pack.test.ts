// Packing a build context beside the manifests: the same files give the same bytes and digest,
// .dockerignore decides what goes along, and contexts that cannot be sent are refused with the path
// at fault. Apply and diff record the digest in the Service and keep the tar for upload.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, rmSync, symlinkSync, utimesSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, describe, it } from 'node:test';
import { ContextPackError, packBuildContext } from '../../../manifests/build-context-pack.js';
import { loadManifests } from '../../../manifests/load.js';
import { contextDigest, contextImageTag } from '../../../core/deploy/build-context.js';
import { renderFrozenInput } from '../../../core/deploy/render.js';
import { context, service } from '../deploy/fixtures.js';

const roots: string[] = [];
after(() => roots.forEach((r) => rmSync(r, { recursive: true, force: true })));

/** A fresh directory with these files (`->target` makes a symbolic link, a trailing / a directory). */
function tree(files: Record<string, string>): string {
  const root = mkdtempSync(join(tmpdir(), 'hf-pack-'));
  roots.push(root);
  for (const [path, content] of Object.entries(files)) {
    const full = join(root, path);
    if (path.endsWith('/')) {
      mkdirSync(full, { recursive: true });
      continue;
    }
    mkdirSync(dirname(full), { recursive: true });
    if (content.startsWith('->')) symlinkSync(content.slice(2), full);
    else writeFileSync(full, content);
  }
  return root;
}

const listing = (tar: Buffer) => execFileSync('tar', ['-tv'], { input: tar }).toString().trim().split('\n').map((l) => l.replace(/\s+/g, ' '));
const names = (tar: Buffer) => execFileSync('tar', ['-t'], { input: tar }).toString().trim().split('\n');

describe('packBuildContext', () => {
  it('gives the same bytes for the same files, whatever their times, owners or creation order', () => {
    const a = tree({ Dockerfile: 'FROM x\n', 'src/b.txt': 'b', 'src/a.txt': 'a', 'empty/': '' });
    const b = tree({ 'src/a.txt': 'a', 'empty/': '', 'src/b.txt': 'b', Dockerfile: 'FROM x\n' });
    utimesSync(join(b, 'src/a.txt'), new Date('2001-01-01'), new Date('2001-01-01'));
    const pa = packBuildContext(a);
    const pb = packBuildContext(b);
    assert.deepEqual(pa.tar, pb.tar);
    assert.equal(pa.digest, pb.digest);
    assert.equal(pa.digest, contextDigest(pa.tar));
    assert.equal(pa.files, 3);
    assert.deepEqual(names(pa.tar), ['Dockerfile', 'empty/', 'src/', 'src/a.txt', 'src/b.txt']);
    for (const line of listing(pa.tar)) assert.match(line, /root\/root .* 1970-01-01 00:00 /);
  });

  it('changes the digest when a file, a name or the executable bit changes', () => {
    const base = { Dockerfile: 'FROM x\n', 'run.sh': 'echo 1' };
    const digest = packBuildContext(tree(base)).digest;
    assert.notEqual(packBuildContext(tree({ ...base, 'run.sh': 'echo 2' })).digest, digest);
    assert.notEqual(packBuildContext(tree({ Dockerfile: 'FROM x\n', 'start.sh': 'echo 1' })).digest, digest);
    const executable = tree(base);
    chmodSync(join(executable, 'run.sh'), 0o700);
    const packed = packBuildContext(executable);
    assert.notEqual(packed.digest, digest);
    assert.ok(listing(packed.tar).some((l) => l.startsWith('-rwxr-xr-x') && l.endsWith('run.sh')), 'an executable file is packed 0755');
  });

  it('honours .dockerignore as docker build does, and always sends the Dockerfile and .dockerignore', () => {
    const dir = tree({
      Dockerfile: 'FROM x\n',
      '.dockerignore': '# build output and secrets\nnode_modules\n**/*.log\n!keep.log\nDockerfile\n.dockerignore\n/secret.env\n',
      'node_modules/dep/index.js': 'x',
      'app/server.js': 'x',
      'app/debug.log': 'x',
      'keep.log': 'x',
      'secret.env': 'TOKEN=1',
      'sub/secret.env': 'not anchored: kept',
    });
    assert.deepEqual(names(packBuildContext(dir).tar), ['.dockerignore', 'Dockerfile', 'app/', 'app/server.js', 'keep.log', 'sub/', 'sub/secret.env']);
  });

  it('packs links inside the context as links', () => {
    const dir = tree({ Dockerfile: 'FROM x\n', 'conf/app.conf': 'x', 'current': '->conf', 'conf/alias.conf': '->app.conf' });
    const lines = listing(packBuildContext(dir).tar);
    assert.ok(lines.some((l) => l.endsWith('current -> conf')), lines.join('\n'));
    assert.ok(lines.some((l) => l.endsWith('conf/alias.conf -> app.conf')), lines.join('\n'));
  });

  const refused: Array<[string, Record<string, string>, Parameters<typeof packBuildContext>[1], RegExp]> = [
    ['a link to an absolute path', { Dockerfile: 'FROM x\n', 'passwd': '->/etc/passwd' }, {}, /passwd is a symbolic link to \/etc\/passwd, outside the build context/],
    ['a link that climbs out', { Dockerfile: 'FROM x\n', 'sub/up': '->../../outside' }, {}, /sub\/up is a symbolic link to \.\.\/\.\.\/outside, outside/],
    ['a context over the limit', { Dockerfile: 'FROM x\n', 'big.bin': 'x'.repeat(4000) }, { maxBytes: 4096 }, /larger than .* MiB as a tar \(at big\.bin\); leave out .* \.dockerignore/],
    ['a missing Dockerfile', { 'app.js': 'x' }, {}, /has no Dockerfile at Dockerfile/],
    ['a Dockerfile named outside the context', { Dockerfile: 'FROM x\n' }, { dockerfile: '../Dockerfile' }, /must be inside the build context/],
  ];
  for (const [what, files, opts, message] of refused) {
    it(`refuses ${what}`, () => {
      assert.throws(() => packBuildContext(tree(files), opts), (err: unknown) => err instanceof ContextPackError && message.test(err.message));
    });
  }

  it('refuses a context that is not there', () => {
    assert.throws(() => packBuildContext(join(tmpdir(), 'hf-pack-no-such-dir')), /: does not exist \(it is read relative to the compose file\)$/);
  });
});

describe('contextImageTag', () => {
  const digest = `sha256:${'ab'.repeat(32)}`;
  const base = { contextDigest: digest, dockerfile: 'Dockerfile', args: {} };
  const tag = contextImageTag(base);
  it('is ctx- and 12 hex digits, the same for the same build input', () => {
    assert.match(tag, /^ctx-[0-9a-f]{12}$/);
    assert.equal(contextImageTag({ ...base, args: {} }), tag);
  });
  const changes: Array<[string, Parameters<typeof contextImageTag>[0]]> = [
    ['context', { ...base, contextDigest: `sha256:${'cd'.repeat(32)}` }],
    ['Dockerfile', { ...base, dockerfile: 'Dockerfile.prod' }],
    ['build args', { ...base, args: { V: '2' } }],
    ['target', { ...base, target: 'runtime' }],
  ];
  for (const [what, input] of changes) it(`changes with the ${what}`, () => assert.notEqual(contextImageTag(input), tag));
});

describe('apply and diff bundle compose build contexts', () => {
  const manifest = (compose: string) => `apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata: { name: shopfront, namespace: shop }
spec:
  environment: production
  server: edge-1
  source:
    compose: { file: ${compose} }
`;

  it('records each context digest by its path beside the manifest, keeps the tars, and renders images tagged from them', async () => {
    const dir = tree({
      'deploy/compose.yaml': 'services:\n  web:\n    build: ../app\n  worker:\n    build: { context: ../app, dockerfile: Dockerfile.worker }\n  cache:\n    image: redis:7\n',
      'app/Dockerfile': 'FROM x\n',
      'app/Dockerfile.worker': 'FROM x\n',
      'app/index.html': 'hello',
    });
    writeFileSync(join(dir, 'service.yaml'), manifest('deploy/compose.yaml'));
    const [m] = await loadManifests([join(dir, 'service.yaml')], { buildContexts: true });
    const compose = (m.object.spec as any).source.compose;
    const digest = packBuildContext(join(dir, 'app')).digest;
    assert.deepEqual(compose.buildContexts, { app: digest });
    assert.deepEqual(m.buildContexts?.map((a) => [a.context, a.digest]), [['app', digest]], 'one tar per distinct context');
    assert.equal(contextDigest(m.buildContexts![0].tar), digest);

    const frozen = renderFrozenInput(service({ source: { compose } }, 'shopfront'), context({ composeFiles: { readFile: (p) => (p in compose.files ? new TextEncoder().encode(compose.files[p]) : undefined) } }));
    const web = frozen.components.find((c) => c.name === 'web')!;
    const worker = frozen.components.find((c) => c.name === 'worker')!;
    assert.equal(web.build?.contextDigest, digest);
    assert.equal(web.image, `holdfast/shop-production-shopfront-web:${contextImageTag({ contextDigest: digest, dockerfile: 'Dockerfile', args: {} })}`);
    assert.notEqual(worker.image.split(':')[1], web.image.split(':')[1], 'another Dockerfile is another build input');

    const [plain] = await loadManifests([join(dir, 'service.yaml')]);
    assert.equal((plain.object.spec as any).source.compose.buildContexts, undefined, 'delete does not pack');
    assert.equal(plain.buildContexts, undefined);
  });

  it('names the file, document and compose service of a context that cannot be packed', async () => {
    const dir = tree({ 'compose.yaml': 'services:\n  web:\n    build: ./app\n', 'app/index.html': 'no Dockerfile here' });
    writeFileSync(join(dir, 'service.yaml'), `apiVersion: holdfast.dev/v1alpha1\nkind: Project\nmetadata: { name: shop }\n---\n${manifest('compose.yaml')}`);
    await assert.rejects(loadManifests([join(dir, 'service.yaml')], { buildContexts: true }), (err: Error) => {
      assert.match(err.message, /service\.yaml: document 2: spec\.source\.compose\.file: compose\.yaml: services\.web\.build: the build context app has no Dockerfile at Dockerfile/);
      return true;
    });
  });

  it('says a context directory that is not there does not exist, naming where it was looked for', async () => {
    const dir = tree({ 'compose.yaml': 'services:\n  web:\n    build: ./missing\n' });
    writeFileSync(join(dir, 'service.yaml'), `apiVersion: holdfast.dev/v1alpha1\nkind: Project\nmetadata: { name: shop }\n---\n${manifest('compose.yaml')}`);
    await assert.rejects(loadManifests([join(dir, 'service.yaml')], { buildContexts: true }), (err: Error) => {
      assert.match(err.message, /services\.web\.build: the build context missing does not exist \(it is read relative to the compose file\)/);
      return true;
    });
  });
});
