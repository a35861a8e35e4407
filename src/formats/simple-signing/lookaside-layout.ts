/**
 * Where a signature lives in a lookaside store (containers/image
 * docs/signature-protocols.md, "docker/distribution registries—separate
 * storage"; docker/registries_d.go `lookasideStorageBaseURL` and
 * `lookasideStorageURL`):
 *
 *   <top level>/<repository path>@<algorithm>=<hex>/signature-<N>
 *
 * with the repository path as the reference spells it without its host
 * (`library/busybox` on docker.io), N counted from 1, and no listing: a
 * reader asks for signature-1, signature-2, ... until one is missing.
 *
 * containers/image appends to the URL's decoded path as Go's `url.URL`
 * holds it, so `https://host` gives `https://host/repo` and `https://host/`
 * gives `https://host//repo`; the same here. Only `file:`, `http:` and
 * `https:` are usable (`getOneSignature`); a URL that does not parse, or
 * with another scheme, is refused when it is used, as containers/image
 * refuses it then. Stricter: a URL carrying a user name or password is
 * refused (Go would send it as Basic credentials to whatever host answers).
 */
import { fileURLToPath } from 'node:url';
import { invalid, messageOf } from '../../core/errors.ts';
import { type Digest, digestAlgorithm, digestHex } from '../../oci/digest.ts';
import type {} from '../error-codes.ts';

/** Written signatures are numbered from here; readers stop at the first missing. */
export const FIRST_SIGNATURE_INDEX = 1;

/**
 * The base URL of one repository's signatures: `topLevel` (from
 * registries-d.ts `lookasideFor`) with `/<repository>` appended. `where`
 * names the configuration in messages. Throws `invalid` LOOKASIDE_URL_INVALID.
 */
export function lookasideRepositoryUrl(topLevel: string, repository: string, where: string): URL {
  let url: URL;
  try {
    url = new URL(topLevel);
  } catch (error) {
    throw invalid(
      'LOOKASIDE_URL_INVALID',
      `${where}: ${JSON.stringify(topLevel)} is not a URL (${messageOf(error)}); lookaside locations are file://, https:// or http:// URLs`,
    );
  }
  if (url.protocol !== 'file:' && url.protocol !== 'https:' && url.protocol !== 'http:') {
    throw invalid(
      'LOOKASIDE_URL_INVALID',
      `${where}: unsupported scheme ${url.protocol.slice(0, -1)}: in a lookaside location; use file://, https:// or http://`,
    );
  }
  if (url.username !== '' || url.password !== '') {
    throw invalid(
      'LOOKASIDE_URL_INVALID',
      `${where}: a lookaside URL for ${url.host} carries credentials; vouch does not send them`,
    );
  }
  url.pathname = `${goPath(topLevel, url)}/${repository}`;
  return url;
}

/** The URL of signature `index` (from FIRST_SIGNATURE_INDEX) of the manifest `digest`. */
export function lookasideSignatureUrl(repositoryUrl: URL, digest: Digest, index: number): URL {
  if (!Number.isSafeInteger(index) || index < FIRST_SIGNATURE_INDEX) {
    throw new RangeError(`signature index ${index} is not a positive integer`);
  }
  const url = new URL(repositoryUrl);
  url.pathname = `${repositoryUrl.pathname}@${digestAlgorithm(digest)}=${digestHex(digest)}/signature-${index}`;
  return url;
}

/**
 * The local path of a `file:` lookaside URL, decoded as Go's `url.URL.Path`.
 * A host other than `localhost` is refused (containers/image ignores it and
 * reads the path locally, which is not what such a URL says).
 */
export function lookasideFilePath(url: URL, where: string): string {
  try {
    return fileURLToPath(url);
  } catch (error) {
    throw invalid(
      'LOOKASIDE_URL_INVALID',
      `${where}: ${url.href} is not a local file URL (${messageOf(error)})`,
    );
  }
}

/**
 * The path as Go's `url.Parse` holds it: WHATWG URLs give `https://host`
 * the path "/", Go gives it "", and containers/image appends "/repo" to
 * that. Only a bare "/" can differ, so only then is the text consulted.
 */
function goPath(text: string, url: URL): string {
  if (url.pathname !== '/') return url.pathname;
  const rest = text.slice(text.indexOf(':') + 1);
  const afterAuthority = rest.startsWith('//') ? rest.slice(2).replace(/^[^/?#]*/, '') : rest;
  return afterAuthority.startsWith('/') ? '/' : '';
}
