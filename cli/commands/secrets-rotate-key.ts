// `holdfast secrets rotate-key`: asks the running server to rotate the encryption key and re-encrypt
// every sealed value (the server keeps serving throughout). Run it again after an interruption: it
// finishes the rotation that was cut short.
import { API_VERSION } from '../../core/resource.js';
import { EXIT_ERROR, EXIT_OK, type CommandContext } from '../context.js';
import { toJson, toYaml } from '../printers.js';
import { HoldfastError } from '../../core/errors.js';

interface RotationResult {
  keyId: string;
  previousKeyIds: string[];
  resumed: boolean;
  resealed: number;
  unopened: Array<{ kind: string; namespace?: string; name: string; key: string; reason: string }>;
}

export async function runRotateKey(ctx: CommandContext, flags: { output?: string }): Promise<number> {
  if (flags.output !== undefined && flags.output !== 'json' && flags.output !== 'yaml') {
    throw new HoldfastError('BadRequest', `--output must be json or yaml (got "${flags.output}")`);
  }
  const client = await ctx.client();
  const result = (await client.request({ method: 'POST', path: `/apis/${API_VERSION}/encryptionkey/rotate` })) as RotationResult;
  if (flags.output === 'json') ctx.out(toJson(result));
  else if (flags.output === 'yaml') ctx.out(toYaml(result));
  else {
    ctx.out(
      `${result.resumed ? 'finished the interrupted rotation to' : 'rotated to new'} key ${result.keyId}: re-encrypted ${result.resealed} value${result.resealed === 1 ? '' : 's'}` +
        ` (older keys kept for reading: ${result.previousKeyIds.join(', ') || 'none'})\n`,
    );
  }
  for (const u of result.unopened) {
    ctx.err(`warning: ${u.kind} ${u.namespace ? `${u.namespace}/` : ''}${u.name} key "${u.key}" could not be re-encrypted: ${u.reason}\n`);
  }
  if (result.unopened.length) {
    ctx.err('Set those values again (holdfast secret set …), then run `holdfast secrets rotate-key` again.\n');
    return EXIT_ERROR;
  }
  return EXIT_OK;
}
