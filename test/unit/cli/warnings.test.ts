import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { parseWarnings } from '../../../cli/client.js';

describe('Kubernetes warning headers', () => {
  const cases: Array<[header: string | null, texts: string[]]> = [
    [null, []],
    ['', []],
    ['299 - "server edge-9 does not exist yet"', ['server edge-9 does not exist yet']],
    ['299 - "server edge-9 does not exist yet", 299 - "secret db does not exist yet"', ['server edge-9 does not exist yet', 'secret db does not exist yet']],
    ['299 - "a \\"quoted\\" name, with a comma"', ['a "quoted" name, with a comma']],
    ['299 holdfast "from an agent"', ['from an agent']],
    ['not a warning', []],
  ];
  for (const [header, texts] of cases) {
    it(`${JSON.stringify(header)} → ${JSON.stringify(texts)}`, () => assert.deepEqual(parseWarnings(header), texts));
  }
});
