// What is wrong with manifests, each problem with its place. Apart from the loader (load.ts), so that
// printing an error does not load the schema validators.

export interface ManifestProblem {
  source: string;
  document?: number;
  field?: string;
  message: string;
}

export class ManifestError extends Error {
  constructor(readonly problems: ManifestProblem[]) {
    super(problems.map(formatProblem).join('\n'));
    this.name = 'ManifestError';
  }
}

export function formatProblem(p: ManifestProblem): string {
  let text = p.source;
  if (p.document !== undefined) text += `: document ${p.document}`;
  if (p.field) text += `: ${p.field}`;
  return `${text}: ${p.message}`;
}
