/**
 * The options `vouch verify` and `vouch verify-attestation` share for
 * choosing who may have signed: `--key` files, or a keyless certificate
 * identity with cosign's option names (sigstore/cosign
 * cmd/cosign/cli/options/certificate.go), checked against the trust root of
 * `--trusted-root` or the Sigstore public-good root shipped with vouch.
 * Exactly one of the two modes; keyless needs an identity and an issuer
 * option, as cosign requires.
 */
import { invalid } from '../core/errors.ts';
import type {
  CertificateIdentity,
  exactly,
  GithubWorkflowClaims,
  matchingRegexp,
  ValueMatcher,
} from '../sigstore/certificate-identity.ts';
import type { KeylessSigner } from '../sigstore/keyless.ts';
import type { FlagGroup, FlagValues, Options } from './flags.ts';
import { keyName } from './verify-output.ts';

const KEYLESS_OPTIONS = {
  'certificate-identity': { type: 'string' },
  'certificate-identity-regexp': { type: 'string' },
  'certificate-oidc-issuer': { type: 'string' },
  'certificate-oidc-issuer-regexp': { type: 'string' },
  'certificate-github-workflow-trigger': { type: 'string' },
  'certificate-github-workflow-sha': { type: 'string' },
  'certificate-github-workflow-name': { type: 'string' },
  'certificate-github-workflow-repository': { type: 'string' },
  'certificate-github-workflow-ref': { type: 'string' },
  'trusted-root': { type: 'string' },
} as const satisfies Options;

const KEYLESS_HELP = `Keyless options (instead of --key; cosign's names and meanings):
      --certificate-identity ID
                              the certificate's identity (SAN: a workflow URI, an email),
                              exactly
      --certificate-identity-regexp RE
                              the identity matches RE (Go's RE2 syntax, as cosign's);
                              anchored: RE must match all of it
      --certificate-oidc-issuer URL
                              the OIDC issuer that vouched for the identity, exactly
      --certificate-oidc-issuer-regexp RE
                              the issuer matches RE, anchored
      --certificate-github-workflow-trigger|-sha|-name|-repository|-ref VALUE
                              the certificate's GitHub Actions claim, exactly
Keylessly, --trusted-root FILE (default: the Sigstore public-good root shipped with vouch,
no network needed) holds the CAs, CT logs and transparency logs to check against.`;

type KeylessValues = FlagValues<typeof KEYLESS_OPTIONS>;

/** What the keyless options ask for: an identity (undefined: none given) and a trusted root file. */
export interface KeylessSettings {
  readonly identity: CertificateIdentity | undefined;
  readonly trustedRoot: string | undefined;
}

/** The keyless options of `command` (named in its usage errors). */
export function keylessFlags(command: string) {
  return {
    options: KEYLESS_OPTIONS,
    help: KEYLESS_HELP,
    read: async (values): Promise<KeylessSettings> => ({
      identity: await certificateIdentityOf(values, command),
      trustedRoot: values['trusted-root'],
    }),
  } as const satisfies FlagGroup<typeof KEYLESS_OPTIONS, KeylessSettings>;
}

const GITHUB_CLAIMS: ReadonlyArray<readonly [keyof GithubWorkflowClaims, keyof KeylessValues]> = [
  ['trigger', 'certificate-github-workflow-trigger'],
  ['sha', 'certificate-github-workflow-sha'],
  ['name', 'certificate-github-workflow-name'],
  ['repository', 'certificate-github-workflow-repository'],
  ['ref', 'certificate-github-workflow-ref'],
];

/** The options that name an identity (all but --trusted-root). */
const IDENTITY_FLAGS: ReadonlyArray<keyof KeylessValues> = [
  'certificate-identity',
  'certificate-identity-regexp',
  'certificate-oidc-issuer',
  'certificate-oidc-issuer-regexp',
  ...GITHUB_CLAIMS.map(([, flag]) => flag),
];

interface Matchers {
  readonly exactly: typeof exactly;
  readonly matchingRegexp: typeof matchingRegexp;
}

/**
 * The certificate identity the keyless options ask for; undefined when none
 * is given. Throws `invalid` USAGE for an incomplete or contradictory set.
 */
async function certificateIdentityOf(
  values: KeylessValues,
  command: string,
): Promise<CertificateIdentity | undefined> {
  if (IDENTITY_FLAGS.every((flag) => values[flag] === undefined)) return undefined;
  // Loaded only with keyless options: verifying with --key never matches identities.
  const matchers = await import('../sigstore/certificate-identity.ts');
  const subject = matcher(
    matchers,
    values['certificate-identity'],
    values['certificate-identity-regexp'],
    'certificate-identity',
  );
  const issuer = matcher(
    matchers,
    values['certificate-oidc-issuer'],
    values['certificate-oidc-issuer-regexp'],
    'certificate-oidc-issuer',
  );
  const github: Partial<Record<keyof GithubWorkflowClaims, string>> = {};
  for (const [claim, flag] of GITHUB_CLAIMS) {
    const value = values[flag];
    if (value !== undefined) github[claim] = value;
  }
  if (subject === undefined || issuer === undefined) {
    throw invalid(
      'USAGE',
      `keyless ${command} needs both --certificate-identity (or --certificate-identity-regexp) and --certificate-oidc-issuer (or --certificate-oidc-issuer-regexp)`,
    );
  }
  return { subject, issuer, ...(Object.keys(github).length === 0 ? {} : { github }) };
}

function matcher(
  { exactly, matchingRegexp }: Matchers,
  exact: string | undefined,
  regexp: string | undefined,
  flag: string,
): ValueMatcher | undefined {
  if (exact !== undefined && regexp !== undefined) {
    throw invalid('USAGE', `give --${flag} or --${flag}-regexp, not both`);
  }
  if (exact !== undefined) {
    if (exact === '') throw invalid('USAGE', `--${flag} must not be empty`);
    return exactly(exact);
  }
  if (regexp !== undefined) {
    if (regexp === '') throw invalid('USAGE', `--${flag}-regexp must not be empty`);
    return matchingRegexp(regexp, `--${flag}-regexp`);
  }
  return undefined;
}

/**
 * Checks that exactly one of --key and the keyless identity options was
 * given. Throws `invalid` USAGE otherwise.
 */
export function requireOneMode(
  keyPaths: readonly string[],
  identity: CertificateIdentity | undefined,
  command: string,
): void {
  if (keyPaths.length > 0 && identity !== undefined) {
    throw invalid(
      'USAGE',
      `${command}: give --key or the --certificate-* options, not both (a key signature and a keyless one are verified differently)`,
    );
  }
  if (keyPaths.length === 0 && identity === undefined) {
    throw invalid(
      'USAGE',
      `${command} needs --key FILE, or --certificate-identity and --certificate-oidc-issuer for keyless signatures`,
    );
  }
}

/** Who signed, for a report: the --key file, or the certificate's identity and issuer. */
export function signerName(
  keyPaths: readonly string[],
  signedBy: { readonly key?: number; readonly certificate?: KeylessSigner },
): string {
  if (signedBy.certificate !== undefined) {
    const { subject, issuer } = signedBy.certificate.claims;
    return `certificate for ${subject} (issuer ${issuer})`;
  }
  return keyName(keyPaths, signedBy.key ?? -1);
}

/** The keyless signer as JSON: identity, issuer, claims, signing time and log entries. */
export function certificateJson(signer: KeylessSigner) {
  return {
    identity: signer.claims.subject,
    issuer: signer.claims.issuer,
    githubWorkflow: signer.claims.github,
    signingTime: new Date(signer.signingTime * 1000).toISOString(),
    tlog: signer.tlog.map((entry) => ({
      logId: entry.logId,
      logUrl: entry.logUrl ?? null,
      logIndex: entry.logIndex,
      integratedTime: entry.integratedTime,
    })),
  };
}

/** `, logged in <log> at <time> (index N)` for a keyless signer; '' for a key. */
export function loggedText(signer: KeylessSigner | undefined): string {
  const entry = signer?.tlog[0];
  if (signer === undefined || entry === undefined) return '';
  const at = new Date(signer.signingTime * 1000).toISOString();
  return `, logged in ${entry.logUrl ?? `log ${entry.logId}`} at ${at} (index ${entry.logIndex})`;
}
