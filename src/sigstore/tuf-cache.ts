/**
 * Where `vouch trusted-root update` keeps what it fetched through TUF, and
 * reading it back without the TUF client (so verification that uses the
 * cached root never loads tuf-js).
 *
 * Layout under the cache directory the caller names:
 *
 * ```
 * tuf/current.json                     {"mirror": URL}: the repository last updated from
 * tuf/<host+path, URI-encoded>/        one directory per TUF repository (mirror), named as
 *   root.json timestamp.json           @sigstore/tuf names its cache (`dist/client.js`):
 *   snapshot.json targets.json         the TUF metadata tuf-js keeps between updates
 *   trusted_root.json                  the verified target
 *   signing_config.v0.2.json           the verified signing config, when the repository has one
 * ```
 *
 * One directory per repository, because a repository's metadata is trusted
 * only against its own root; `current.json` says which one verification uses.
 *
 * Errors: VouchError `invalid` TUF_CACHE_INVALID when the cache is there but
 * unreadable or malformed (it is local state the user can remove or refresh).
 */
import { randomBytes } from 'node:crypto';
import { open, readFile, rename, rm } from 'node:fs/promises';
import { join } from 'node:path';
import { invalid, messageOf } from '../core/errors.ts';
import { isJsonObject, parseStrictJson } from '../core/strict-json.ts';

/** The TUF target holding the Sigstore trusted root. */
export const TRUSTED_ROOT_TARGET = 'trusted_root.json';

/**
 * The TUF target holding the Sigstore signing config (v0.2), as sigstore-go
 * (pkg/root/signing_config.go `GetSigningConfig`) and cosign fetch it.
 */
export const SIGNING_CONFIG_TARGET = 'signing_config.v0.2.json';

/** The TUF roles whose metadata the cache keeps, top-level only (Sigstore delegates nothing). */
export const TUF_ROLES = ['root', 'timestamp', 'snapshot', 'targets'] as const;
export type TufRole = (typeof TUF_ROLES)[number];

export interface TufMetadataInfo {
  readonly version: number;
  /** RFC 3339, as the metadata states it. */
  readonly expires: string;
}

export interface CachedTufRepository {
  readonly mirrorUrl: string;
  readonly directory: string;
  readonly trustedRootPath: string;
  /** Where the signing config is cached; the file is absent when the repository has none. */
  readonly signingConfigPath: string;
  readonly metadata: Readonly<Record<TufRole, TufMetadataInfo>>;
}

/**
 * A TUF mirror URL, checked and without a trailing slash. HTTPS, or plain
 * HTTP to a loopback host only: TUF metadata is signed, but a freeze attack
 * (serving stale metadata until it expires) is cheaper without TLS.
 * Throws `invalid` TUF_MIRROR_INVALID.
 */
export function normalizeMirrorUrl(text: string): string {
  let url: URL;
  try {
    url = new URL(text);
  } catch {
    throw invalid('TUF_MIRROR_INVALID', `"${text}" is not a URL (expected https://HOST[/PATH])`);
  }
  const loopback = ['127.0.0.1', '[::1]', 'localhost'].includes(url.hostname);
  if (url.protocol !== 'https:' && !(url.protocol === 'http:' && loopback)) {
    throw invalid(
      'TUF_MIRROR_INVALID',
      `the TUF mirror ${text} must be an https:// URL (plain http only on loopback)`,
    );
  }
  if (url.search !== '' || url.hash !== '' || url.username !== '' || url.password !== '') {
    throw invalid(
      'TUF_MIRROR_INVALID',
      `the TUF mirror ${text} must not carry credentials, a query or a fragment`,
    );
  }
  return `${url.origin}${url.pathname.replace(/\/+$/, '')}`;
}

/** The cache directory of one TUF repository. */
export function tufRepositoryDir(cacheDir: string, mirrorUrl: string): string {
  const url = new URL(mirrorUrl);
  return join(cacheDir, 'tuf', encodeURIComponent(url.host + url.pathname.replace(/\/$/, '')));
}

function currentPath(cacheDir: string): string {
  return join(cacheDir, 'tuf', 'current.json');
}

/**
 * The repository `vouch trusted-root update` last completed from, or
 * undefined when it never ran with this cache directory.
 */
export async function readCurrentTufRepository(
  cacheDir: string,
): Promise<CachedTufRepository | undefined> {
  const pointer = currentPath(cacheDir);
  const bytes = await readCacheFile(pointer);
  if (bytes === undefined) return undefined;
  const fail = (problem: string) => cacheInvalid(pointer, problem);
  const current = parseJson(bytes, pointer);
  const mirror = isJsonObject(current) ? current.mirror : undefined;
  if (typeof mirror !== 'string') throw fail('it names no mirror');
  let mirrorUrl: string;
  try {
    mirrorUrl = normalizeMirrorUrl(mirror);
  } catch (error) {
    throw fail(messageOf(error));
  }
  return readTufRepository(cacheDir, mirrorUrl);
}

/** The cached state of one repository; throws TUF_CACHE_INVALID when any file is missing. */
export async function readTufRepository(
  cacheDir: string,
  mirrorUrl: string,
): Promise<CachedTufRepository> {
  const directory = tufRepositoryDir(cacheDir, mirrorUrl);
  const entries = await Promise.all(
    TUF_ROLES.map(async (role) => {
      const file = join(directory, `${role}.json`);
      const bytes = await readCacheFile(file);
      if (bytes === undefined) throw cacheInvalid(file, 'the file is missing');
      return [role, metadataInfo(bytes, file)] as const;
    }),
  );
  return {
    mirrorUrl,
    directory,
    trustedRootPath: join(directory, TRUSTED_ROOT_TARGET),
    signingConfigPath: join(directory, SIGNING_CONFIG_TARGET),
    metadata: Object.fromEntries(entries) as Record<TufRole, TufMetadataInfo>,
  };
}

/** Whether TUF metadata expiring at `expires` (RFC 3339) has expired at `now`, as tuf-js decides. */
export function tufExpired(expires: string, now: Date): boolean {
  // tuf-js `Signed.isExpired`: expired when `expires` <= the reference time.
  return Date.parse(expires) <= now.getTime();
}

/** Makes `mirrorUrl` the repository verification uses, atomically. */
export async function writeCurrentTufRepository(
  cacheDir: string,
  mirrorUrl: string,
): Promise<void> {
  await writeFileAtomic(currentPath(cacheDir), `${JSON.stringify({ mirror: mirrorUrl })}\n`);
}

/**
 * Writes `file` through a synced temporary file beside it and a rename, so a
 * reader sees the old content or the new, never part of it.
 */
export async function writeFileAtomic(file: string, data: Uint8Array | string): Promise<void> {
  const temp = `${file}.${randomBytes(8).toString('hex')}.tmp`;
  try {
    const handle = await open(temp, 'wx', 0o644);
    try {
      await handle.writeFile(data);
      await handle.sync();
    } finally {
      await handle.close();
    }
    await rename(temp, file);
  } catch (error) {
    await rm(temp, { force: true });
    throw error;
  }
}

function metadataInfo(bytes: Uint8Array, file: string): TufMetadataInfo {
  const metadata = parseJson(bytes, file);
  const signed = isJsonObject(metadata) ? metadata.signed : undefined;
  const version = isJsonObject(signed) ? signed.version : undefined;
  const expires = isJsonObject(signed) ? signed.expires : undefined;
  if (
    typeof version !== 'number' ||
    typeof expires !== 'string' ||
    Number.isNaN(Date.parse(expires))
  )
    throw cacheInvalid(file, 'it is not TUF metadata with signed.version and signed.expires');
  return { version, expires };
}

function parseJson(bytes: Uint8Array, file: string) {
  try {
    return parseStrictJson(bytes);
  } catch (error) {
    throw cacheInvalid(file, `it is not valid JSON: ${messageOf(error)}`);
  }
}

/** A cache file's bytes; undefined when it does not exist; TUF_CACHE_INVALID when it cannot be read. */
export async function readCacheFile(file: string): Promise<Uint8Array | undefined> {
  try {
    return await readFile(file);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw cacheInvalid(file, `it cannot be read: ${messageOf(error)}`);
  }
}

/** `invalid` TUF_CACHE_INVALID: a cache file vouch cannot use, and what to do about it. */
export function cacheInvalid(file: string, problem: string) {
  return invalid(
    'TUF_CACHE_INVALID',
    `the cached TUF trust material is unusable: ${file}: ${problem}; run \`vouch trusted-root update\` again or remove the file`,
  );
}
