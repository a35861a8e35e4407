/**
 * Which Sigstore services a keyless signing run uses, with cosign's flag
 * names (sigstore/cosign cmd/cosign/cli/options/sign.go: `--signing-config`,
 * `--fulcio-url`, `--rekor-url`, `--timestamp-server-url`, `--tlog-upload`):
 *
 * - the signing config: `--signing-config FILE`, else the one `vouch
 *   trusted-root update` cached through TUF, else the public-good one
 *   shipped with vouch (sigstore/signing-config-source.ts);
 * - each URL flag replaces that one service of the config;
 * - URL flags without `--signing-config` are a private deployment: only the
 *   services they name, never mixed with the public-good ones (which would
 *   log a private deployment's identities in the public log);
 * - `--tlog-upload=false` logs nothing, and is accepted only when a
 *   timestamp authority remains to prove the signing time.
 *
 * cosign 3 refuses URL flags together with a signing config
 * (cmd/cosign/cli/signcommon/common.go `LoadTrustedMaterialAndSigningConfig`);
 * vouch lets a flag replace one service of it, so that pointing one service
 * elsewhere does not take writing a whole config.
 *
 * The config source and the TUF client are loaded only when
 * `chooseSigningServices` runs.
 */
import { invalid } from '../core/errors.ts';
import {
  selectSigningServices,
  serviceUrlProblem,
  type SigningConfig,
  type SigningServices,
  withServiceOverrides,
} from '../sigstore/signing-config.ts';
import type { SigningConfigOrigin } from '../sigstore/signing-config-source.ts';
import type { FlagGroup, FlagValues, Options } from './flags.ts';
import type { CliIO } from './io.ts';
import { USER_AGENT } from './options.ts';

const SIGNING_OPTIONS = {
  'signing-config': { type: 'string' },
  'fulcio-url': { type: 'string' },
  'rekor-url': { type: 'string' },
  'timestamp-server-url': { type: 'string' },
  // A string, so that cosign's `--tlog-upload=false` parses (a parseArgs
  // boolean takes no value).
  'tlog-upload': { type: 'string' },
} as const satisfies Options;

const SIGNING_HELP = `Signing services (keyless; cosign's names):
      --signing-config FILE   a Sigstore signing config (signing_config.v0.2.json) naming the
                              Fulcio CA, OIDC provider, Rekor logs and timestamp authorities
                              (default: the one \`vouch trusted-root update\` cached through
                              TUF, else the Sigstore public-good one shipped with vouch)
      --fulcio-url URL        the Fulcio CA that issues the signing certificate
      --rekor-url URL         the transparency log (a Rekor v1 API) the signature is logged in
      --timestamp-server-url URL
                              the RFC 3161 timestamp authority, its full URL
                              (e.g. https://timestamp.sigstore.dev/api/v1/timestamp)
      --tlog-upload=false     log nothing; only with a timestamp authority (default true)
Each URL flag replaces that one service of the signing config. Without --signing-config,
the URL flags alone are a private Sigstore deployment: only the services they name are
used (--fulcio-url, and --rekor-url or --timestamp-server-url), and --trusted-root FILE
must then name its keys (CA, CT log, Rekor, TSA) for the signature to verify. URLs are
https://, or http:// to a loopback host.`;

/** What the signing flags ask for; URLs are checked, files not yet read. */
export interface SigningSettings {
  readonly signingConfig: string | undefined;
  readonly fulcioUrl: string | undefined;
  readonly rekorUrl: string | undefined;
  readonly timestampServerUrl: string | undefined;
  /** false: `--tlog-upload=false`. */
  readonly tlogUpload: boolean;
}

type SigningValues = FlagValues<typeof SIGNING_OPTIONS>;

function readSigningSettings(values: SigningValues): SigningSettings {
  const url = (flag: 'fulcio-url' | 'rekor-url' | 'timestamp-server-url') => {
    const value = values[flag];
    if (value === undefined) return undefined;
    const problem = serviceUrlProblem(value);
    if (problem !== undefined) throw invalid('USAGE', `--${flag} ${problem}`);
    return value;
  };
  const tlog = values['tlog-upload'];
  if (tlog !== undefined && tlog !== 'true' && tlog !== 'false') {
    throw invalid('USAGE', `--tlog-upload must be true or false, not ${JSON.stringify(tlog)}`);
  }
  const settings = {
    signingConfig: values['signing-config'],
    fulcioUrl: url('fulcio-url'),
    rekorUrl: url('rekor-url'),
    timestampServerUrl: url('timestamp-server-url'),
    tlogUpload: tlog !== 'false',
  };
  if (!settings.tlogUpload && settings.rekorUrl !== undefined) {
    throw invalid('USAGE', 'give --rekor-url or --tlog-upload=false, not both');
  }
  return settings;
}

/** The signing service flags (sign and attest take them for keyless signing). */
export const SIGNING_FLAGS = {
  options: SIGNING_OPTIONS,
  help: SIGNING_HELP,
  read: readSigningSettings,
} as const satisfies FlagGroup<typeof SIGNING_OPTIONS, SigningSettings>;

export interface ChooseSigningServicesOptions {
  /** The trusted-root cache (context.ts `CliDirs.cache`), which holds the TUF-cached signing config. */
  readonly cacheDir: string;
  /** Never refresh an expired TUF cache. */
  readonly offline: boolean;
  /** The command's deadline, which a TUF refresh is held to too. */
  readonly signal?: AbortSignal | undefined;
  /**
   * Rekor major API versions the signer writes. Default [1]: a Rekor v1
   * entry is what cosign's `.sig` layers carry (its signed entry timestamp
   * proves the signing time); pass [1, 2] for a signer that also writes
   * Rekor v2 entries into Sigstore bundles.
   */
  readonly tlogMajorVersions?: readonly number[];
  /** The time services must be valid at; now by default. */
  readonly now?: Date;
}

/**
 * The services a keyless signing run uses: the signing config chosen as the
 * module comment says, with the URL flags applied, then selected as
 * sigstore-go selects (sigstore/signing-config.ts). Says on stderr when a
 * cached config was refreshed or is used expired. Throws `invalid` USAGE for
 * flag combinations that cannot sign, SIGNING_CONFIG_INVALID /
 * SIGNING_CONFIG_REQUIRED / TUF_CACHE_INVALID for configurations that
 * cannot, and a failed refresh's own error.
 */
export async function chooseSigningServices(
  io: CliIO,
  settings: SigningSettings,
  options: ChooseSigningServicesOptions,
): Promise<SigningServices> {
  const { fulcioUrl, rekorUrl, timestampServerUrl: tsaUrl, tlogUpload } = settings;
  const urlFlags = fulcioUrl !== undefined || rekorUrl !== undefined || tsaUrl !== undefined;
  let base: SigningConfig | undefined;
  let source: string;
  if (settings.signingConfig === undefined && urlFlags) {
    if (fulcioUrl === undefined) {
      throw invalid(
        'USAGE',
        'URL flags without --signing-config are a private Sigstore deployment, which needs --fulcio-url too',
      );
    }
    source = 'the services of the URL flags';
  } else {
    const { selectSigningConfig } = await import('../sigstore/signing-config-source.ts');
    const selected = await selectSigningConfig({
      file: settings.signingConfig,
      cacheDir: options.cacheDir,
      offline: options.offline,
      update: {
        userAgent: USER_AGENT,
        ...(options.signal === undefined ? {} : { signal: options.signal }),
      },
    });
    notice(io, selected.origin);
    base = selected.signingConfig;
    source = `${originName(selected.origin)}${urlFlags ? ' with the URL flags' : ''}`;
  }
  const config = withServiceOverrides(base, { fulcioUrl, rekorUrl, tsaUrl, tlogUpload });
  if (!tlogUpload && config.tsaUrls.length === 0) {
    throw invalid(
      'USAGE',
      `--tlog-upload=false needs a timestamp authority to prove when the signature was made, and ${source} names none: add --timestamp-server-url URL`,
    );
  }
  return selectSigningServices(config, {
    now: options.now ?? new Date(),
    tlogMajorVersions: options.tlogMajorVersions ?? [1],
    source,
  });
}

/** The signing config's origin, for messages. */
export function originName(origin: SigningConfigOrigin): string {
  switch (origin.kind) {
    case 'file':
      return `--signing-config ${origin.path}`;
    case 'tuf-cache':
      return `the signing config cached from ${origin.repository.mirrorUrl} (${origin.path})`;
    case 'shipped':
      return 'the Sigstore public-good signing config shipped with vouch';
  }
}

function notice(io: CliIO, origin: SigningConfigOrigin): void {
  if (origin.kind === 'tuf-cache' && origin.refreshed) {
    io.stderr.write(
      `vouch: the cached signing config's TUF timestamp had expired; refreshed it from ${origin.repository.mirrorUrl}\n`,
    );
  } else if (origin.kind === 'tuf-cache' && origin.expired) {
    io.stderr.write(
      `vouch: warning: using the cached signing config although its TUF timestamp expired at ${origin.repository.metadata.timestamp.expires} (--offline)\n`,
    );
  } else if (origin.kind === 'shipped' && origin.fallback !== undefined) {
    io.stderr.write(
      `vouch: ${origin.fallback}; using the public-good signing config shipped with vouch\n`,
    );
  }
}
