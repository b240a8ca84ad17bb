// A frozen input with only the fields a test reads: store and API tests keep records, they do not
// roll them out, so the rest of a FrozenInput would be noise.
import type { FrozenInput } from '../../core/deploy/container-spec.js';

export const partialFrozen = (fields: Record<string, unknown> = {}): FrozenInput => fields as unknown as FrozenInput;
