import assert from 'node:assert/strict';
import { readdirSync, readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { describe, it } from 'node:test';
import { fileURLToPath } from 'node:url';
import { load, loadAll } from 'js-yaml';
import { ValidationError, type FieldCause } from '../../../core/errors.js';
import { KINDS } from '../../../core/resource.js';
import { closestMatch, fieldPath } from '../../../core/schema/messages.js';
import { crdFor, namespaceCauses, schemaFor, validateKind, validateObject, validateStatus } from '../../../core/schema/validate.js';

const testdata = join(dirname(fileURLToPath(import.meta.url)), 'testdata');

function yamlFiles(dir: string): string[] {
  return readdirSync(join(testdata, dir))
    .filter((f) => f.endsWith('.yaml'))
    .sort();
}

/** Runs `fn`, which must throw a ValidationError, and returns it. */
function validationError(fn: () => unknown): ValidationError {
  try {
    fn();
  } catch (error) {
    assert.ok(error instanceof ValidationError, `expected a ValidationError, got ${String(error)}`);
    return error;
  }
  assert.fail('expected a ValidationError, but validation passed');
}

const byFieldAndMessage = (a: { field: string; message: string }, b: { field: string; message: string }) =>
  `${a.field}\u0000${a.message}`.localeCompare(`${b.field}\u0000${b.message}`);

function plain(causes: FieldCause[]) {
  return causes.map(({ field, message }) => ({ field, message })).sort(byFieldAndMessage);
}

describe('validateObject: valid manifests', () => {
  for (const file of yamlFiles('valid')) {
    const docs = loadAll(readFileSync(join(testdata, 'valid', file), 'utf8'));
    docs.forEach((doc, i) => {
      const { kind, metadata } = doc as { kind: string; metadata: { name: string } };
      it(`${file}#${i + 1} ${kind} ${metadata.name} validates`, () => {
        const { object } = validateObject(doc);
        assert.equal(object.kind, kind);
        assert.equal(object.metadata.name, metadata.name);
        assert.notEqual(object, doc, 'validation returns a copy, not the input');
      });
    });
  }
});

interface InvalidCase {
  description: string;
  manifest: unknown;
  expect: Array<{ field: string; message: string }>;
  mustNotMention?: string[];
}

describe('validateObject: invalid manifests list every problem with its path', () => {
  for (const file of yamlFiles('invalid')) {
    const c = load(readFileSync(join(testdata, 'invalid', file), 'utf8')) as InvalidCase;
    it(`${file.replace(/\.yaml$/, '')}: ${c.description}`, () => {
      const error = validationError(() => validateObject(c.manifest, { docLabel: `invalid/${file}` }));
      assert.deepEqual(plain(error.causes), [...c.expect].sort(byFieldAndMessage));
      assert.equal(error.code, 400);
      assert.ok(error.message.startsWith(`invalid/${file}: `), error.message);
      for (const cause of c.expect) {
        assert.ok(error.message.includes(cause.field ? `${cause.field}: ${cause.message}` : cause.message), error.message);
      }
      for (const secret of c.mustNotMention ?? []) {
        assert.ok(!error.message.includes(secret), `message leaks ${secret}: ${error.message}`);
        assert.ok(!JSON.stringify(error.causes).includes(secret), `causes leak ${secret}`);
      }
      assert.ok(!/\n\s+at /.test(error.message), 'no stack trace in the message');
    });
  }
});

describe('validateObject: error message', () => {
  it('names the kind and object, and orders causes as the document reads', () => {
    const error = validationError(() =>
      validateObject({
        apiVersion: 'holdfast.dev/v1alpha1',
        kind: 'Service',
        metadata: { name: 'Web', namespace: 'shop' },
        spec: { environment: 'production', server: 'edge-1', source: { image: 'web:1' }, replicas: 'two' },
      }),
    );
    assert.match(error.message, /^Service "Web" is invalid: metadata\.name: .*; spec\.replicas: must be an integer >= 0 \(got "two"\)$/);
    assert.deepEqual(
      error.causes.map((c) => c.field),
      ['metadata.name', 'spec.replicas'],
    );
    assert.deepEqual(error.details, { kind: 'Service', name: 'Web' });
    assert.equal(error.causes[1].reason, 'FieldValueTypeInvalid');
  });

  it('does not change its input', () => {
    const input = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name: 'local' }, spec: { kind: 'local' } };
    const before = structuredClone(input);
    const { object } = validateObject(input);
    assert.deepEqual(input, before);
    assert.equal((object.spec as { dockerSocket: string }).dockerSocket, '/var/run/docker.sock');
  });
});

describe('validateObject: defaults', () => {
  const cases = load(readFileSync(join(testdata, 'defaults.yaml'), 'utf8')) as Array<{
    description: string;
    manifest: unknown;
    expect: unknown;
  }>;
  for (const c of cases) {
    it(c.description, () => {
      assert.deepEqual(validateObject(c.manifest).object, c.expect);
    });
  }
});

describe('validateStatus', () => {
  const condition = { type: 'Ready', status: 'True', reason: 'Deployed', message: '', lastTransitionTime: '2024-05-01T12:00:00Z' };

  it('accepts a status with conditions and kind-specific fields, and extra fields where status stays open', () => {
    const { status } = validateStatus('Service', {
      observedGeneration: 2,
      conditions: [condition],
      replicas: 1,
      readyReplicas: 1,
      currentDeployment: { name: 'd-1', phase: 'completed', steps: [{ name: 'pull' }] },
      drift: { count: 0, entries: [] },
    });
    assert.equal(status.observedGeneration, 2);
  });

  const bad: Array<{ kind: string; status: unknown; expect: Array<{ field: string; message: string }> }> = [
    {
      kind: 'Service',
      status: { readyReplicas: -1, conditions: [{ ...condition, status: 'Yes' }, { type: 'Ready' }], bogus: 1 },
      expect: [
        { field: 'status.bogus', message: 'unknown field' },
        { field: 'status.conditions[0].status', message: 'must be one of "True", "False" or "Unknown" (got "Yes")' },
        { field: 'status.conditions[1].status', message: 'required' },
        { field: 'status.conditions[1].reason', message: 'required' },
        { field: 'status.conditions[1].message', message: 'required' },
        { field: 'status.conditions[1].lastTransitionTime', message: 'required' },
        { field: 'status.conditions[1]', message: 'duplicate entry: type "Ready" is already listed at status.conditions[0]' },
        { field: 'status.readyReplicas', message: 'must be >= 0 (got -1)' },
      ],
    },
    {
      kind: 'Server',
      status: { checks: [{ name: 'ipvs', result: 'Maybe' }], lastContactTime: 'yesterday' },
      expect: [
        { field: 'status.checks[0].result', message: 'must be one of "Pass", "Warn", "Fail" or "Unknown" (got "Maybe")' },
        { field: 'status.lastContactTime', message: 'must be an RFC 3339 date-time such as 2024-05-01T12:00:00Z (got "yesterday")' },
      ],
    },
    {
      kind: 'SSHKey',
      status: { fingerprint: 'abc', rotatedAt: 5 },
      expect: [
        {
          field: 'status.fingerprint',
          message: 'must be a SHA256 host key fingerprint as `ssh-keygen -lf` prints it: "SHA256:" and 43 base64 characters (got "abc")',
        },
        { field: 'status.rotatedAt', message: 'must be a string (got 5)' },
      ],
    },
  ];
  for (const c of bad) {
    it(`${c.kind}: rejects ${JSON.stringify(c.status).slice(0, 60)}`, () => {
      const error = validationError(() => validateStatus(c.kind, c.status));
      assert.deepEqual(plain(error.causes), [...c.expect].sort(byFieldAndMessage));
    });
  }

  it('rejects a kind without status', () => {
    validationError(() => validateStatus('Event', {}));
  });
});

describe('namespaceCauses', () => {
  const cases: Array<{ kind: string; namespace?: string; expect: string[] }> = [
    { kind: 'Service', namespace: 'shop', expect: [] },
    { kind: 'Service', expect: ['metadata.namespace: required: Service is namespaced (its namespace is the name of its Project)'] },
    { kind: 'Secret', namespace: '', expect: ['metadata.namespace: required: Secret is namespaced (its namespace is the name of its Project)'] },
    { kind: 'Server', expect: [] },
    { kind: 'Server', namespace: 'shop', expect: ['metadata.namespace: must not be set: Server is cluster-scoped (got "shop")'] },
    { kind: 'SSHKey', namespace: 'shop', expect: ['metadata.namespace: must not be set: SSHKey is cluster-scoped (got "shop")'] },
  ];
  for (const c of cases) {
    it(`${c.kind} in namespace ${JSON.stringify(c.namespace)}`, () => {
      assert.deepEqual(
        namespaceCauses(c.kind, { namespace: c.namespace }).map((x) => `${x.field}: ${x.message}`),
        c.expect,
      );
    });
  }
});

describe('schemaFor', () => {
  it('publishes each kind schema as the CRD declares it, as a copy', () => {
    for (const { kind } of KINDS) {
      const schema = schemaFor(kind);
      assert.ok(schema, kind);
      assert.equal(schema.type, 'object');
      assert.equal(schema.additionalProperties, undefined, `${kind}: the published schema stays structural`);
    }
    const service = schemaFor('Service')!;
    (service.properties!.spec as { required: string[] }).required.push('mutated');
    assert.ok(!(schemaFor('Service')!.properties!.spec.required ?? []).includes('mutated'));
    assert.equal(schemaFor('Deployment'), undefined);
  });
});

describe('validateKind', () => {
  const server = { apiVersion: 'holdfast.dev/v1alpha1', kind: 'Server', metadata: { name: 'local' }, spec: { kind: 'local' } };

  it('returns the typed, defaulted object', () => {
    const object = validateKind('Server', server);
    assert.equal(object.spec!.dockerSocket, '/var/run/docker.sock');
  });

  it('refuses a document of another kind', () => {
    const error = validationError(() => validateKind('Service', server, { docLabel: 'PUT services/local' }));
    assert.equal(error.message, 'PUT services/local: Server "local" is invalid: kind: must be Service here (got "Server")');
  });
});

describe('crdFor', () => {
  it('returns the CRD of a kind, and none for Event', () => {
    assert.equal(crdFor('Service')?.metadata.name, 'services.holdfast.dev');
    assert.equal(crdFor('Event'), undefined);
  });
});

describe('closestMatch', () => {
  const cases: Array<[string, string[], string | undefined]> = [
    ['sourc', ['source', 'server'], 'source'],
    ['hael', ['report', 'heal'], 'heal'],
    ['Image', ['image', 'compose'], 'image'],
    ['replica', ['replicas'], 'replicas'],
    ['colour', ['command', 'env', 'ports'], undefined],
    ['x', [], undefined],
  ];
  for (const [word, candidates, expected] of cases) {
    it(`${word} among ${candidates.join(',') || 'nothing'} -> ${expected}`, () => {
      assert.equal(closestMatch(word, candidates), expected);
    });
  }
});

describe('fieldPath', () => {
  const doc = { spec: { ports: [{ hostPort: 1 }], labels: { 'app.kubernetes.io/name': 'x' } } };
  const cases: Array<[string[], string]> = [
    [['spec', 'ports', '0', 'hostPort'], 'spec.ports[0].hostPort'],
    [['spec', 'labels', 'app.kubernetes.io/name'], 'spec.labels[app.kubernetes.io/name]'],
    [[], ''],
  ];
  for (const [segments, expected] of cases) {
    it(expected || '(root)', () => assert.equal(fieldPath(segments, doc), expected));
  }
});
