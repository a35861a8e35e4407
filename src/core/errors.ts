/**
 * One error class for the whole library. Every failure carries a stable `code`
 * and one of three categories, so callers can tell "the evidence said no"
 * from "the evidence could not be gathered" from "the request was malformed"
 * (docs/design.md, "Errors"). Messages say what was expected, what was found
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

/**
 * Every error code and the categories it may be raised with. Each layer
 * declares its own codes in its `error-codes.ts`, which augments this
 * interface (and exports the layer's union, e.g. `RegistryErrorCode`), so a
 * code is one name in one place, a typo is a type error, and a code cannot
 * be raised with a category its layer did not declare for it.
 */
export interface ErrorCodes {
  /** A command line or option the caller got wrong. */
  USAGE: 'invalid';
  /** The command's overall deadline passed (core/abort.ts). */
  DEADLINE_EXCEEDED: 'unavailable';
  /** The caller stopped the work (core/abort.ts). */
  ABORTED: 'unavailable';
}

export type ErrorCode = keyof ErrorCodes;

/** The codes that may be raised with `category`. */
export type CodeOf<C extends ErrorCategory> = {
  [K in ErrorCode]: C extends ErrorCodes[K] ? K : never;
}[ErrorCode];

export interface VouchErrorOptions {
  readonly cause?: unknown;
}

export class VouchError<Code extends ErrorCode = ErrorCode> extends Error {
  readonly code: Code;
  readonly category: ErrorCategory;

  constructor(category: ErrorCategory, code: Code, message: string, options?: VouchErrorOptions) {
    super(message, options?.cause === undefined ? undefined : { cause: options.cause });
    this.name = 'VouchError';
    this.category = category;
    this.code = code;
  }
}

export function denied<C extends CodeOf<'denied'>>(
  code: C,
  message: string,
  options?: VouchErrorOptions,
): VouchError<C> {
  return new VouchError('denied', code, message, options);
}

export function unavailable<C extends CodeOf<'unavailable'>>(
  code: C,
  message: string,
  options?: VouchErrorOptions,
): VouchError<C> {
  return new VouchError('unavailable', code, message, options);
}

export function invalid<C extends CodeOf<'invalid'>>(
  code: C,
  message: string,
  options?: VouchErrorOptions,
): VouchError<C> {
  return new VouchError('invalid', code, message, options);
}

export function isVouchError(value: unknown): value is VouchError {
  return value instanceof VouchError;
}

/** Whether `value` is a VouchError with one of `codes`: how callers branch on a code. */
export function hasCode<C extends ErrorCode>(
  value: unknown,
  ...codes: readonly C[]
): value is VouchError<C> {
  return value instanceof VouchError && (codes as readonly ErrorCode[]).includes(value.code);
}

/** The message of any thrown value, for wrapping foreign errors in ours. */
export function messageOf(error: unknown): string {
  return error instanceof Error ? error.message : String(error);
}
