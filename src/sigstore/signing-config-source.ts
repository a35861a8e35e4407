/**
 * Which Sigstore signing config keyless signing uses, in this order (as
 * trusted-root-source.ts chooses the trusted root):
 *
 * 1. a file the caller names (`--signing-config FILE`: a private deployment);
 * 2. the signing config `vouch trusted-root update` cached through TUF, from
 *    the repository whose trusted root verification uses;
 * 3. the public-good signing config shipped with vouch
 *    (`public-good-signing-config.ts`).
 *
 * When the cached repository has no usable signing config: for the
 * public-good repository the shipped one stands in (it is that repository's
 * own document, as of vouch's release); for any other repository it is an
 * error, since falling back to the public-good services would send a private
 * deployment's signatures, and the identities in them, to the public
 * instance.
 *
 * As for the trusted root, a cache whose TUF timestamp has expired is
 * refreshed once first (never with `offline`), and the TUF client is loaded
 * only for that refresh.
 *
 * Errors (VouchError): `invalid` SIGNING_CONFIG_INVALID (the file),
 * TUF_CACHE_INVALID (the cache), SIGNING_CONFIG_REQUIRED (a private
 * repository without one); a failed refresh keeps its own code.
 */
import { isVouchError, invalid, VouchError } from '../core/errors.ts';
import { readKeyFile } from '../keys/files.ts';
import { PUBLIC_GOOD_TUF_URL } from './public-good.ts';
import {
  PUBLIC_GOOD_SIGNING_CONFIG_URL,
  publicGoodSigningConfig,
} from './public-good-signing-config.ts';
import { parseSigningConfig, type SigningConfig } from './signing-config.ts';
import {
  type CachedTufRepository,
  cacheInvalid,
  readCacheFile,
  readCurrentTufRepository,
  SIGNING_CONFIG_TARGET,
  tufExpired,
} from './tuf-cache.ts';
import type { TufUpdateOptions, TufUpdateResult } from './tuf-update.ts';

export type SigningConfigOrigin =
  | { readonly kind: 'file'; readonly path: string }
  | {
      readonly kind: 'tuf-cache';
      readonly path: string;
      readonly repository: CachedTufRepository;
      /** The cache was refreshed through TUF just now, its timestamp having expired. */
      readonly refreshed: boolean;
      /** The TUF timestamp has expired and the config was used anyway (offline). */
      readonly expired: boolean;
    }
  | {
      readonly kind: 'shipped';
      /** Where the shipped document was published. */
      readonly url: string;
      /** Why the cached public-good repository's own was not used, when there is a cache. */
      readonly fallback?: string;
    };

export interface SelectedSigningConfig {
  readonly signingConfig: SigningConfig;
  readonly origin: SigningConfigOrigin;
}

export interface SelectSigningConfigOptions {
  /** A signing_config.v0.2.json to use instead of any other. */
  readonly file?: string | undefined;
  /** The vouch cache directory `vouch trusted-root update` writes to. */
  readonly cacheDir: string;
  /** Never touch the network. */
  readonly offline: boolean;
  /** The time TUF expiry is judged at; now by default. */
  readonly now?: Date;
  /** Options for the refresh of an expired cache (timeout, deadline, user agent). */
  readonly update?: Pick<TufUpdateOptions, 'timeoutMs' | 'signal' | 'userAgent'>;
  /** Replaces the TUF update (for tests); default `updateTrustedRoot`. */
  readonly refresh?: (options: TufUpdateOptions) => Promise<TufUpdateResult>;
}

/** The signing config keyless signing uses now, and where it came from. */
export async function selectSigningConfig(
  options: SelectSigningConfigOptions,
): Promise<SelectedSigningConfig> {
  if (options.file !== undefined) {
    const path = options.file;
    return {
      signingConfig: parseSigningConfig(await readKeyFile(path, '--signing-config'), path),
      origin: { kind: 'file', path },
    };
  }
  const repository = await readCurrentTufRepository(options.cacheDir);
  if (repository === undefined) return shipped();
  const expired = tufExpired(repository.metadata.timestamp.expires, options.now ?? new Date());
  if (!expired || options.offline) {
    const bytes = await readCacheFile(repository.signingConfigPath);
    if (bytes === undefined) return withoutSigningConfig(repository);
    return {
      signingConfig: readCachedSigningConfig(bytes, repository.signingConfigPath),
      origin: {
        kind: 'tuf-cache',
        path: repository.signingConfigPath,
        repository,
        refreshed: false,
        expired,
      },
    };
  }
  const refresh = options.refresh ?? (await import('./tuf-update.ts')).updateTrustedRoot;
  let updated: TufUpdateResult;
  try {
    updated = await refresh({
      ...options.update,
      cacheDir: options.cacheDir,
      mirrorUrl: repository.mirrorUrl,
    });
  } catch (error) {
    if (!isVouchError(error)) throw error;
    throw new VouchError(
      error.category,
      error.code,
      `the cached Sigstore signing config's TUF timestamp expired at ${repository.metadata.timestamp.expires} and refreshing it failed: ${error.message}`,
      { cause: error },
    );
  }
  const result = updated.signingConfig;
  if (result.status !== 'cached') {
    return withoutSigningConfig(
      updated.repository,
      result.status === 'unusable' ? result.problem : undefined,
    );
  }
  return {
    signingConfig: result.signingConfig,
    origin: {
      kind: 'tuf-cache',
      path: result.path,
      repository: updated.repository,
      refreshed: true,
      expired: false,
    },
  };
}

function shipped(fallback?: string): SelectedSigningConfig {
  return {
    signingConfig: publicGoodSigningConfig(),
    origin: {
      kind: 'shipped',
      url: PUBLIC_GOOD_SIGNING_CONFIG_URL,
      ...(fallback === undefined ? {} : { fallback }),
    },
  };
}

/** The cached repository has no usable signing config: the shipped one for public good, else an error. */
function withoutSigningConfig(
  repository: CachedTufRepository,
  problem?: string,
): SelectedSigningConfig {
  const what = `the TUF repository ${repository.mirrorUrl} has no usable ${SIGNING_CONFIG_TARGET}${problem === undefined ? '' : ` (${problem})`}`;
  if (repository.mirrorUrl === PUBLIC_GOOD_TUF_URL) return shipped(what);
  throw invalid(
    'SIGNING_CONFIG_REQUIRED',
    `${what}, so vouch does not know which Fulcio, Rekor and timestamp authority that Sigstore deployment signs with: pass --signing-config FILE, or --fulcio-url with --rekor-url or --timestamp-server-url`,
  );
}

function readCachedSigningConfig(bytes: Uint8Array, path: string): SigningConfig {
  try {
    return parseSigningConfig(bytes, 'it');
  } catch (error) {
    if (!isVouchError(error)) throw error;
    throw cacheInvalid(path, error.message);
  }
}
