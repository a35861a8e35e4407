/**
 * Reading a predicate file for `attest`: one JSON object, strictly parsed
 * (formats/in-toto.ts parsePredicate), never more than `maxBytes` read.
 */
import { open } from 'node:fs/promises';
import { invalid, isVouchError, messageOf } from '../core/errors.ts';
import { DEFAULT_MAX_ATTESTATION_BYTES } from '../formats/cosign-attestation.ts';
import { parsePredicate } from '../formats/in-toto.ts';
import type { JsonObject } from '../core/strict-json.ts';

const CHUNK = 64 * 1024;

/**
 * The predicate in the file `path`. Throws VouchError `invalid`:
 * PREDICATE_UNREADABLE, PREDICATE_TOO_LARGE (more than `maxBytes`, 16 MiB by
 * default: its envelope could not be stored anyway), PREDICATE_INVALID.
 */
export async function readPredicateFile(
  path: string,
  maxBytes = DEFAULT_MAX_ATTESTATION_BYTES,
): Promise<JsonObject> {
  const unreadable = (error: unknown) =>
    invalid('PREDICATE_UNREADABLE', `cannot read the predicate file ${path}: ${messageOf(error)}`, {
      cause: error,
    });
  let handle;
  try {
    handle = await open(path, 'r');
  } catch (error) {
    throw unreadable(error);
  }
  const chunks: Buffer[] = [];
  try {
    if ((await handle.stat()).isDirectory()) throw unreadable(new Error('it is a directory'));
    let total = 0;
    for (;;) {
      const buffer = Buffer.alloc(CHUNK);
      const { bytesRead } = await handle.read(buffer, 0, CHUNK, null);
      if (bytesRead === 0) break;
      total += bytesRead;
      if (total > maxBytes) {
        throw invalid(
          'PREDICATE_TOO_LARGE',
          `the predicate file ${path} is larger than ${maxBytes} bytes, the most an attestation may hold`,
        );
      }
      chunks.push(buffer.subarray(0, bytesRead));
    }
  } catch (error) {
    if (isVouchError(error)) throw error;
    throw unreadable(error);
  } finally {
    await handle.close();
  }
  return parsePredicate(new Uint8Array(Buffer.concat(chunks)), `the predicate file ${path}`);
}
