/**
 * One error class for the whole library. Every failure carries a stable `code`
 * and one of three categories, so callers can tell "the evidence said no"
 * from "the evidence could not be gathered" from "the request was malformed"
 * (DESIGN.md, principle 3). Messages say what was expected, what was found
 * and where; `cause` keeps the underlying error.
 */

/**
 * - `denied`: verification or policy said no, or a peer served content that
 *   fails an integrity check (wrong digest, oversized or malformed data).
 * - `unavailable`: the evidence could not be gathered (network, timeout,
 *   5xx, 429, authentication refused).
 * - `invalid`: the caller's input is wrong (bad reference, missing file,
 *   unknown tag or repository).
 */
export type ErrorCategory = 'denied' | 'unavailable' | 'invalid';

export interface VouchErrorOptions {
  readonly cause?: unknown;
}

export class VouchError extends Error {
  readonly code: string;
  readonly category: ErrorCategory;

  constructor(category: ErrorCategory, code: string, message: string, options?: VouchErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VouchError';
    this.category = category;
    this.code = code;
  }
}

export function denied(code: string, message: string, options?: VouchErrorOptions): VouchError {
  return new VouchError('denied', code, message, options);
}

export function unavailable(
  code: string,
  message: string,
  options?: VouchErrorOptions,
): VouchError {
  return new VouchError('unavailable', code, message, options);
}

export function invalid(code: string, message: string, options?: VouchErrorOptions): VouchError {
  return new VouchError('invalid', code, message, options);
}

export function isVouchError(value: unknown): value is VouchError {
  return value instanceof VouchError;
}

/** The message of any thrown value, for wrapping foreign errors in ours. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
