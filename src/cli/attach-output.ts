/**
 * The output shared by `vouch sign` and `vouch attest`: how a failed image is
 * reported in text and JSON, and the exit code over all images. A failure's
 * message is written once, as the `vouch: IMAGE: ...` line on stderr; the
 * text report names the image's status and the error's code, so a terminal,
 * where both streams meet, shows the message once.
 */
import { isVouchError } from '../core/errors.ts';
import { exitCodeOf } from './exit-codes.ts';

export type AttachOutcome = { readonly ok: true } | { readonly ok: false; readonly error: Error };

/** The first line of an image's text report: `IMAGE: done` or `IMAGE: FAILED (CODE)`. */
export function statusLine(
  image: string,
  outcome: AttachOutcome,
  done: string,
  failed: string,
): string {
  return `${image}: ${outcome.ok ? done : `${failed} (${failureJson(outcome.error).code})`}`;
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
