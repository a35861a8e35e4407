/**
 * Refreshes the Sigstore trusted root through TUF (The Update Framework):
 * the client workflow of the TUF specification §5 as tuf-js implements it
 * (root rotation, timestamp, snapshot, targets, each signature-, version-
 * and expiry-checked, then the `trusted_root.json` target checked against
 * its length and hashes), into a cache directory laid out by `tuf-cache.ts`.
 *
 * tuf-js's `Updater` writes each file as soon as it has verified it. So that
 * a failed update leaves the cache as it was, the update runs in a private
 * staging directory seeded with the cached metadata (which tuf-js needs for
 * its rollback checks); only when everything verified, and the target parsed
 * as a trusted root vouch can use, are the files moved into the cache (each
 * atomically, the target last) and the repository made current.
 *
 * The `signing_config.v0.2.json` target (where keyless signing sends its
 * requests) is fetched and verified the same way when the repository lists
 * it. A repository without one still updates (the result says so, and the
 * cache keeps no signing config for it); one the targets metadata lists but
 * vouch cannot read is reported and not cached, but does not fail the
 * update, since verification refreshes trusted roots through this update and
 * must not depend on signing's configuration. A signing config that fails
 * TUF's own checks (hash, length) fails the update like the trusted root.
 *
 * Where to start trusting: the repository's cached root when there is one
 * (it followed the root rotations since), else the caller's `initialRoot`,
 * else, for the public-good repository only, the root embedded in
 * @sigstore/tuf's seeds. This is @sigstore/tuf's rule (`dist/client.js
 * seedCache`: the given root only seeds an empty cache).
 *
 * tuf-js is loaded only here, resolved from @sigstore/tuf's own dependencies
 * so the TUF client is the one the Sigstore packages were released with.
 *
 * Errors (VouchError):
 * - `unavailable` TUF_UNAVAILABLE: the mirror could not be reached or did
 *   not serve a file (connection, timeout, HTTP status);
 * - `denied` TUF_METADATA_REJECTED: what it served failed verification (bad
 *   signature, expired, rolled back, hash or length mismatch), with tuf-js's
 *   reason; `denied` TUF_TARGET_INVALID: the signed target is not a usable
 *   trusted root;
 * - `invalid` TUF_ROOT_INVALID / TUF_ROOT_REQUIRED / TUF_MIRROR_INVALID: the
 *   initial root is not a self-signed TUF root, or none is known for a
 *   private mirror, or the URL is unusable;
 * - `unavailable` TUF_CACHE_WRITE_FAILED: the cache could not be written.
 */
import { copyFile, mkdir, mkdtemp, readFile, rm, stat, writeFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { join } from 'node:path';
import type * as TufJs from 'tuf-js';
import { abortError } from '../core/abort.ts';
import { denied, invalid, isVouchError, messageOf, unavailable } from '../core/errors.ts';
import { PUBLIC_GOOD_TUF_URL, publicGoodTufRoot } from './public-good.ts';
import { parseSigningConfig, type SigningConfig } from './signing-config.ts';
import {
  type CachedTufRepository,
  normalizeMirrorUrl,
  readTufRepository,
  SIGNING_CONFIG_TARGET,
  TRUSTED_ROOT_TARGET,
  TUF_ROLES,
  tufRepositoryDir,
  writeCurrentTufRepository,
  writeFileAtomic,
} from './tuf-cache.ts';
import { parseTrustedRoot, type TrustedRoot } from './trusted-root.ts';

export interface TufUpdateOptions {
  /** The vouch cache directory (the TUF cache is its `tuf/` folder). */
  readonly cacheDir: string;
  /** The TUF repository; default the Sigstore public-good one. */
  readonly mirrorUrl?: string;
  /** The `root.json` to start from when nothing is cached for this repository. */
  readonly initialRoot?: Uint8Array;
  /** Per request, headers and body; default 30 s. */
  readonly timeoutMs?: number;
  /**
   * Stops the update (a command's deadline): the file being fetched is cut
   * and the update fails with `abortError` of it, nothing cached.
   */
  readonly signal?: AbortSignal;
  readonly userAgent?: string;
}

/** Where the trust started from: the cache, the caller's root, or the one embedded in @sigstore/tuf. */
export type InitialRootSource = 'cached' | 'given' | 'embedded';

/**
 * What became of the repository's signing config: verified and cached, not
 * listed by the repository, or listed but not a signing config vouch can
 * use (`problem` says why). Only a cached one is kept in the cache.
 */
export type SigningConfigUpdate =
  | { readonly status: 'cached'; readonly path: string; readonly signingConfig: SigningConfig }
  | { readonly status: 'absent' }
  | { readonly status: 'unusable'; readonly problem: string };

export interface TufUpdateResult {
  readonly repository: CachedTufRepository;
  readonly trustedRoot: TrustedRoot;
  readonly initialRoot: InitialRootSource;
  readonly signingConfig: SigningConfigUpdate;
}

const DEFAULT_TIMEOUT_MS = 30_000;

/** Updates the TUF metadata of the repository and returns the verified, cached trusted root. */
export async function updateTrustedRoot(options: TufUpdateOptions): Promise<TufUpdateResult> {
  const mirrorUrl = normalizeMirrorUrl(options.mirrorUrl ?? PUBLIC_GOOD_TUF_URL);
  const repositoryDir = tufRepositoryDir(options.cacheDir, mirrorUrl);
  const initial = await initialRootOf(repositoryDir, mirrorUrl, options.initialRoot);
  const tufDir = join(options.cacheDir, 'tuf');
  let staging: string;
  try {
    await mkdir(tufDir, { recursive: true });
    staging = await mkdtemp(join(tufDir, '.update-'));
  } catch (error) {
    throw cacheWriteFailed(tufDir, error);
  }
  try {
    await seed(staging, repositoryDir, initial);
    const targets = await runUpdater(staging, mirrorUrl, options);
    let trustedRoot: TrustedRoot;
    try {
      trustedRoot = parseTrustedRoot(
        targets.trustedRoot,
        `${TRUSTED_ROOT_TARGET} from ${mirrorUrl}`,
      );
    } catch (error) {
      if (!isVouchError(error)) throw error;
      throw denied('TUF_TARGET_INVALID', error.message, { cause: error });
    }
    const signingConfig = signingConfigOf(targets.signingConfig, mirrorUrl);
    await commit(
      staging,
      repositoryDir,
      options.cacheDir,
      mirrorUrl,
      signingConfig.status === 'cached',
    );
    const repository = await readTufRepository(options.cacheDir, mirrorUrl);
    return {
      repository,
      trustedRoot,
      initialRoot: initial.source,
      signingConfig:
        signingConfig.status === 'cached'
          ? { ...signingConfig, path: repository.signingConfigPath }
          : signingConfig,
    };
  } finally {
    await rm(staging, { recursive: true, force: true });
  }
}

/** What becomes of the fetched signing config (its path is filled in once cached). */
function signingConfigOf(
  bytes: Uint8Array | undefined,
  mirrorUrl: string,
): SigningConfigUpdate | { readonly status: 'cached'; readonly signingConfig: SigningConfig } {
  if (bytes === undefined) return { status: 'absent' };
  try {
    const source = `${SIGNING_CONFIG_TARGET} from ${mirrorUrl}`;
    return { status: 'cached', signingConfig: parseSigningConfig(bytes, source) };
  } catch (error) {
    if (!isVouchError(error)) throw error;
    return { status: 'unusable', problem: error.message };
  }
}

/** Where trust starts: the cached root, else the given one, else the embedded public-good root. */
async function initialRootOf(
  repositoryDir: string,
  mirrorUrl: string,
  given: Uint8Array | undefined,
): Promise<InitialRoot> {
  if (await exists(join(repositoryDir, 'root.json'))) return { source: 'cached' };
  if (given !== undefined) return { source: 'given', bytes: given };
  if (mirrorUrl === PUBLIC_GOOD_TUF_URL) {
    return { source: 'embedded', bytes: await publicGoodTufRoot() };
  }
  throw invalid(
    'TUF_ROOT_REQUIRED',
    `no TUF root is known for ${mirrorUrl}: pass its initial root.json (--tuf-root FILE)`,
  );
}

type InitialRoot =
  | { readonly source: 'cached' }
  | { readonly source: 'given' | 'embedded'; readonly bytes: Uint8Array };

/** Puts the initial root, or the whole cached state of the repository, in `staging`. */
async function seed(staging: string, repositoryDir: string, initial: InitialRoot): Promise<void> {
  try {
    if (initial.source !== 'cached') {
      await writeFile(join(staging, 'root.json'), initial.bytes);
      return;
    }
    for (const file of [
      ...TUF_ROLES.map((role) => `${role}.json`),
      TRUSTED_ROOT_TARGET,
      SIGNING_CONFIG_TARGET,
    ]) {
      // A file missing from the cache is fetched again; only the root is needed.
      await copyFile(join(repositoryDir, file), join(staging, file)).catch(() => undefined);
    }
    await stat(join(staging, 'root.json'));
  } catch (error) {
    throw cacheWriteFailed(staging, error);
  }
}

async function exists(file: string): Promise<boolean> {
  try {
    await stat(file);
    return true;
  } catch {
    return false;
  }
}

/** The updater's own modules, from the tuf-js that @sigstore/tuf depends on. */
interface TufModules {
  readonly tuf: typeof TufJs;
  readonly errors: {
    readonly DownloadHTTPError: new (message: string, statusCode: number) => Error;
    readonly DownloadLengthMismatchError: new (message: string) => Error;
    readonly PersistError: new (message: string) => Error;
  };
}

function loadTufJs(): TufModules {
  const fromSigstore = createRequire(createRequire(import.meta.url).resolve('@sigstore/tuf'));
  return {
    tuf: fromSigstore('tuf-js') as typeof TufJs,
    // Not re-exported by tuf-js's index, but the Updater recognises a missing
    // `N.root.json` (the end of root rotation) only as its own DownloadHTTPError.
    errors: fromSigstore('tuf-js/dist/error') as TufModules['errors'],
  };
}

/** The verified targets' bytes; `signingConfig` undefined when the repository lists none. */
interface FetchedTargets {
  readonly trustedRoot: Uint8Array;
  readonly signingConfig: Uint8Array | undefined;
}

async function runUpdater(
  staging: string,
  mirrorUrl: string,
  options: TufUpdateOptions,
): Promise<FetchedTargets> {
  const modules = loadTufJs();
  const fetcher = createFetcher(
    modules,
    options.timeoutMs ?? DEFAULT_TIMEOUT_MS,
    options.signal,
    options.userAgent,
  );
  let updater: TufJs.Updater;
  try {
    updater = new modules.tuf.Updater({
      metadataBaseUrl: mirrorUrl,
      targetBaseUrl: `${mirrorUrl}/targets`,
      metadataDir: staging,
      targetDir: staging,
      fetcher,
    });
  } catch (error) {
    throw invalid(
      'TUF_ROOT_INVALID',
      `the initial TUF root for ${mirrorUrl} is not a valid self-signed root.json: ${reason(error)}`,
      { cause: error },
    );
  }
  try {
    const trustedRoot = await fetchTarget(updater, TRUSTED_ROOT_TARGET);
    if (trustedRoot === undefined) {
      throw denied(
        'TUF_METADATA_REJECTED',
        `the TUF repository ${mirrorUrl} has no ${TRUSTED_ROOT_TARGET} target`,
      );
    }
    return { trustedRoot, signingConfig: await fetchTarget(updater, SIGNING_CONFIG_TARGET) };
  } catch (error) {
    if (isVouchError(error)) throw error;
    if (options.signal?.aborted === true) {
      throw abortError(options.signal, `the TUF update from ${mirrorUrl}`);
    }
    if (fetcher.failure !== undefined) {
      throw unavailable(
        'TUF_UNAVAILABLE',
        `cannot update from the TUF repository ${mirrorUrl}: ${fetcher.failure}`,
        { cause: error },
      );
    }
    if (error instanceof modules.errors.PersistError) throw cacheWriteFailed(staging, error);
    throw denied(
      'TUF_METADATA_REJECTED',
      `the TUF repository ${mirrorUrl} failed verification: ${reason(error)}`,
      { cause: error },
    );
  }
}

/** A target verified against the targets metadata (cached copy or download); undefined when not listed. */
async function fetchTarget(updater: TufJs.Updater, name: string): Promise<Uint8Array | undefined> {
  const info = await updater.getTargetInfo(name);
  if (info === undefined) return undefined;
  const path = (await updater.findCachedTarget(info)) ?? (await updater.downloadTarget(info));
  return await readFile(path);
}

interface RecordingFetcher extends TufJs.BaseFetcher {
  /** The first download that failed for want of the mirror (not for what it served). */
  readonly failure: string | undefined;
}

/**
 * tuf-js's fetcher contract over Node's fetch, one attempt per file, which
 * remembers when the mirror itself failed: tuf-js wraps download errors of
 * snapshot and targets into generic errors, so this is how an unreachable
 * mirror (unavailable) is told from metadata that failed a check (denied).
 */
function createFetcher(
  { tuf, errors }: TufModules,
  timeoutMs: number,
  stop: AbortSignal | undefined,
  userAgent: string | undefined,
): RecordingFetcher {
  class Fetcher extends tuf.BaseFetcher implements RecordingFetcher {
    failure: string | undefined;

    override async fetch(url: string): Promise<ReadableStream<Uint8Array<ArrayBuffer>>> {
      const response = await fetch(url, {
        headers: userAgent === undefined ? {} : { 'user-agent': userAgent },
        // Covers the body too: fetch's signal aborts the stream it returns.
        signal: AbortSignal.any([
          AbortSignal.timeout(timeoutMs),
          ...(stop === undefined ? [] : [stop]),
        ]),
      });
      if (!response.ok || response.body === null) {
        await response.body?.cancel();
        throw new errors.DownloadHTTPError(`HTTP ${response.status} for ${url}`, response.status);
      }
      return response.body as ReadableStream<Uint8Array<ArrayBuffer>>;
    }

    override async downloadFile<T>(
      url: string,
      maxLength: number,
      handler: (file: string) => Promise<T>,
    ): Promise<T> {
      let checked = false;
      try {
        return await super.downloadFile(url, maxLength, (file) => {
          checked = true; // from here on, a failure is about what was served
          return handler(file);
        });
      } catch (error) {
        const tooLong = error instanceof errors.DownloadLengthMismatchError;
        // The Updater asks for N.root.json until the mirror says 404 or 403.
        const endOfRotation =
          error instanceof errors.DownloadHTTPError &&
          /\/\d+\.root\.json$/.test(url) &&
          [403, 404].includes((error as Error & { statusCode: number }).statusCode);
        if (!checked && !tooLong && !endOfRotation) {
          this.failure ??=
            error instanceof errors.DownloadHTTPError ? error.message : `${url}: ${reason(error)}`;
        }
        throw error;
      }
    }
  }
  return new Fetcher();
}

/**
 * Moves the verified files into the repository's cache directory, the
 * trusted root last; the signing config only when `withSigningConfig`, else
 * any cached one is removed (the new metadata does not vouch for it).
 */
async function commit(
  staging: string,
  repositoryDir: string,
  cacheDir: string,
  mirrorUrl: string,
  withSigningConfig: boolean,
): Promise<void> {
  const copy = async (file: string) =>
    writeFileAtomic(join(repositoryDir, file), await readFile(join(staging, file)));
  try {
    await mkdir(repositoryDir, { recursive: true });
    for (const role of TUF_ROLES) await copy(`${role}.json`);
    if (withSigningConfig) await copy(SIGNING_CONFIG_TARGET);
    else await rm(join(repositoryDir, SIGNING_CONFIG_TARGET), { force: true });
    await copy(TRUSTED_ROOT_TARGET);
    await writeCurrentTufRepository(cacheDir, mirrorUrl);
  } catch (error) {
    throw cacheWriteFailed(repositoryDir, error);
  }
}

function cacheWriteFailed(where: string, error: unknown) {
  return unavailable(
    'TUF_CACHE_WRITE_FAILED',
    `cannot write the TUF cache in ${where}: ${messageOf(error)}`,
    { cause: error },
  );
}

/** An error's message with the messages of its causes, which tuf-js and fetch nest. */
function reason(error: unknown): string {
  const parts: string[] = [];
  let current: unknown = error;
  while (current !== undefined && parts.length < 4) {
    const message = messageOf(current);
    if (!parts.some((part) => part.includes(message))) parts.push(message);
    current = current instanceof Error ? current.cause : undefined;
  }
  return parts.join(': ');
}
