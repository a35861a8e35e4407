/**
 * Reading and writing the signatures of a lookaside store
 * (formats/simple-signing/lookaside-layout.ts has the layout), as
 * containers/image does (docker/docker_image_src.go
 * `appendSignaturesFromLookaside`, `getOneSignature`;
 * docker/docker_image_dest.go `putOneSignature`), with caps on what a store
 * can make vouch read.
 *
 * Reading asks for signature-1, signature-2, ... and stops at the first
 * missing one: HTTP 404, or no such file (ENOENT). Any other answer is an
 * error, not the end (a 500 or a 403 must not make signatures disappear).
 * Fewer than `maxSignatures` (containers/image's 128: a store that has
 * that many is refused, not truncated), each at most `maxSignatureBytes`
 * (containers/image's 4 MiB), all together at most `maxTotalBytes`. Each
 * HTTP request is held to the HttpClient's request bound (headers and every
 * byte of the body, so a body that never ends or drips is cut) and the
 * whole read to the caller's `signal`.
 *
 * Redirects: containers/image fetches lookaside URLs with Go's default
 * `http.Client`, which follows up to 10 redirects to any host, and sends no
 * credentials to a lookaside at all. vouch follows them to any host too —
 * real stores (a registry's lookaside behind a CDN) redirect, and a
 * signature is trusted for its OpenPGP signature, never for where it came
 * from — but through the project's HttpClient: at most its redirect bound
 * (5), never from HTTPS down to plain HTTP (REDIRECT_REFUSED), nothing
 * that carries credentials, and every hop within the same time bound.
 *
 * Writing goes only to a file:// location (containers/image refuses to
 * write to http(s) and asks for a `lookaside-staging` location). Unlike
 * containers/image, which rewrites signature-1..N with the whole set it
 * holds, a write adds one signature and never replaces one: the blob goes
 * to a temporary file beside the signatures, synced, then is hard-linked
 * to the first signature-N that does not exist (link fails with EEXIST
 * rather than replace, so two writers at once take different numbers and
 * readers never see a partial file).
 */
import { randomBytes } from 'node:crypto';
import { link, mkdir, open, rm, writeFile } from 'node:fs/promises';
import { dirname, join } from 'node:path';
import { abortError } from '../core/abort.ts';
import { denied, invalid, messageOf, unavailable, type VouchError } from '../core/errors.ts';
import {
  FIRST_SIGNATURE_INDEX,
  lookasideFilePath,
  lookasideSignatureUrl,
} from '../formats/simple-signing/lookaside-layout.ts';
import type { Digest } from '../oci/digest.ts';
import { bodyOf, discard, header, type HttpClient } from '../registry/http.ts';
import { collect } from '../registry/verified-content.ts';
import type {} from './error-codes.ts';
import { readFileCapped } from './files.ts';

/**
 * containers/image `maxLookasideSignatures`: a reader that has read this many
 * gives up with an error, so a readable store holds at most one less.
 */
export const MAX_LOOKASIDE_SIGNATURES = 128;
/** containers/image iolimits `MaxSignatureBodySize`. */
export const MAX_SIGNATURE_BYTES = 4 * 1024 * 1024;
/** All of one image's signatures together; containers/image has no such cap (128 × 4 MiB). */
export const MAX_TOTAL_SIGNATURE_BYTES = 32 * 1024 * 1024;

export interface LookasideReadOptions {
  /** For http:// and https:// stores. */
  readonly http?: HttpClient;
  /** Stops the whole read (a command's deadline). */
  readonly signal?: AbortSignal;
  readonly maxSignatures?: number;
  readonly maxSignatureBytes?: number;
  readonly maxTotalBytes?: number;
  /** Names the configuration in messages: `registries.d docker "example.com" lookaside`. */
  readonly where?: string;
}

export interface LookasideSignature {
  /** N of signature-N. */
  readonly index: number;
  readonly url: URL;
  readonly blob: Uint8Array;
}

/**
 * Every signature of `digest` under `repositoryUrl` (lookaside-layout.ts
 * `lookasideRepositoryUrl`), in order.
 */
export async function readLookasideSignatures(
  repositoryUrl: URL,
  digest: Digest,
  options: LookasideReadOptions = {},
): Promise<LookasideSignature[]> {
  const maxSignatures = options.maxSignatures ?? MAX_LOOKASIDE_SIGNATURES;
  const maxSignatureBytes = options.maxSignatureBytes ?? MAX_SIGNATURE_BYTES;
  const maxTotalBytes = options.maxTotalBytes ?? MAX_TOTAL_SIGNATURE_BYTES;
  const where = options.where ?? 'lookaside';
  const signatures: LookasideSignature[] = [];
  let total = 0;
  for (let index = FIRST_SIGNATURE_INDEX; ; index++) {
    if (options.signal?.aborted === true) {
      throw abortError(
        options.signal,
        `reading signatures of ${digest} from ${repositoryUrl.host || 'the lookaside'}`,
      );
    }
    if (signatures.length >= maxSignatures) {
      throw denied(
        'LOOKASIDE_TOO_MANY_SIGNATURES',
        `${where}: the store has ${maxSignatures} or more signatures for ${digest}; assuming that is a server error, as containers/image does`,
      );
    }
    const url = lookasideSignatureUrl(repositoryUrl, digest, index);
    const limit = Math.min(maxSignatureBytes, maxTotalBytes - total);
    const blob = await readOne(url, limit, { ...options, where }, () =>
      limit < maxSignatureBytes
        ? denied(
            'LOOKASIDE_SIGNATURE_TOO_LARGE',
            `${where}: the signatures of ${digest} exceed ${maxTotalBytes} bytes together (at ${redacted(url)})`,
          )
        : denied(
            'LOOKASIDE_SIGNATURE_TOO_LARGE',
            `${where}: ${redacted(url)} exceeds ${maxSignatureBytes} bytes; not a signature`,
          ),
    );
    if (blob === undefined) return signatures;
    total += blob.byteLength;
    signatures.push({ index, url, blob });
  }
}

/** One signature, or undefined when it does not exist. */
async function readOne(
  url: URL,
  maxBytes: number,
  options: LookasideReadOptions & { readonly where: string },
  tooLarge: () => VouchError,
): Promise<Uint8Array | undefined> {
  if (url.protocol === 'file:') {
    const path = lookasideFilePath(url, options.where);
    return readFileCapped(path, maxBytes, {
      tooLarge,
      unreadable: (problem, cause) =>
        unavailable('LOOKASIDE_UNAVAILABLE', `${options.where}: ${path} ${problem}`, { cause }),
    });
  }
  if (options.http === undefined) {
    throw new TypeError(`reading ${url.protocol} lookaside stores needs an HttpClient`);
  }
  const response = await options.http.send({
    method: 'GET',
    url,
    idempotent: true,
    ...(options.signal === undefined ? {} : { signal: options.signal }),
  });
  if (response.status === 404) {
    await discard(response);
    return undefined;
  }
  if (response.status !== 200) {
    await discard(response);
    throw unavailable(
      'LOOKASIDE_UNAVAILABLE',
      `${options.where}: ${redacted(url)} answered ${response.status}${response.url.href === url.href ? '' : ` (from ${redacted(response.url)})`}; only 200 or 404 (no more signatures) are expected`,
    );
  }
  const declared = Number(header(response.headers, 'content-length'));
  if (Number.isFinite(declared) && declared > maxBytes) {
    await discard(response);
    throw tooLarge();
  }
  // The Content-Type is not checked: the lookaside protocol sets no requirement on it.
  return collect(bodyOf(response), maxBytes, tooLarge);
}

export interface WrittenLookasideSignature {
  readonly index: number;
  readonly url: URL;
  readonly path: string;
}

/**
 * Adds `blob` as the first free signature-N of `digest` under the file://
 * `repositoryUrl`, creating directories (0755, as containers/image) and
 * the file (0644). Never replaces a signature; concurrent writers each get
 * their own N.
 */
export async function writeLookasideSignature(
  repositoryUrl: URL,
  digest: Digest,
  blob: Uint8Array,
  options: { readonly maxSignatures?: number; readonly where?: string } = {},
): Promise<WrittenLookasideSignature> {
  const where = options.where ?? 'lookaside';
  const maxSignatures = options.maxSignatures ?? MAX_LOOKASIDE_SIGNATURES;
  if (repositoryUrl.protocol !== 'file:') {
    throw invalid(
      'LOOKASIDE_READ_ONLY',
      `${where}: writing directly to a ${repositoryUrl.protocol.slice(0, -1)} lookaside is not supported; configure a lookaside-staging: file:// location`,
    );
  }
  const target = (index: number) => {
    const url = lookasideSignatureUrl(repositoryUrl, digest, index);
    return { url, path: lookasideFilePath(url, where) };
  };
  const directory = dirname(target(FIRST_SIGNATURE_INDEX).path);
  const failed = (what: string, error: unknown) =>
    unavailable('LOOKASIDE_WRITE_FAILED', `${where}: cannot ${what}: ${messageOf(error)}`, {
      cause: error,
    });
  try {
    await mkdir(directory, { recursive: true, mode: 0o755 });
  } catch (error) {
    throw failed(`create ${directory}`, error);
  }
  const temp = join(directory, `.signature.${randomBytes(12).toString('hex')}.tmp`);
  try {
    try {
      const handle = await open(temp, 'wx', 0o644);
      try {
        await handle.writeFile(blob);
        await handle.sync();
      } finally {
        await handle.close();
      }
    } catch (error) {
      throw failed(`write ${temp}`, error);
    }
    for (
      let index = FIRST_SIGNATURE_INDEX;
      // A reader gives up once it has read maxSignatures (containers/image errs
      // before even asking for the next), so the last usable number is one less.
      index < FIRST_SIGNATURE_INDEX + maxSignatures - 1;
      index++
    ) {
      const { url, path } = target(index);
      if (await createFrom(temp, path, blob, failed)) return { index, url, path };
    }
  } finally {
    await rm(temp, { force: true });
  }
  throw invalid(
    'LOOKASIDE_TOO_MANY_SIGNATURES',
    `${where}: signature-1 to signature-${maxSignatures - 1} of ${digest} exist; readers refuse a store with ${maxSignatures}, so another would make every signature unreadable`,
  );
}

/** Links `temp` to `path` unless something is there; false when it is. */
async function createFrom(
  temp: string,
  path: string,
  blob: Uint8Array,
  failed: (what: string, error: unknown) => VouchError,
): Promise<boolean> {
  try {
    await link(temp, path);
    return true;
  } catch (error) {
    const code = (error as NodeJS.ErrnoException).code;
    if (code === 'EEXIST') return false;
    if (code !== 'EPERM' && code !== 'ENOTSUP' && code !== 'ENOSYS' && code !== 'EOPNOTSUPP') {
      throw failed(`create ${path}`, error);
    }
  }
  // A file system without hard links: an exclusive create still never replaces one.
  try {
    await writeFile(path, blob, { flag: 'wx', mode: 0o644 });
    return true;
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'EEXIST') return false;
    throw failed(`create ${path}`, error);
  }
}

/** The URL for messages: no query (it may hold a token), no credentials (refused anyway). */
function redacted(url: URL): string {
  return `${url.protocol}//${url.host}${url.pathname}`;
}
