/**
 * The one table from error category to exit code (DESIGN.md "Errors"):
 * 0 ok, 1 denied, 2 invalid input or usage, 3 could not check.
 */
import type { ErrorCategory } from '../core/errors.ts';

export const EXIT_OK = 0;

export const EXIT_CODES: Readonly<Record<ErrorCategory, number>> = {
  denied: 1,
  invalid: 2,
  unavailable: 3,
};

export const EXIT_USAGE = EXIT_CODES.invalid;
/** A failure that is not one of ours (a bug): vouch could not check, so never 0 or 1. */
export const EXIT_INTERNAL = EXIT_CODES.unavailable;
