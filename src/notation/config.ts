/**
 * notation's configuration directory, `{NOTATION_CONFIG}`, and the OCI trust
 * policy in it (notation-go `dir/path.go`, `verifier/trustpolicy/oci.go`
 * `LoadOCIDocument`; notation `cmd/notation/main.go` reads $NOTATION_CONFIG).
 * The CLI passes the environment in; nothing here reads it.
 *
 * https://github.com/notaryproject/notation-go/blob/main/dir/path.go
 * https://notaryproject.dev/docs/user-guides/how-to/directory-structure/
 */
import { isAbsolute, join } from 'node:path';
import { invalid } from '../core/errors.ts';
import {
  MAX_TRUST_POLICY_BYTES,
  parseTrustPolicy,
  type TrustPolicyDocument,
} from '../formats/notation/trust-policy.ts';
import type {} from './error-codes.ts';
import { readRegularFile } from './files.ts';

export interface NotationConfigDirInput {
  /** $NOTATION_CONFIG: the directory itself, when set and not empty. */
  readonly notationConfig?: string | undefined;
  /** $XDG_CONFIG_HOME: used when absolute, as Go's os.UserConfigDir does on Linux. */
  readonly xdgConfigHome?: string | undefined;
  /** The home directory: `~/.config/notation` otherwise. */
  readonly home: string;
}

/**
 * `{NOTATION_CONFIG}`: $NOTATION_CONFIG, else `$XDG_CONFIG_HOME/notation`,
 * else `~/.config/notation`. Go's os.UserConfigDir fails on a relative
 * $XDG_CONFIG_HOME and notation then falls back to `./.notation`; vouch
 * ignores it instead, as the XDG Base Directory spec asks, rather than trust
 * a policy in whatever directory it runs in.
 */
export function notationConfigDir(input: NotationConfigDirInput): string {
  if (input.notationConfig !== undefined && input.notationConfig !== '')
    return input.notationConfig;
  const xdg = input.xdgConfigHome;
  if (xdg !== undefined && isAbsolute(xdg)) return join(xdg, 'notation');
  return join(input.home, '.config', 'notation');
}

/** dir/path.go `PathOCITrustPolicy`, read first. */
export const TRUST_POLICY_FILE = 'trustpolicy.oci.json';
/** dir/path.go `PathTrustPolicy`, read when the first does not exist. */
export const LEGACY_TRUST_POLICY_FILE = 'trustpolicy.json';

export interface LoadedTrustPolicy {
  /** The file it came from. */
  readonly path: string;
  readonly policy: TrustPolicyDocument;
}

/**
 * Reads and validates the OCI trust policy of `configDir`:
 * `trustpolicy.oci.json`, or `trustpolicy.json` when the first does not
 * exist (only then: a first one that is a symbolic link or unreadable is an
 * error, as in notation). Throws `invalid` NOTATION_TRUST_POLICY_NOT_FOUND
 * when neither exists, NOTATION_TRUST_POLICY_UNREADABLE for a file notation
 * would not read (a symbolic link, not a regular file, over 1 MiB), and
 * NOTATION_TRUST_POLICY_INVALID for one it refuses.
 */
export async function loadTrustPolicy(configDir: string): Promise<LoadedTrustPolicy> {
  for (const file of [TRUST_POLICY_FILE, LEGACY_TRUST_POLICY_FILE]) {
    const path = join(configDir, file);
    const bytes = await readRegularFile(path, MAX_TRUST_POLICY_BYTES, (problem, cause) =>
      invalid(
        'NOTATION_TRUST_POLICY_UNREADABLE',
        `trust policy ${path} ${problem}`,
        cause === undefined ? undefined : { cause },
      ),
    );
    if (bytes !== undefined) return { path, policy: parseTrustPolicy(bytes, { source: path }) };
  }
  throw invalid(
    'NOTATION_TRUST_POLICY_NOT_FOUND',
    `no trust policy in ${configDir}: neither ${TRUST_POLICY_FILE} nor ${LEGACY_TRUST_POLICY_FILE} exists (https://notaryproject.dev/docs/quickstart/#create-a-trust-policy)`,
  );
}

/**
 * Reads and validates the trust policy file a user named (`--trust-policy`).
 * Unlike notation's own directory, a symbolic link is followed: the user
 * chose the file. Throws as `loadTrustPolicy` does.
 */
export async function loadTrustPolicyFile(path: string): Promise<LoadedTrustPolicy> {
  const bytes = await readRegularFile(
    path,
    MAX_TRUST_POLICY_BYTES,
    (problem, cause) =>
      invalid(
        'NOTATION_TRUST_POLICY_UNREADABLE',
        `trust policy ${path} ${problem}`,
        cause === undefined ? undefined : { cause },
      ),
    { followLinks: true },
  );
  if (bytes === undefined) {
    throw invalid('NOTATION_TRUST_POLICY_NOT_FOUND', `trust policy ${path} does not exist`);
  }
  return { path, policy: parseTrustPolicy(bytes, { source: path }) };
}
