/**
 * The files `sign-blob` and `verify-blob` read and write: each read with a
 * size cap (a blob, a bundle, a signature or certificate file), and the
 * artifact argument, a file or `sha256:<hex>` as the sigstore-conformance
 * protocol reads it (docs/cli_protocol.md `FILE_OR_DIGEST`: a digest only if
 * it has the prefix, the length of a SHA-256 in hex, and is not a path on
 * disk).
 */
import { open, stat } from 'node:fs/promises';
import { invalid, isVouchError, messageOf } from '../core/errors.ts';

/** A blob is read whole into memory to be hashed and signed: at most 1 GiB. */
export const MAX_BLOB_BYTES = 1024 * 1024 * 1024;
/** Bundles: as for bundles fetched from registries (formats/sigstore-bundle.ts). */
export const MAX_BUNDLE_FILE_BYTES = 16 * 1024 * 1024;
/** A signature, certificate or chain file is a few kilobytes. */
export const MAX_SIGNATURE_FILE_BYTES = 1024 * 1024;

/** The bytes of `path`, refusing more than `max` (`invalid` FILE_UNREADABLE). */
export async function readCappedFile(path: string, what: string, max: number): Promise<Uint8Array> {
  let handle;
  try {
    handle = await open(path, 'r');
    const size = (await handle.stat()).size;
    if (size > max) {
      throw invalid(
        'FILE_UNREADABLE',
        `${what} ${path} is ${size} bytes, more than the ${max} allowed`,
      );
    }
    const bytes = await handle.readFile();
    if (bytes.byteLength > max) {
      throw invalid('FILE_UNREADABLE', `${what} ${path} is larger than the ${max} bytes allowed`);
    }
    return new Uint8Array(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  } catch (error) {
    if (isVouchError(error)) throw error;
    throw invalid('FILE_UNREADABLE', `cannot read ${what} ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  } finally {
    await handle?.close();
  }
}

const SHA256_DIGEST = /^sha256:([0-9a-fA-F]{64})$/;

/** The artifact argument: `sha256:<hex>` that names no file is a digest; anything else a file. */
export async function artifactArgument(
  argument: string,
): Promise<{ kind: 'sha256'; digest: Uint8Array } | { kind: 'file'; path: string }> {
  const match = SHA256_DIGEST.exec(argument);
  if (match?.[1] !== undefined) {
    const onDisk = await stat(argument).then(
      () => true,
      () => false,
    );
    if (!onDisk) return { kind: 'sha256', digest: new Uint8Array(Buffer.from(match[1], 'hex')) };
  }
  return { kind: 'file', path: argument };
}
