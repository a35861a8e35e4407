/**
 * The Sigstore public-good trusted root, shipped with vouch so verification
 * works with no network: the `trusted_root.json` target that
 * `@sigstore/tuf` embeds in its `seeds.json` to seed its TUF cache
 * (https://github.com/sigstore/sigstore-js/blob/main/packages/tuf/seeds.json).
 * It names rekor.sigstore.dev (log ID
 * `c0d23d6a…801d`, ECDSA P-256, from 2021-01-12) and the Rekor v2 log
 * shards, among the Fulcio CAs, CT logs and timestamp authorities.
 *
 * Read straight from the installed package: this is the copy the Sigstore
 * project signed and published with that release, so it is as fresh as the
 * `@sigstore/tuf` version vouch depends on, and no fresher (no TUF update is
 * done here). Only `seeds.json` is read — never the package's code, which
 * would load the TUF client.
 *
 * Loaded on first use and kept for the life of the process: callers ask for
 * it only when a signature carries something to check against it, so a
 * plain key verification never reads it.
 */
import { readFile } from 'node:fs/promises';
import { createRequire } from 'node:module';
import { isVouchError, unavailable } from '../core/errors.ts';
import { decodeStdBase64 } from '../core/base64.ts';
import { isJsonObject, parseStrictJson } from '../core/strict-json.ts';
import { parseTrustedRoot, type TrustedRoot } from './trusted-root.ts';

/** The TUF repository whose seeds hold the public-good trusted root. */
export const PUBLIC_GOOD_TUF_URL = 'https://tuf-repo-cdn.sigstore.dev';
const SEEDS = '@sigstore/tuf/seeds.json';

let loading: Promise<TrustedRoot> | undefined;

/**
 * The public-good trusted root. Throws VouchError `unavailable`
 * TRUSTED_ROOT_UNAVAILABLE when the package's seeds cannot be read (a broken
 * installation: verification could not be done, rather than failed).
 */
export function publicGoodTrustedRoot(): Promise<TrustedRoot> {
  loading ??= load().catch((error: unknown) => {
    loading = undefined; // a later call may try again
    throw error;
  });
  return loading;
}

/** Whether the public-good trusted root has been read in this process (for tests and diagnostics). */
export function publicGoodTrustedRootLoaded(): boolean {
  return loading !== undefined;
}

/** Where the shipped public-good trusted root is read from (the package's `seeds.json`). */
export function publicGoodSeedsPath(): string {
  return createRequire(import.meta.url).resolve(SEEDS);
}

/**
 * The public-good TUF repository's `root.json` that `@sigstore/tuf` embeds in
 * its seeds: the trust anchor `vouch trusted-root update` starts from for
 * that repository (as `@sigstore/tuf` `dist/client.js seedCache` does), before
 * it has cached a newer root of its own.
 */
export async function publicGoodTufRoot(): Promise<Uint8Array> {
  const root = (await readSeedRepository()).root;
  if (root === undefined) {
    throw seedsUnavailable(`it has no base64 "root.json" for ${PUBLIC_GOOD_TUF_URL}`);
  }
  return root;
}

function seedsUnavailable(problem: string, cause?: unknown) {
  return unavailable(
    'TRUSTED_ROOT_UNAVAILABLE',
    `cannot read the Sigstore public-good trust material shipped with vouch (${SEEDS}): ${problem}; reinstall vouch or pass --trusted-root FILE`,
    { cause },
  );
}

interface SeedRepository {
  readonly path: string;
  readonly root: Uint8Array | undefined;
  readonly trustedRoot: Uint8Array | undefined;
}

async function readSeedRepository(): Promise<SeedRepository> {
  let path: string;
  let bytes: Uint8Array;
  try {
    path = publicGoodSeedsPath();
    bytes = await readFile(path);
  } catch (error) {
    throw seedsUnavailable('the file is missing or unreadable', error);
  }
  let seeds;
  try {
    seeds = parseStrictJson(bytes);
  } catch (error) {
    throw seedsUnavailable('it is not valid JSON', error);
  }
  const repository = isJsonObject(seeds) ? seeds[PUBLIC_GOOD_TUF_URL] : undefined;
  const root = isJsonObject(repository) ? repository['root.json'] : undefined;
  const targets = isJsonObject(repository) ? repository.targets : undefined;
  const trustedRoot = isJsonObject(targets) ? targets['trusted_root.json'] : undefined;
  return {
    path,
    root: typeof root === 'string' ? decodeStdBase64(root) : undefined,
    trustedRoot: typeof trustedRoot === 'string' ? decodeStdBase64(trustedRoot) : undefined,
  };
}

async function load(): Promise<TrustedRoot> {
  const { path, trustedRoot: document } = await readSeedRepository();
  if (document === undefined) {
    throw seedsUnavailable(
      `it has no base64 targets["trusted_root.json"] for ${PUBLIC_GOOD_TUF_URL}`,
    );
  }
  try {
    return parseTrustedRoot(document, `the public-good trusted root in ${path}`);
  } catch (error) {
    if (!isVouchError(error)) throw error;
    throw seedsUnavailable(error.message, error);
  }
}
