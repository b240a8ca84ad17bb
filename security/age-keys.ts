// age keys as age-keygen writes them: comment lines, then one AGE-SECRET-KEY-1… line per identity.
const IDENTITY = /^AGE-SECRET-KEY-1[02-9AC-HJ-NP-Z]{58}$/;

/** The identities of an age key file, in order; lines that are not identities are left out. */
export function ageIdentities(text: string): string[] {
  return text
    .split('\n')
    .map((l) => l.trim())
    .filter((l) => IDENTITY.test(l));
}
