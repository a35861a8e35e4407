/**
 * The Sigstore public-good trusted root, shipped with vouch so verification
 * works with no network: the `trusted_root.json` target that
 * `@sigstore/tuf` embeds in its `seeds.json` to seed its TUF cache
 * (research/sigstore.md §2.6). It names rekor.sigstore.dev (log ID
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
import { decodeStdBase64 } from '../formats/base64.ts';
import { isJsonObject, parseStrictJson } from '../formats/strict-json.ts';
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

async function load(): Promise<TrustedRoot> {
  const fail = (problem: string, cause?: unknown) =>
    unavailable(
      'TRUSTED_ROOT_UNAVAILABLE',
      `cannot read the Sigstore public-good trusted root shipped with vouch (${SEEDS}): ${problem}; reinstall vouch or pass --trusted-root FILE`,
      { cause },
    );
  let path: string;
  let bytes: Uint8Array;
  try {
    path = createRequire(import.meta.url).resolve(SEEDS);
    bytes = await readFile(path);
  } catch (error) {
    throw fail('the file is missing or unreadable', error);
  }
  let seeds;
  try {
    seeds = parseStrictJson(bytes);
  } catch (error) {
    throw fail('it is not valid JSON', error);
  }
  const repository = isJsonObject(seeds) ? seeds[PUBLIC_GOOD_TUF_URL] : undefined;
  const targets = isJsonObject(repository) ? repository.targets : undefined;
  const encoded = isJsonObject(targets) ? targets['trusted_root.json'] : undefined;
  const document = typeof encoded === 'string' ? decodeStdBase64(encoded) : undefined;
  if (document === undefined) {
    throw fail(`it has no base64 targets["trusted_root.json"] for ${PUBLIC_GOOD_TUF_URL}`);
  }
  try {
    return parseTrustedRoot(document, `the public-good trusted root in ${path}`);
  } catch (error) {
    if (!isVouchError(error)) throw error;
    throw fail(error.message, error);
  }
}
