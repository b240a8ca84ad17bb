import assert from 'node:assert/strict';
import { mkdir, mkdtemp, rm, symlink, writeFile } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import {
  documentIndexAtLine,
  formatProblem,
  loadManifests,
  ManifestError,
  parseManifests,
  readManifestSources,
  sortForApply,
  sortForDelete,
  type ManifestObject,
} from '../../../manifests/load.js';
import { aliasBomb } from '../../support/hostile-input.js';

const service = (name: string, extra = '') => `apiVersion: holdfast.dev/v1alpha1
kind: Service
metadata:
  name: ${name}
  namespace: shop
spec:
  environment: production
  server: edge-1
  source: { image: web:1 }
${extra}`;

const project = (name: string) => `apiVersion: holdfast.dev/v1alpha1
kind: Project
metadata: { name: ${name} }
spec:
  environments: [ { name: production } ]
`;

function problemsOf(fn: () => unknown): string[] {
  try {
    fn();
  } catch (err) {
    assert.ok(err instanceof ManifestError, `expected a ManifestError, got ${String(err)}`);
    return err.problems.map(formatProblem);
  }
  assert.fail('expected the manifests to be rejected');
}

describe('parseManifests rejects bad input before anything is written', () => {
  const cases: Array<{ name: string; text: string; namespace?: string; expect: RegExp[] }> = [
    {
      name: 'malformed YAML in the second document names it and the line',
      text: `${project('shop')}---\nkind: Service\nmetadata: [unclosed\n`,
      expect: [/^a\.yaml: document 2: invalid YAML at line 9, column 1: deficient indentation$/],
    },
    {
      name: 'a YAML alias bomb is refused before it is expanded',
      text: aliasBomb(9, 10, 'spec'),
      expect: [/^a\.yaml: refused: the document is too large: more than 1000000 nodes once aliases are expanded$/],
    },
    {
      name: 'nesting past the depth limit names the line',
      text: `${project('shop')}---\nx: ${'['.repeat(200)}${']'.repeat(200)}\n`,
      expect: [/^a\.yaml: document 2: invalid YAML at line \d+, column \d+: nesting exceeded maxDepth \(100\)$/],
    },
    {
      name: 'a duplicated key is malformed YAML',
      text: `apiVersion: holdfast.dev/v1alpha1\nkind: Project\nkind: Project\nmetadata: { name: a }\n`,
      expect: [/^a\.yaml: document 1: invalid YAML at line 3, column 1: duplicated mapping key/],
    },
    {
      name: 'missing kind',
      text: `${project('shop')}---\napiVersion: holdfast.dev/v1alpha1\nmetadata: { name: web, namespace: shop }\n`,
      expect: [/^a\.yaml: document 2: kind: required \(one of Project, Server, SSHKey, Service, BackupPolicy, GitRepository, ApplySet, Secret, Role, RoleBinding, ClusterRoleBinding, ServiceAccount, Lease\)$/],
    },
    {
      name: 'missing apiVersion',
      text: `kind: Project\nmetadata: { name: shop }\n`,
      expect: [/^a\.yaml: document 1: apiVersion: required \(use holdfast\.dev\/v1alpha1\)$/],
    },
    {
      name: 'foreign apiVersion',
      text: `apiVersion: apps/v1\nkind: Project\nmetadata: { name: shop }\n`,
      expect: [/^a\.yaml: document 1: apiVersion: unsupported "apps\/v1": Holdfast objects use holdfast\.dev\/v1alpha1$/],
    },
    {
      name: 'missing metadata',
      text: `apiVersion: holdfast.dev/v1alpha1\nkind: Project\nspec: {}\n`,
      expect: [/^a\.yaml: document 1: metadata: required/],
    },
    {
      name: 'missing metadata.name',
      text: `apiVersion: holdfast.dev/v1alpha1\nkind: Project\nmetadata: { labels: { a: b } }\n`,
      expect: [/^a\.yaml: document 1: metadata\.name: required$/],
    },
    {
      name: 'invalid metadata.name',
      text: `apiVersion: holdfast.dev/v1alpha1\nkind: Project\nmetadata: { name: Shop_1 }\n`,
      expect: [/^a\.yaml: document 1: metadata\.name: invalid name "Shop_1"/],
    },
    {
      name: 'unknown kind',
      text: `apiVersion: holdfast.dev/v1alpha1\nkind: Deployment\nmetadata: { name: web }\n`,
      expect: [/^a\.yaml: document 1: kind: unknown kind "Deployment": expected one of Project, /],
    },
    {
      name: 'wrongly cased kind gets a suggestion',
      text: `apiVersion: holdfast.dev/v1alpha1\nkind: service\nmetadata: { name: web, namespace: shop }\n`,
      expect: [/^a\.yaml: document 1: kind: unknown kind "service": did you mean "Service"\?$/],
    },
    {
      name: 'events are not applied',
      text: `apiVersion: holdfast.dev/v1alpha1\nkind: Event\nmetadata: { name: e1, namespace: shop }\n`,
      expect: [/^a\.yaml: document 1: kind: Event objects are recorded by Holdfast itself/],
    },
    {
      name: 'a document that is not a mapping',
      text: `- a\n- b\n`,
      expect: [/^a\.yaml: document 1: expected a mapping with apiVersion, kind and metadata, got a list$/],
    },
    {
      name: 'the same object twice',
      text: `${service('web')}---\n${service('web')}`,
      expect: [/^a\.yaml: document 2: Service "shop\/web" is already defined in a\.yaml \(document 1\)$/],
    },
    {
      name: 'a namespaced object without namespace or -n',
      text: `apiVersion: holdfast.dev/v1alpha1\nkind: Service\nmetadata: { name: web }\nspec: {}\n`,
      expect: [/^a\.yaml: document 1: metadata\.namespace: required for Service \(the Project it belongs to\): set it or pass -n PROJECT$/],
    },
    {
      name: 'a namespace that contradicts -n',
      text: service('web'),
      namespace: 'other',
      expect: [/^a\.yaml: document 1: metadata\.namespace: "shop" does not match --namespace "other"$/],
    },
    {
      name: 'a cluster-scoped object with a namespace',
      text: `apiVersion: holdfast.dev/v1alpha1\nkind: Server\nmetadata: { name: edge-1, namespace: shop }\nspec: {}\n`,
      expect: [/^a\.yaml: document 1: metadata\.namespace: Server is cluster-scoped and takes no namespace; remove it$/],
    },
    {
      name: 'a label that YAML reads as a number',
      text: `apiVersion: holdfast.dev/v1alpha1\nkind: Project\nmetadata: { name: shop, labels: { version: 1.0 } }\n`,
      expect: [/^a\.yaml: document 1: metadata\.labels\.version: must be a string, got a number \(1\) \(quote the value\)$/],
    },
    {
      name: 'spec that is not a mapping',
      text: `apiVersion: holdfast.dev/v1alpha1\nkind: Project\nmetadata: { name: shop }\nspec: [1]\n`,
      expect: [/^a\.yaml: document 1: spec: must be a mapping, got a list$/],
    },
    {
      name: 'settings outside spec',
      text: `apiVersion: holdfast.dev/v1alpha1\nkind: Secret\nmetadata: { name: db, namespace: shop }\nstringData: { password: x }\n`,
      expect: [/^a\.yaml: document 1: stringData: unknown field: Secret settings belong under spec$/],
    },
    {
      name: 'a bad item of a List names its path',
      text: `apiVersion: v1\nkind: List\nitems:\n- ${project('shop').replace(/\n/g, '\n  ')}\n- apiVersion: holdfast.dev/v1alpha1\n  kind: Project\n  metadata: {}\n`,
      expect: [/^a\.yaml: document 1: items\[1\]\.metadata\.name: required$/],
    },
    {
      name: 'every problem is reported, not just the first',
      text: `kind: Project\nmetadata: { name: a }\n---\napiVersion: holdfast.dev/v1alpha1\nkind: Nope\nmetadata: { name: b }\n`,
      expect: [/document 1: apiVersion: required/, /document 2: kind: unknown kind "Nope"/],
    },
  ];
  for (const c of cases) {
    test(c.name, () => {
      const problems = problemsOf(() => parseManifests([{ name: 'a.yaml', text: c.text }], { namespace: c.namespace, refuseKinds: ['Event'] }));
      assert.equal(problems.length, c.expect.length, problems.join('\n'));
      c.expect.forEach((re, i) => assert.match(problems[i], re));
    });
  }
});

describe('schema validation against the CRDs (apply, diff)', () => {
  test('every schema problem of every document, at its field path', () => {
    const bad = service('api', '  replicas: -1\n  bogus: true\n');
    const problems = problemsOf(() => parseManifests([{ name: 'a.yaml', text: `${project('shop')}---\n${bad}` }], { validateSchema: true }));
    assert.deepEqual(problems, ['a.yaml: document 2: spec.bogus: unknown field', 'a.yaml: document 2: spec.replicas: must be >= 0 (got -1)']);
  });

  test('write-only values are not quoted in messages', () => {
    const text = `apiVersion: holdfast.dev/v1alpha1\nkind: Secret\nmetadata: { name: db, namespace: shop }\nspec:\n  stringData: { password: [hunter2] }\n`;
    const problems = problemsOf(() => parseManifests([{ name: 's.yaml', text }], { validateSchema: true }));
    assert.equal(problems.length, 1);
    assert.match(problems[0], /^s\.yaml: document 1: spec\.stringData\.password: /);
    assert.doesNotMatch(problems[0], /hunter2/);
  });

  test('valid manifests pass, and are returned as written (the server adds defaults)', () => {
    const [obj] = parseManifests([{ name: 'a.yaml', text: service('web') }], { validateSchema: true });
    assert.equal((obj.object.spec as Record<string, unknown>).replicas, undefined);
  });
});

describe('parseManifests accepts', () => {
  test('multi-document YAML, skipping empty documents but counting them', () => {
    const objects = parseManifests([{ name: 'a.yaml', text: `# leading comment\n---\n${project('shop')}---\n---\n${service('web')}` }]);
    assert.deepEqual(
      objects.map((o) => [o.kind.kind, o.object.metadata.name, o.document]),
      [
        ['Project', 'shop', 1],
        ['Service', 'web', 3],
      ],
    );
  });

  test('-n fills in the namespace of namespaced objects only', () => {
    const text = `${project('shop')}---\napiVersion: holdfast.dev/v1alpha1\nkind: Service\nmetadata: { name: web }\nspec: {}\n`;
    const objects = parseManifests([{ name: 'a.yaml', text }], { namespace: 'shop' });
    assert.equal(objects[0].object.metadata.namespace, undefined);
    assert.equal(objects[1].object.metadata.namespace, 'shop');
  });

  test('JSON, and a List as `get -o yaml` prints it', () => {
    const json = JSON.stringify({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Project', metadata: { name: 'shop' }, spec: {} });
    const list = `apiVersion: v1\nkind: List\nmetadata: { resourceVersion: "" }\nitems:\n- apiVersion: holdfast.dev/v1alpha1\n  kind: Project\n  metadata: { name: blog, uid: x, resourceVersion: "3" }\n  status: {}\n`;
    const objects = parseManifests([
      { name: 'p.json', text: json },
      { name: 'l.yaml', text: list },
    ]);
    assert.deepEqual(
      objects.map((o) => [o.source, o.object.metadata.name, o.itemPath]),
      [
        ['p.json', 'shop', undefined],
        ['l.yaml', 'blog', 'items[0]'],
      ],
    );
  });

  test('the same name in two namespaces or two kinds is not a duplicate', () => {
    const other = service('web').replace('namespace: shop', 'namespace: blog');
    const server = `apiVersion: holdfast.dev/v1alpha1\nkind: Server\nmetadata: { name: web }\nspec: {}\n`;
    assert.equal(parseManifests([{ name: 'a.yaml', text: `${service('web')}---\n${other}---\n${server}` }]).length, 3);
  });
});

describe('documentIndexAtLine counts documents as a YAML parser does', () => {
  const table: Array<[string, number, number]> = [
    ['a: 1\n---\nb: [\n', 2, 2],
    ['# c\n---\na: [\n', 2, 1],
    ['---\na: 1\n---\nb: 2\n---\nc: [\n', 5, 3],
    ['a: 1\n...\nb: [\n', 2, 2],
    ['%YAML 1.2\n---\na: [\n', 2, 1],
    ['a: |\n  ---\n  x\nb: [\n', 3, 1],
  ];
  for (const [text, line, expected] of table) {
    test(JSON.stringify(text), () => assert.equal(documentIndexAtLine(text, line), expected));
  }
});

describe('ordering', () => {
  const objects = parseManifests([
    {
      name: 'a.yaml',
      text: [
        `apiVersion: holdfast.dev/v1alpha1\nkind: BackupPolicy\nmetadata: { name: b, namespace: shop }\nspec: {}\n`,
        service('web'),
        `apiVersion: holdfast.dev/v1alpha1\nkind: Server\nmetadata: { name: s }\nspec: {}\n`,
        `apiVersion: holdfast.dev/v1alpha1\nkind: Secret\nmetadata: { name: db, namespace: shop }\nspec: {}\n`,
        service('api'),
        `apiVersion: holdfast.dev/v1alpha1\nkind: SSHKey\nmetadata: { name: k }\nspec: {}\n`,
        project('shop'),
      ].join('---\n'),
    },
  ]);
  const names = (list: ManifestObject[]) => list.map((o) => `${o.kind.kind}/${o.object.metadata.name}`);

  test('apply: dependencies first, file order within a kind', () => {
    assert.deepEqual(names(sortForApply(objects)), ['Project/shop', 'SSHKey/k', 'Secret/db', 'Server/s', 'Service/web', 'Service/api', 'BackupPolicy/b']);
  });
  test('delete: dependents first', () => {
    assert.deepEqual(names(sortForDelete(objects)), ['BackupPolicy/b', 'Service/web', 'Service/api', 'Server/s', 'Secret/db', 'SSHKey/k', 'Project/shop']);
  });
});

describe('reading files, directories and stdin', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'holdfast-manifests-'));
    await mkdir(join(dir, 'nested', 'deeper'), { recursive: true });
    await mkdir(join(dir, '.git'));
    await writeFile(join(dir, 'b-project.yaml'), project('shop'));
    await writeFile(join(dir, 'a-service.yml'), service('web'));
    await writeFile(join(dir, 'README.md'), '# not a manifest\n');
    await writeFile(join(dir, 'nested', 'api.json'), JSON.stringify({ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Service', metadata: { name: 'api', namespace: 'shop' }, spec: {} }));
    await writeFile(join(dir, 'nested', 'deeper', 'blog.yaml'), project('blog'));
    await writeFile(join(dir, '.git', 'x.yaml'), project('hidden'));
    await writeFile(join(dir, 'notes.txt'), project('explicit'));
    await symlink(dir, join(dir, 'nested', 'loop'));
  });
  after(() => rm(dir, { recursive: true, force: true }));

  test('a directory: its .yaml/.yml/.json files, sorted, not recursing', async () => {
    const sources = await readManifestSources([dir]);
    assert.deepEqual(
      sources.map((s) => s.name),
      [join(dir, 'a-service.yml'), join(dir, 'b-project.yaml')],
    );
  });

  test('-R recurses, skipping hidden directories and symlink loops', async () => {
    const sources = await readManifestSources([dir], { recursive: true });
    assert.deepEqual(
      sources.map((s) => s.name),
      [join(dir, 'a-service.yml'), join(dir, 'b-project.yaml'), join(dir, 'nested', 'api.json'), join(dir, 'nested', 'deeper', 'blog.yaml')],
    );
  });

  test('a file under a directory that holds no objects (a Compose file) is skipped with a warning; named, it is an error', async () => {
    const compose = join(dir, 'nested', 'deeper', 'compose.yaml');
    await writeFile(compose, 'services:\n  app: { image: web:1 }\n');
    try {
      const skipped: string[] = [];
      const objects = await loadManifests([dir], { recursive: true, onSkippedFile: (name) => skipped.push(name) });
      assert.deepEqual(skipped, [compose]);
      assert.equal(objects.length, 4);
      await assert.rejects(loadManifests([compose]), /compose\.yaml: document 1: apiVersion: required/);
    } finally {
      await rm(compose);
    }
  });

  test('a file under a directory with one object document is checked in full', async () => {
    const mixed = join(dir, 'nested', 'mixed.yaml');
    await writeFile(mixed, `${project('one')}---\nservices: {}\n`);
    try {
      await assert.rejects(loadManifests([dir], { recursive: true }), /mixed\.yaml: document 2: apiVersion: required/);
    } finally {
      await rm(mixed);
    }
  });

  test('an explicit file is read whatever its extension', async () => {
    const objects = await loadManifests([join(dir, 'notes.txt')]);
    assert.equal(objects[0].object.metadata.name, 'explicit');
  });

  test('- reads standard input once, named <stdin>', async () => {
    const objects = await loadManifests(['-', join(dir, 'b-project.yaml')], { readStdin: async () => service('web') });
    assert.deepEqual(
      objects.map((o) => [o.source, o.object.metadata.name]),
      [
        ['<stdin>', 'web'],
        [join(dir, 'b-project.yaml'), 'shop'],
      ],
    );
    await assert.rejects(loadManifests(['-', '-'], { readStdin: async () => '' }), /standard input can be read only once/);
  });

  test('a missing path is named', async () => {
    await assert.rejects(loadManifests([join(dir, 'nope.yaml')]), (err: unknown) => {
      assert.ok(err instanceof ManifestError);
      assert.equal(err.problems[0].message, `the path "${join(dir, 'nope.yaml')}" does not exist`);
      return true;
    });
  });

  test('a duplicate across files names both files', async () => {
    const copy = join(dir, 'nested', 'deeper', 'again.yaml');
    await writeFile(copy, service('web'));
    try {
      await assert.rejects(loadManifests([join(dir, 'a-service.yml'), copy]), (err: unknown) => {
        assert.ok(err instanceof ManifestError);
        assert.equal(formatProblem(err.problems[0]), `${copy}: document 1: Service "shop/web" is already defined in ${join(dir, 'a-service.yml')} (document 1)`);
        return true;
      });
    } finally {
      await rm(copy);
    }
  });
});
