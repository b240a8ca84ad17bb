// examples/README.md draws the examples' layout; this keeps the drawing and the files the same.
import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { join, relative, sep } from 'node:path';
import { it } from 'node:test';
import { packageRoot } from '../../../core/package-root.js';

it('examples/README.md lists exactly the files under examples/', () => {
  const dir = join(packageRoot(), 'examples');
  const readme = readFileSync(join(dir, 'README.md'), 'utf8');
  const tree = readme.slice(readme.indexOf('```\nexamples/\n') + 4, readme.indexOf('\n```', readme.indexOf('```\nexamples/\n') + 4));
  const listed = tree.split('\n').slice(1).map((line) => line.trim().split(/\s+/)[0]).filter(Boolean).sort();
  const files = readdirSync(dir, { recursive: true, withFileTypes: true })
    .filter((e) => e.isFile() && e.name !== 'README.md')
    .map((e) => relative(dir, join(e.parentPath ?? e.path, e.name)).split(sep).join('/'))
    .sort();
  assert.deepEqual(listed, files);
});
