/**
 * The error of an image whose signature was logged in a transparency log
 * but not stored beside the image (the registry refused the write, a
 * conflict, a deadline): the log entry exists for good and the image is
 * unsigned. The error says both, so nobody takes the log entry for proof
 * the image is signed, or looks for its signature in vain.
 */
import { isVouchError, VouchError } from '../core/errors.ts';
import type { LogEntryRef } from './keyless-signing.ts';

export function loggedNotStored(error: Error, entries: readonly LogEntryRef[]): Error {
  if (entries.length === 0) return error;
  const where = entries.map((entry) => `${entry.logUrl} index ${entry.logIndex}`).join(', ');
  const note = `the signature was logged (${where}) but not stored: the image is unsigned`;
  return isVouchError(error)
    ? new VouchError(error.category, error.code, `${error.message}; ${note}`, { cause: error })
    : new Error(`${error.message}; ${note}`, { cause: error });
}
