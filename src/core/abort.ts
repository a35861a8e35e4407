/**
 * Work a caller stopped with an AbortSignal, as one of our errors: the
 * caller's deadline is "could not check" like any other failure to gather
 * evidence (docs/design.md principle 3), with a code saying why.
 */
import { isVouchError, unavailable, VouchError } from './errors.ts';

/**
 * The error for `what`, cut short by `signal`: the signal's reason when it
 * is a VouchError (a deadline the caller worded itself), `DEADLINE_EXCEEDED`
 * when it is `AbortSignal.timeout`'s TimeoutError, else `ABORTED`.
 */
export function abortError(signal: AbortSignal, what: string): VouchError {
  const reason: unknown = signal.reason;
  if (isVouchError(reason)) {
    return new VouchError(reason.category, reason.code, `${reason.message}: stopped ${what}`, {
      cause: reason,
    });
  }
  if (reason instanceof Error && reason.name === 'TimeoutError') {
    return unavailable('DEADLINE_EXCEEDED', `the deadline passed before ${what} finished`, {
      cause: reason,
    });
  }
  return unavailable('ABORTED', `${what} was cancelled`, { cause: reason });
}
