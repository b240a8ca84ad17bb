import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { parseForArg, parseResourceArgs, requireNamespace } from '../../../cli/resource-args.js';
import { kindInfo } from '../../../core/resource.js';

const show = (args: string[]) => parseResourceArgs(args).map((s) => `${s.kind.kind}:${s.names.join('+')}`);

describe('parseResourceArgs reads arguments as kubectl does', () => {
  const table: Array<[string[], string[]]> = [
    [['services'], ['Service:']],
    [['svc', 'web', 'api'], ['Service:web+api']],
    [['service.holdfast.dev', 'web'], ['Service:web']],
    [['Service', 'web'], ['Service:web']],
    [['services,servers'], ['Service:', 'Server:']],
    [['all'], ['Project:', 'Server:', 'Service:', 'BackupPolicy:']],
    [['service/web', 'server/edge-1', 'svc/api'], ['Service:web+api', 'Server:edge-1']],
    [['ev'], ['Event:']],
  ];
  for (const [args, expected] of table) test(args.join(' '), () => assert.deepEqual(show(args), expected));

  const errors: Array<[string[], RegExp]> = [
    [[], /you must specify the type of resource/],
    [['deployments'], /the server doesn't have a resource type "deployments"/],
    [['services,servers', 'web'], /names can be given with one resource type only/],
    [['service/web', 'api'], /resource\/name form/],
    [['service', 'service/web'], /pass either TYPE NAME or TYPE\/NAME/],
  ];
  for (const [args, re] of errors) test(`rejects ${JSON.stringify(args)}`, () => assert.throws(() => parseResourceArgs(args), re));
});

test('--for', () => {
  const target = parseForArg('svc/web');
  assert.equal(target.kind.kind, 'Service');
  assert.equal(target.name, 'web');
  assert.throws(() => parseForArg('web'), /--for takes TYPE\/NAME/);
});

test('a namespaced object needs -n; a cluster-scoped one ignores it', () => {
  assert.throws(() => requireNamespace(kindInfo('Service')!, 'web', undefined), /service "web" is namespaced: pass -n PROJECT/);
  assert.equal(requireNamespace(kindInfo('Service')!, 'web', 'shop'), 'shop');
  assert.equal(requireNamespace(kindInfo('Server')!, 'edge-1', 'shop'), undefined);
});
