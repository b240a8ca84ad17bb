// Secret values leave the store only here, and only on their way to a host: the deployment executor
// calls resolveSecretValue for each `valueFrom.secretKeyRef` and `${secret:name/key}` it sends. The
// value opens only on its own row (the row identity is the sealed value's associated data), and the
// sealer reports it to the redactor as it opens.
import { HoldfastError } from '../core/errors.js';
import type { ResourceStore } from '../store/resource-store.js';
import { sealedValueAad, SealingError, type Sealer } from './sealing.js';

/** The plaintext of `key` in Secret `namespace/name`; a clear NotFound when either is missing. */
export async function resolveSecretValue(store: ResourceStore, sealer: Sealer, namespace: string, name: string, key: string): Promise<string> {
  return openSealedValue(store, sealer, 'Secret', namespace, name, key);
}

/** The plaintext of a sealed value of any write-only kind (Secret data, an SSHKey's privateKey). */
export async function openSealedValue(
  store: ResourceStore,
  sealer: Sealer,
  kind: 'Secret' | 'SSHKey',
  namespace: string | undefined,
  name: string,
  key: string,
): Promise<string> {
  const where = namespace ? `${namespace}/${name}` : name;
  const owner = await store.get(kind, namespace, name);
  if (!owner || !owner.metadata.uid) {
    throw new HoldfastError('NotFound', `${kind} "${where}" not found (needed for its key "${key}")`, { details: { kind, name } });
  }
  const values = await store.sealedValues(owner.metadata.uid);
  const row = values.find((v) => v.key === key);
  if (!row) {
    const keys = values.map((v) => v.key);
    throw new HoldfastError('NotFound', `${kind} "${where}" has no key "${key}" (its keys: ${keys.length ? keys.join(', ') : 'none'})`, {
      details: { kind, name },
    });
  }
  try {
    return sealer.open(row.ciphertext, sealedValueAad(kind, namespace, name, key));
  } catch (err) {
    if (err instanceof SealingError) throw new HoldfastError('InternalError', `${kind} "${where}" key "${key}" cannot be decrypted: ${err.message}`);
    throw err;
  }
}
