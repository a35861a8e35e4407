/**
 * How `sign` and `attest` sign, as one flag group: `--key KEY` (with its
 * password sources) signs with a key file; without it they sign keylessly,
 * as cosign does: an identity token (identity-token-options.ts), the
 * signing services (signing-options.ts) and the trusted root their answers
 * are checked against (`--trusted-root`).
 *
 * A keyless run's flags next to `--key` are refused rather than ignored: a
 * user who typed `--identity-token` with a key meant something else.
 *
 * `startSigning` is where the choice becomes a signer: the key decrypted
 * once, or one keyless run (token, then services, then Fulcio's
 * certificate, checked; sign/keyless-signing.ts), before any image is
 * touched. The keyless modules are imported only for a keyless run.
 */
import { invalid } from '../core/errors.ts';
import type { Signer } from '../keys/signer.ts';
import type { KeylessSigning } from '../sign/keyless-signing.ts';
import type { CliContext } from './context.ts';
import type { FlagGroup, FlagValues, Options } from './flags.ts';
import {
  IDENTITY_TOKEN_FLAGS,
  type IdentityTokenSettings,
  resolveIdentityToken,
} from './identity-token-options.ts';
import { loadSigner } from './attach-command.ts';
import { KEY_PASSWORD_HELP, KEY_PASSWORD_OPTIONS, type PasswordFlags } from './password.ts';
import { chooseSigningServices, SIGNING_FLAGS, type SigningSettings } from './signing-options.ts';

const SIGNER_OPTIONS = {
  key: { type: 'string' },
  ...KEY_PASSWORD_OPTIONS,
  ...IDENTITY_TOKEN_FLAGS.options,
  ...SIGNING_FLAGS.options,
  'trusted-root': { type: 'string' },
} as const satisfies Options;

/** What the signer flags ask for. */
export type SignerChoice =
  | { readonly kind: 'key'; readonly keyPath: string; readonly password: PasswordFlags }
  | {
      readonly kind: 'keyless';
      readonly identityToken: IdentityTokenSettings;
      readonly signing: SigningSettings;
      /** `--trusted-root`; undefined: the CLI's choice (cached through TUF, else shipped). */
      readonly trustedRoot: string | undefined;
    };

/** The flags of a keyless run, for the refusal next to --key. */
const KEYLESS_ONLY = [
  ...Object.keys(IDENTITY_TOKEN_FLAGS.options),
  ...Object.keys(SIGNING_FLAGS.options),
  'trusted-root',
] as const;

function readSignerChoice(values: FlagValues<typeof SIGNER_OPTIONS>): SignerChoice {
  const keyPath = values.key;
  if (keyPath !== undefined) {
    const keyless = KEYLESS_ONLY.find(
      (flag) => (values as Record<string, unknown>)[flag] !== undefined,
    );
    if (keyless !== undefined) {
      throw invalid(
        'USAGE',
        `--${keyless} is for keyless signing; with --key KEY the key signs and nothing is logged`,
      );
    }
    return { kind: 'key', keyPath, password: values };
  }
  if (values['password-file'] !== undefined) {
    throw invalid('USAGE', '--password-file decrypts --key KEY; keyless signing has no key file');
  }
  return {
    kind: 'keyless',
    identityToken: IDENTITY_TOKEN_FLAGS.read(values),
    signing: SIGNING_FLAGS.read(values),
    trustedRoot: values['trusted-root'],
  };
}

export const SIGNER_FLAGS = {
  options: SIGNER_OPTIONS,
  help: `Signing with a key:
      --key KEY               the private key: cosign's encrypted format, or a PEM key
${KEY_PASSWORD_HELP}

Signing keylessly (without --key): an OIDC identity token gets a Fulcio certificate for an
ephemeral key, each signature is logged in Rekor (and timestamped by a TSA when the signing
config names one); every answer is checked against the trusted root before anything is
written, and the certificate's identity is printed on stderr.
${IDENTITY_TOKEN_FLAGS.help}
${SIGNING_FLAGS.help}
      --trusted-root FILE     the Sigstore trusted root Fulcio's, Rekor's and the TSA's answers
                              must verify with (default: the one \`vouch trusted-root update\`
                              cached, else the public-good root shipped with vouch)`,
  read: readSignerChoice,
} as const satisfies FlagGroup<typeof SIGNER_OPTIONS, SignerChoice>;

/** A run's signer: a key's, or a keyless run's ephemeral key with the run. */
export interface Signing {
  readonly signer: Signer;
  readonly keyless?: KeylessSigning;
}

/**
 * The signer `choice` asks for, ready to sign: a key decrypted (`use`:
 * image signatures or attestations, see attach-command.ts `loadSigner`), or
 * a keyless run started, its identity said on stderr.
 */
export async function startSigning(
  context: CliContext,
  choice: SignerChoice,
  use: 'image' | 'attestation',
): Promise<Signing> {
  const { io } = context;
  if (choice.kind === 'key') {
    return { signer: await loadSigner(io, choice.keyPath, choice.password, use) };
  }
  const services = await chooseSigningServices(io, choice.signing, {
    cacheDir: context.dirs.cache,
    offline: context.offline,
    signal: context.signal,
  });
  const settings =
    choice.identityToken.oidcIssuer === undefined && services.oidcIssuer !== undefined
      ? { ...choice.identityToken, oidcIssuer: services.oidcIssuer.url }
      : choice.identityToken;
  const [{ SIGSTORE_AUDIENCE }, http] = await Promise.all([
    import('../sigstore/identity-token.ts'),
    context.http(),
  ]);
  const token = await resolveIdentityToken(io, settings, {
    audience: SIGSTORE_AUDIENCE,
    http,
    ...(context.signal === undefined ? {} : { signal: context.signal }),
  });
  const [root, { keylessTrustOf }, { startKeylessSigning }] = await Promise.all([
    context.trustedRoot(choice.trustedRoot),
    import('../sigstore/keyless-trust.ts'),
    import('../sign/keyless-signing.ts'),
  ]);
  const keyless = await startKeylessSigning({
    identityToken: token.token,
    services: {
      fulcioUrl: services.fulcio.url,
      rekorUrl: services.rekor?.url,
      tsaUrl: services.tsa?.url,
    },
    trust: keylessTrustOf(root, choice.trustedRoot ?? 'the trusted root'),
    ...(context.signal === undefined ? {} : { signal: context.signal }),
  });
  const { claims, notAfter } = keyless.certificate;
  const logged = services.rekor === undefined ? 'not logged' : `logged in ${services.rekor.url}`;
  io.stderr.write(
    `vouch: signed as ${claims.subject} (issuer ${claims.issuer}); certificate from ${services.fulcio.url}, valid until ${notAfter.toISOString()}; signatures ${logged}${services.tsa === undefined ? '' : `, timestamped by ${services.tsa.url}`}\n`,
  );
  return { signer: keyless.signer, keyless };
}
