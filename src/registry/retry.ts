/**
 * What the read-modify-writes of a tag (attachment manifests, the referrers
 * fallback index) share when they retry: which failures are worth another
 * try, and how long to wait before it.
 */
import { isVouchError } from '../core/errors.ts';

const BACKOFF_BASE_MS = 20;
const BACKOFF_MAX_MS = 1000;

/**
 * Whether a failure may not recur on a second try: the store was
 * unavailable (a 5xx, an unexpected 4xx such as MANIFEST_BLOB_UNKNOWN
 * during concurrent uploads of one blob, a timeout), but not refused
 * credentials or rate limiting, which a retry within seconds does not cure,
 * nor a signer that failed (keys' SIGNING_FAILED). Distribution 2.8 answers 500 for a moment when writers race on one tag.
 */
export function isTransientError(error: unknown): error is Error {
  return (
    isVouchError(error) &&
    error.category === 'unavailable' &&
    !['UNAUTHORIZED', 'FORBIDDEN', 'RATE_LIMITED', 'SIGNING_FAILED'].includes(error.code)
  );
}

/** The wait before attempt `attempt + 1`: full jitter, doubling from 20 ms up to 1 s. */
export function backoffMs(attempt: number): number {
  return Math.random() * Math.min(BACKOFF_MAX_MS, BACKOFF_BASE_MS * 2 ** (attempt - 1));
}
