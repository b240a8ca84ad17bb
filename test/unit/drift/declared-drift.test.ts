// Declared vs frozen: a Service's spec rendered now against the input of its last completed
// deployment. Expected is the declared value, actual the frozen (deployed) one.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sha256Hex } from '../../../core/deploy/container-spec.js';
import { renderFrozenInput } from '../../../core/deploy/render.js';
import { diffDeclaredAgainstFrozen, type DriftEntry } from '../../../core/drift/index.js';
import type { ServiceSpec } from '../../../core/schema/types.generated.js';
import { hashSecret, render, SECRET_VALUE, serviceOf, webSpec, workerSpec } from './fixtures.js';

const frozenWeb = render(serviceOf('web', webSpec));
const WEB = frozenWeb.containers[0].name;
const declared = (spec: Partial<ServiceSpec>, generation = 2) => render(serviceOf('web', { ...webSpec, ...spec }, generation));
const entry = (path: string, kind: DriftEntry['kind'], expected: unknown, actual: unknown): DriftEntry => {
  const e: DriftEntry = { path, kind, source: 'declared-vs-frozen' };
  if (expected !== undefined) e.expected = expected;
  if (actual !== undefined) e.actual = actual;
  return e;
};

describe('declared vs frozen', () => {
  it('nothing when the declared spec is what was deployed, whatever its generation', () => {
    assert.deepEqual(diffDeclaredAgainstFrozen(declared({}, 7), frozenWeb), []);
  });

  const cases: Array<[string, Partial<ServiceSpec>, DriftEntry[]]> = [
    [
      'an env change not rolled out',
      { env: [{ name: 'GREETING', value: 'bonjour' }, webSpec.env![1]] },
      [entry(`containers[${WEB}].env.GREETING`, 'changed', { value: 'bonjour' }, { value: 'hello' })],
    ],
    [
      'a new env variable',
      { env: [...webSpec.env!, { name: 'MODE', value: 'fast' }] },
      [entry(`containers[${WEB}].env.MODE`, 'missing', { value: 'fast' }, undefined)],
    ],
    ['a new image', { source: { image: 'holdfast-test/busybox:2' } }, [
      entry('components[web].image', 'changed', 'holdfast-test/busybox:2', 'holdfast-test/busybox:1'),
      entry(`containers[${WEB}].image`, 'changed', 'holdfast-test/busybox:2', 'holdfast-test/busybox:1'),
    ]],
    ['the update strategy', { update: { order: 'start-first', healthDeadlineSeconds: 30, autoRollback: true } }, [entry('update.order', 'changed', 'start-first', 'stop-first')]],
    ['another server', { server: 'edge-2' }, [entry('target.server', 'changed', 'edge-2', 'edge')]],
    ['deletion policy', { deletionPolicy: 'Delete' }, [entry('deletionPolicy', 'changed', 'Delete', 'Retain')]],
  ];
  for (const [what, spec, expected] of cases) it(what, () => assert.deepEqual(diffDeclaredAgainstFrozen(declared(spec), frozenWeb), expected));

  it('more replicas: the new containers are missing from the deployed input', () => {
    const frozen = render(serviceOf('worker', workerSpec));
    const more = render(serviceOf('worker', { ...workerSpec, replicas: 3 }, 2));
    assert.deepEqual(diffDeclaredAgainstFrozen(more, frozen), [
      entry('components[worker].replicas', 'changed', 3, 2),
      entry(`containers[${more.containers[2].name}]`, 'missing', { image: 'holdfast-test/busybox:1' }, undefined),
    ]);
    assert.deepEqual(diffDeclaredAgainstFrozen(frozen, more).map((e) => [e.path, e.kind]), [
      ['components[worker].replicas', 'changed'],
      [`containers[${more.containers[2].name}]`, 'unexpected'],
    ]);
  });

  it('a rotated Secret value shows by its hash only', () => {
    const rotated = renderFrozenInput(serviceOf('web', webSpec, 2), { resolveSecret: () => ({ hash: hashSecret('rotated-value') }) });
    const found = diffDeclaredAgainstFrozen(rotated, frozenWeb);
    assert.deepEqual(found, [
      entry(
        `containers[${WEB}].env.DB_PASSWORD`,
        'changed',
        { secretRef: { name: 'db', key: 'password' }, secretHash: sha256Hex('rotated-value') },
        { secretRef: { name: 'db', key: 'password' }, secretHash: sha256Hex(SECRET_VALUE) },
      ),
    ]);
    assert.ok(!JSON.stringify(found).includes('rotated-value') && !JSON.stringify(found).includes(SECRET_VALUE));
  });
});
