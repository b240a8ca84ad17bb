// The one Service a rollout, sync or drift command acts on: `service/web` or `service web`, with its
// project from -n, as kubectl names a deployment for `rollout`; or just `web`, since these commands
// act on Services only.
import { HoldfastError } from '../core/errors.js';
import { lookupKind } from '../core/resource.js';
import { resolveKind } from './resource-args.js';

export interface ServiceRef {
  namespace: string;
  name: string;
  /** `service/web`: how progress lines name it. */
  label: string;
}

export function parseServiceArg(args: readonly string[], namespace: string | undefined, verb: string): ServiceRef {
  const { name } = parseNamespacedArg(args, namespace, verb, { kind: 'Service', example: 'service/web', words: ['service', 'services'] });
  return { namespace: namespace!, name, label: `service/${name}` };
}

/**
 * The one namespaced object a command acts on: `KIND/NAME`, `KIND NAME` (any name kubectl would
 * accept for the kind: `backuppolicy/web-data`, `bp/web-data`) or a bare `NAME`, its project from -n.
 */
export function parseNamespacedArg(
  args: readonly string[],
  namespace: string | undefined,
  verb: string,
  expected: { kind: string; example: string; words: [singular: string, plural: string] },
): { namespace: string; name: string } {
  const [singular, plural] = expected.words;
  const form = `${expected.example.split('/')[0]}/NAME`;
  let kindText: string;
  let name: string;
  if (args.length === 1 && args[0].includes('/')) {
    const slash = args[0].indexOf('/');
    kindText = args[0].slice(0, slash);
    name = args[0].slice(slash + 1);
  } else if (args.length === 2 && !args.some((a) => a.includes('/'))) {
    [kindText, name] = args;
  } else if (args.length === 1 && !lookupKind(args[0])) {
    // A bare NAME: the command acts on this one kind (a kind's word alone is a name left out).
    kindText = expected.kind;
    name = args[0];
  } else if (args.length <= 1) {
    throw new HoldfastError('BadRequest', `${verb} needs a ${singular}: pass ${form}, e.g. ${expected.example} -n shop`);
  } else {
    throw new HoldfastError('BadRequest', `${verb} acts on one ${singular}: pass ${form} or ${form.replace('/', ' ')} (got "${args.join(' ')}")`);
  }
  if (!kindText || !name) throw new HoldfastError('BadRequest', `${verb}: "${args.join(' ')}" is not in the form ${form}`);
  const kind = resolveKind(kindText);
  if (kind.kind !== expected.kind) throw new HoldfastError('BadRequest', `${verb} works on ${plural} only, not ${kind.plural}`);
  if (!namespace) throw new HoldfastError('BadRequest', `${singular} "${name}" is namespaced: pass -n PROJECT to name its project`);
  return { namespace, name };
}
