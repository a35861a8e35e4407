/**
 * Verification of content as it streams (docs/design.md principle 4: distrust every
 * byte). A blob is checked against its descriptor: never more bytes than the
 * descriptor's size, and the digest of exactly those bytes must match. The
 * last chunk is held back until both checks pass, so a consumer that writes
 * chunks as they come never sees the end of a bad stream as a success.
 */
import { denied } from '../core/errors.ts';
import { createDigester, digestAlgorithm } from '../oci/digest.ts';
import type { Descriptor } from '../oci/manifest.ts';

export async function* verifyContent(
  source: AsyncIterable<Uint8Array>,
  descriptor: Pick<Descriptor, 'digest' | 'size'>,
  where: string,
): AsyncGenerator<Uint8Array> {
  const digester = createDigester(digestAlgorithm(descriptor.digest));
  let received = 0;
  let pending: Uint8Array | undefined;
  for await (const chunk of source) {
    received += chunk.byteLength;
    if (received > descriptor.size) {
      throw denied(
        'BLOB_TOO_LARGE',
        `${where}: blob ${descriptor.digest} is longer than its descriptor's ${descriptor.size} bytes`,
      );
    }
    digester.update(chunk);
    if (pending !== undefined) yield pending;
    pending = chunk;
  }
  if (received !== descriptor.size) {
    throw denied(
      'BLOB_SIZE_MISMATCH',
      `${where}: blob ${descriptor.digest} has ${received} bytes, its descriptor says ${descriptor.size}`,
    );
  }
  const actual = digester.digest();
  if (actual !== descriptor.digest) {
    throw denied(
      'DIGEST_MISMATCH',
      `${where}: blob content hashes to ${actual}, expected ${descriptor.digest}`,
    );
  }
  if (pending !== undefined) yield pending;
}

/** Collects a stream into one buffer, refusing to hold more than `maxBytes`. */
export async function collect(
  source: AsyncIterable<Uint8Array>,
  maxBytes: number,
  tooLarge: () => Error,
): Promise<Uint8Array> {
  const chunks: Uint8Array[] = [];
  let total = 0;
  for await (const chunk of source) {
    total += chunk.byteLength;
    if (total > maxBytes) throw tooLarge();
    chunks.push(chunk);
  }
  return Buffer.concat(chunks, total);
}
