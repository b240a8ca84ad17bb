// Where the tests' kubectl is: $HOLDFAST_KUBECTL, else the kubectl 1.20 that
// `scripts/setup.sh test` unpacks into .tools/bin.
import { accessSync, constants } from 'node:fs';
import { join } from 'node:path';
import { packageRoot } from '../../core/package-root.js';

export function kubectlPath(): string {
  const path = process.env.HOLDFAST_KUBECTL || join(packageRoot(), '.tools', 'bin', 'kubectl');
  try {
    accessSync(path, constants.X_OK);
  } catch {
    throw new Error(`kubectl not found at ${path}: run 'bash scripts/setup.sh test' (or set HOLDFAST_KUBECTL)`);
  }
  return path;
}
