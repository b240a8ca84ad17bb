import assert from 'node:assert/strict';
import { test } from 'node:test';
import { apiErrorFromStatus } from '../../../cli/client.js';
import { formatError } from '../../../cli/error-output.js';
import { ManifestError } from '../../../manifests/load.js';
import { HoldfastError } from '../../../core/errors.js';

test('server errors print as kubectl prints them, one line per cause', () => {
  const err = apiErrorFromStatus(
    {
      kind: 'Status',
      status: 'Failure',
      reason: 'BadRequest',
      code: 400,
      message: 'Service.holdfast.dev "web" is invalid',
      details: { name: 'web', kind: 'Service', causes: [{ field: 'spec.ports[0].hostPort', message: 'must be <= 65535' }, { field: 'spec.bogus', message: 'unknown field' }] },
    },
    400,
  );
  assert.equal(
    formatError(err),
    'Error from server (BadRequest): Service.holdfast.dev "web" is invalid\n  - spec.ports[0].hostPort: must be <= 65535\n  - spec.bogus: unknown field\n',
  );
});

test('causes the server folded into its message are not repeated', () => {
  const err = apiErrorFromStatus(
    {
      kind: 'Status',
      reason: 'BadRequest',
      code: 400,
      message: 'Service "api" is invalid: spec.replicas: must be an integer >= 0; spec.bogus: unknown field',
      details: { causes: [{ field: 'spec.replicas', message: 'must be an integer >= 0' }, { field: 'spec.bogus', message: 'unknown field' }] },
    },
    400,
  );
  assert.equal(
    formatError(err),
    'Error from server (BadRequest): Service "api" is invalid\n  - spec.replicas: must be an integer >= 0\n  - spec.bogus: unknown field\n',
  );
});

test('a reason the client does not know is printed as the server sent it', () => {
  const err = apiErrorFromStatus({ kind: 'Status', reason: 'Expired', code: 410, message: 'too old resource version' }, 410);
  assert.equal(formatError(err), 'Error from server (Expired): too old resource version\n');
  assert.equal(err.reason, 'Gone');
});

test('local errors are one line; stacks only when debugging', () => {
  assert.equal(formatError(new HoldfastError('BadRequest', 'bad flag')), 'error: bad flag\n');
  assert.equal(formatError(new TypeError('boom')), 'error: boom\n');
  assert.match(formatError(new TypeError('boom'), true), /^error: boom\nTypeError: boom\n\s+at /);
});

test('manifest problems print one error line each', () => {
  const err = new ManifestError([
    { source: 'a.yaml', document: 2, field: 'kind', message: 'required' },
    { source: 'b.yaml', message: 'the path "b.yaml" does not exist' },
  ]);
  assert.equal(formatError(err), 'error: a.yaml: document 2: kind: required\nerror: b.yaml: the path "b.yaml" does not exist\n');
});
