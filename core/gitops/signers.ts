// The trusted keys of a GitRepository's spec.verify. A Secret's values hold SSH public keys as
// `ssh-keygen` prints them (`ssh-ed25519 AAAA… comment`), one a line, or allowed-signers lines
// (`principals [options] key`), which become git's SSH allowed-signers file (a bare key is trusted
// for any committer); and OpenPGP public keys as `gpg --armor --export` prints them, which become a
// keyring. Pure.
const KEY = String.raw`(?:ssh-(?:ed25519|rsa|dss)|ecdsa-sha2-nistp(?:256|384|521)|sk-(?:ssh-ed25519|ecdsa-sha2-nistp256)@openssh\.com)\s+[A-Za-z0-9+/]+=*`;
const BARE_KEY = new RegExp(`^${KEY}(\\s|$)`);
const SIGNERS_LINE = new RegExp(`^\\S+\\s+(\\S+\\s+)?${KEY}(\\s|$)`);

/** allowed_signers text for `values` (lines that are neither are left out) and how many keys it trusts. */
export function allowedSigners(values: readonly string[]): { text: string; keys: number } {
  const lines: string[] = [];
  for (const value of values) {
    for (const raw of value.split('\n')) {
      const line = raw.trim();
      if (BARE_KEY.test(line)) lines.push(`* namespaces="git" ${line}`);
      else if (!line.startsWith('#') && SIGNERS_LINE.test(line)) lines.push(line);
    }
  }
  return { text: lines.length ? `${lines.join('\n')}\n` : '', keys: lines.length };
}

const PGP_BLOCK = /-----BEGIN PGP PUBLIC KEY BLOCK-----[\s\S]*?-----END PGP PUBLIC KEY BLOCK-----/g;

/** Every ASCII-armored OpenPGP public key block in `values`. */
export function pgpPublicKeys(values: readonly string[]): string[] {
  return values.flatMap((value) => value.match(PGP_BLOCK) ?? []);
}
