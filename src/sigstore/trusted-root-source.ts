/**
 * Which Sigstore trusted root verification uses, in this order:
 *
 * 1. a file the caller names (`--trusted-root FILE`: a private deployment);
 * 2. the root `vouch trusted-root update` cached through TUF, if it ran;
 * 3. the public-good root shipped with vouch (`public-good.ts`).
 *
 * Verification fetches no trust material, with one exception: when the
 * cached root's TUF timestamp has expired, the cache is refreshed once from
 * its repository first, because TUF's expiry is what bounds how long a
 * revoked key can still be presented as trusted (a freeze attack, TUF
 * specification §5.4.4). With `offline`, nothing is fetched: an expired
 * cached root is used as it is, and the result says it expired.
 *
 * The TUF client is loaded only for that refresh.
 */
import { isVouchError, invalid, VouchError } from '../core/errors.ts';
import { readKeyFile } from '../keys/files.ts';
import { publicGoodSeedsPath, publicGoodTrustedRoot } from './public-good.ts';
import { type CachedTufRepository, readCurrentTufRepository, tufExpired } from './tuf-cache.ts';
import type { TufUpdateOptions, TufUpdateResult } from './tuf-update.ts';
import { parseTrustedRoot, type TrustedRoot } from './trusted-root.ts';
import { readFile } from 'node:fs/promises';

export type TrustedRootOrigin =
  | { readonly kind: 'file'; readonly path: string }
  | {
      readonly kind: 'tuf-cache';
      readonly path: string;
      readonly repository: CachedTufRepository;
      /** The cache was refreshed through TUF just now, its timestamp having expired. */
      readonly refreshed: boolean;
      /** The TUF timestamp has expired and the root was used anyway (offline). */
      readonly expired: boolean;
    }
  | { readonly kind: 'shipped'; readonly path: string };

export interface SelectedTrustedRoot {
  readonly trustedRoot: TrustedRoot;
  readonly origin: TrustedRootOrigin;
}

export interface SelectTrustedRootOptions {
  /** A trusted_root.json to use instead of any other. */
  readonly file?: string;
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

/** The trusted root verification uses now, and where it came from. */
export async function selectTrustedRoot(
  options: SelectTrustedRootOptions,
): Promise<SelectedTrustedRoot> {
  if (options.file !== undefined) {
    const path = options.file;
    return {
      trustedRoot: parseTrustedRoot(await readKeyFile(path, '--trusted-root'), path),
      origin: { kind: 'file', path },
    };
  }
  const repository = await readCurrentTufRepository(options.cacheDir);
  if (repository === undefined) {
    return {
      trustedRoot: await publicGoodTrustedRoot(),
      origin: { kind: 'shipped', path: publicGoodSeedsPath() },
    };
  }
  const expired = tufExpired(repository.metadata.timestamp.expires, options.now ?? new Date());
  if (!expired || options.offline) {
    return {
      trustedRoot: await readCachedTrustedRoot(repository),
      origin: {
        kind: 'tuf-cache',
        path: repository.trustedRootPath,
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
      `the cached Sigstore trusted root's TUF timestamp expired at ${repository.metadata.timestamp.expires} and refreshing it failed: ${error.message} (use --offline to verify with the expired cached root)`,
      { cause: error },
    );
  }
  return {
    trustedRoot: updated.trustedRoot,
    origin: {
      kind: 'tuf-cache',
      path: updated.repository.trustedRootPath,
      repository: updated.repository,
      refreshed: true,
      expired: false,
    },
  };
}

async function readCachedTrustedRoot(repository: CachedTufRepository): Promise<TrustedRoot> {
  const path = repository.trustedRootPath;
  try {
    return parseTrustedRoot(await readFile(path), path);
  } catch (error) {
    const problem = isVouchError(error) ? error.message : String(error);
    throw invalid(
      'TUF_CACHE_INVALID',
      `the cached TUF trust material is unusable: ${problem}; run \`vouch trusted-root update\` again or remove ${path}`,
      { cause: error },
    );
  }
}
