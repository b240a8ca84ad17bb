// The one Service a rollout, sync or drift command acts on: `service/web` or `service web`, with its
// project from -n, as kubectl names a deployment for `rollout`.
import { HoldfastError } from '../core/errors.js';
import { resolveKind } from './resource-args.js';

export interface ServiceRef {
  namespace: string;
  name: string;
  /** `service/web`: how progress lines name it. */
  label: string;
}

export function parseServiceArg(args: readonly string[], namespace: string | undefined, verb: string): ServiceRef {
  let kindText: string;
  let name: string;
  if (args.length === 1 && args[0].includes('/')) {
    const slash = args[0].indexOf('/');
    kindText = args[0].slice(0, slash);
    name = args[0].slice(slash + 1);
  } else if (args.length === 2 && !args.some((a) => a.includes('/'))) {
    [kindText, name] = args;
  } else if (args.length === 0) {
    throw new HoldfastError('BadRequest', `${verb} needs a service: pass service/NAME, e.g. service/web -n shop`);
  } else {
    throw new HoldfastError('BadRequest', `${verb} acts on one service: pass service/NAME or service NAME (got "${args.join(' ')}")`);
  }
  if (!kindText || !name) throw new HoldfastError('BadRequest', `${verb}: "${args.join(' ')}" is not in the form service/NAME`);
  const kind = resolveKind(kindText);
  if (kind.kind !== 'Service') throw new HoldfastError('BadRequest', `${verb} works on services only, not ${kind.plural}`);
  if (!namespace) throw new HoldfastError('BadRequest', `service "${name}" is namespaced: pass -n PROJECT to name its project`);
  return { namespace, name, label: `service/${name}` };
}
