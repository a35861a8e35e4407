/**
 * The error codes src/sigstore/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface SigstoreErrorCodes {
  INVALID_REGEXP: 'invalid';
  SIGNING_CONFIG_INVALID: 'invalid';
  SIGNING_CONFIG_REQUIRED: 'invalid';
  TRUSTED_ROOT_INVALID: 'invalid';
  TRUSTED_ROOT_UNAVAILABLE: 'unavailable';
  TUF_CACHE_INVALID: 'invalid';
  TUF_CACHE_WRITE_FAILED: 'unavailable';
  TUF_METADATA_REJECTED: 'denied';
  TUF_MIRROR_INVALID: 'invalid';
  TUF_ROOT_INVALID: 'invalid';
  TUF_ROOT_REQUIRED: 'invalid';
  TUF_TARGET_INVALID: 'denied';
  TUF_UNAVAILABLE: 'unavailable';
}

export type SigstoreErrorCode = keyof SigstoreErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends SigstoreErrorCodes {}
}
