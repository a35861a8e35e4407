/**
 * The output shared by `vouch sign` and `vouch attest`: how a failed image is
 * reported in text and JSON, and the exit code over all images. A failure's
 * message is written once, as the `vouch: IMAGE: ...` line on stderr; the
 * text report names the image's status and the error's code, so a terminal,
 * where both streams meet, shows the message once.
 */
import { isVouchError } from '../core/errors.ts';
import type { Digest } from '../oci/digest.ts';
import { exitCodeOf } from './exit-codes.ts';
import { type CliIO, type OutputFormat, writeJson } from './io.ts';

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

/** What every image's result carries, whatever was attached to it. */
export type ImageOutcome = AttachOutcome & {
  readonly image: string;
  readonly digest?: Digest;
  readonly mediaType?: string;
};

/** How one command shows its results. */
export interface AttachReport<R extends ImageOutcome> {
  /** One image in the JSON report's `images`. */
  json(result: R): unknown;
  /** One image's text report, ending in a newline. */
  text(result: R): string;
  /** After the text report, on stderr: a summary of all images. */
  summary?(results: readonly R[]): string | undefined;
  /** On stderr, for an image that succeeded: a note worth reading. */
  note?(result: R): string | undefined;
}

/**
 * Writes the report (JSON `{ok, images}` or text on stdout), then each failed
 * image's message (and each note) on stderr; returns the exit code.
 */
export function reportAttach<R extends ImageOutcome>(
  io: CliIO,
  format: OutputFormat,
  results: readonly R[],
  report: AttachReport<R>,
): number {
  if (format === 'json') {
    writeJson(io, { ok: results.every((r) => r.ok), images: results.map((r) => report.json(r)) });
  } else {
    io.stdout.write(results.map((r) => report.text(r)).join(''));
    const summary = report.summary?.(results);
    if (summary !== undefined) io.stderr.write(summary);
  }
  for (const result of results) {
    if (!result.ok) io.stderr.write(`vouch: ${result.image}: ${result.error.message}\n`);
    else {
      const note = report.note?.(result);
      if (note !== undefined) io.stderr.write(note);
    }
  }
  return attachExitCode(results);
}

/** An image's result in a JSON report: its manifests' results under `key`, then any error. */
export function imageResultJson<K extends string>(
  result: ImageOutcome & { readonly [key in K]: readonly unknown[] },
  key: K,
) {
  return {
    image: result.image,
    ok: result.ok,
    ...(result.digest === undefined ? {} : { digest: result.digest }),
    ...(result.mediaType === undefined ? {} : { mediaType: result.mediaType }),
    [key]: result[key],
    ...(result.ok ? {} : { error: failureJson(result.error) }),
  };
}
