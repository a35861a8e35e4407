/**
 * The output shared by `vouch sign` and `vouch attest`: how a failed image is
 * reported in text and JSON, and the exit code over all images.
 */
import { isVouchError } from '../core/errors.ts';
import { exitCodeOf } from './exit-codes.ts';

type AttachOutcome = { readonly ok: true } | { readonly ok: false; readonly error: Error };

/** The indented line that says why an image failed. */
export function failureLine(error: Error): string {
  const code = isVouchError(error) ? `${error.code}: ` : '';
  return `  ${code}${error.message}`;
}

/** A failure in a JSON report; an error that is not ours is an internal one. */
export function failureJson(error: Error) {
  return {
    category: isVouchError(error) ? error.category : 'internal',
    code: isVouchError(error) ? error.code : 'INTERNAL',
    message: error.message,
  };
}

/** The first of denied, invalid, unavailable among the images; a foreign error could not check. */
export function attachExitCode(results: readonly AttachOutcome[]): number {
  return exitCodeOf(
    results.map((r) => (r.ok ? 'ok' : isVouchError(r.error) ? r.error.category : 'unavailable')),
  );
}
