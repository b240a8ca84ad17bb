import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { kindInfo } from '../../../core/resource.js';
import { asList, humanDuration, parseOutputFormat, renderTable, resourceName, TableWriter, toYaml, withTypeMeta } from '../../../cli/printers.js';

describe('humanDuration matches kubectl', () => {
  const s = 1000;
  const m = 60 * s;
  const h = 60 * m;
  const d = 24 * h;
  const table: Array<[number, string]> = [
    [-5 * s, '<invalid>'],
    [-500, '0s'],
    [0, '0s'],
    [5 * s, '5s'],
    [119 * s, '119s'],
    [2 * m, '2m'],
    [5 * m + 30 * s, '5m30s'],
    [10 * m + 30 * s, '10m'],
    [179 * m, '179m'],
    [3 * h, '3h'],
    [3 * h + 20 * m, '3h20m'],
    [8 * h + 20 * m, '8h'],
    [47 * h, '47h'],
    [2 * d, '2d'],
    [2 * d + 5 * h, '2d5h'],
    [8 * d + 5 * h, '8d'],
    [400 * d, '400d'],
    [3 * 365 * d + 20 * d, '3y20d'],
    [9 * 365 * d, '9y'],
  ];
  for (const [ms, expected] of table) test(`${ms}ms → ${expected}`, () => assert.equal(humanDuration(ms), expected));
});

describe('tables', () => {
  test('columns padded by 3, at least 6 wide, last column unpadded', () => {
    assert.equal(
      renderTable([
        ['NAME', 'READY', 'AGE'],
        ['web', '1/1', '5s'],
        ['a-long-name', '-', '3d'],
      ]),
      'NAME          READY   AGE\nweb           1/1     5s\na-long-name   -       3d\n',
    );
  });
  test('later rows keep the widths of earlier ones (watch)', () => {
    let out = '';
    const table = new TableWriter((t) => (out += t));
    table.print([['NAME', 'STATUS', 'AGE'], ['a-long-service-name', 'Ready', '1s']]);
    table.print([['b', 'Degraded', '2s']]);
    assert.equal(out.split('\n')[2], `${'b'.padEnd('a-long-service-name'.length + 3)}Degraded   2s`);
  });
});

test('resource names as kubectl prints custom resources', () => {
  assert.equal(resourceName({ kind: 'Service', metadata: { name: 'web' } }), 'service.holdfast.dev/web');
  assert.equal(resourceName({ kind: 'SSHKey', metadata: { name: 'deploy' } }), 'sshkey.holdfast.dev/deploy');
});

test('list items get apiVersion and kind; several objects print as a v1 List', () => {
  const item = withTypeMeta({ metadata: { name: 'web' } } as never, kindInfo('Service')!);
  assert.deepEqual(asList([item]), {
    apiVersion: 'v1',
    kind: 'List',
    metadata: { resourceVersion: '' },
    items: [{ apiVersion: 'holdfast.dev/v1alpha1', kind: 'Service', metadata: { name: 'web' } }],
  });
});

test('YAML output: keys sorted, sequences unindented, long strings unfolded, ambiguous scalars quoted', () => {
  const text = toYaml({ spec: { version: '1.0', note: 'x'.repeat(120), command: ['httpd', '-f'], on: 'yes' }, kind: 'Service' });
  assert.equal(text, `kind: Service\nspec:\n  command:\n  - httpd\n  - -f\n  note: ${'x'.repeat(120)}\n  "on": "yes"\n  version: "1.0"\n`);
});

test('output formats', () => {
  assert.equal(parseOutputFormat(undefined), 'table');
  assert.equal(parseOutputFormat('wide'), 'wide');
  assert.throws(() => parseOutputFormat('xml'), /allowed formats are: json,name,wide,yaml/);
});
