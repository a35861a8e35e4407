/**
 * The one table from error category to exit code (docs/design.md "Errors"):
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

/**
 * The exit code of a command that worked on several images: the first of
 * denied (1), invalid (2), unavailable (3) that some image ended in, so a
 * verification failure is never hidden behind a lesser problem; 0 if none.
 */
export function exitCodeOf(outcomes: readonly (ErrorCategory | 'ok')[]): number {
  for (const category of ['denied', 'invalid', 'unavailable'] as const) {
    if (outcomes.includes(category)) return EXIT_CODES[category];
  }
  return EXIT_OK;
}
