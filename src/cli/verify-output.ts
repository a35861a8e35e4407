/**
 * The output shared by `vouch verify` and `vouch verify-attestation`: status
 * words, key names, the error of a result as JSON, and the closing error
 * lines with the exit code. An image's error message is written once, as the
 * closing `vouch: ...` line on stderr; its text report names the status and
 * the error's code, so a terminal, where both streams meet, shows it once.
 */
import type { VouchError } from '../core/errors.ts';
import type { ImageStatus } from '../verify/verify.ts';
import { exitCodeOf } from './exit-codes.ts';
import type { CliIO } from './io.ts';

const STATUS_TEXT: Readonly<Record<ImageStatus, string>> = {
  verified: 'verified',
  denied: 'NOT VERIFIED',
  invalid: 'invalid',
  unavailable: 'could not check',
};

/** The first line of an image's text report: `IMAGE: STATUS` and the error's code, if any. */
export function statusLine(
  image: string,
  status: ImageStatus,
  error: VouchError | undefined,
): string {
  return `${image}: ${STATUS_TEXT[status]}${error === undefined ? '' : ` (${error.code})`}`;
}

/** The --key file that key `index` came from. */
export function keyName(keyPaths: readonly string[], index: number): string {
  return keyPaths[index] ?? `key ${index}`;
}

/** A result's error in a JSON report; null when there is none. */
export function errorJson(
  error: VouchError | undefined,
): { code: string; category: VouchError['category']; message: string } | null {
  return error === undefined
    ? null
    : {
        code: error.code,
        category: error.category,
        message: error.message,
      };
}

/**
 * Writes each image's error as `vouch: ...` on stderr; returns the exit code:
 * the first of denied (1), invalid (2), unavailable (3) that some image has,
 * 0 if all verified.
 */
export function finishVerification(
  io: CliIO,
  results: readonly { readonly status: ImageStatus; readonly error?: VouchError }[],
): number {
  for (const result of results) {
    if (result.error !== undefined) io.stderr.write(`vouch: ${result.error.message}\n`);
  }
  return exitCodeOf(results.map((r) => (r.status === 'verified' ? 'ok' : r.status)));
}
