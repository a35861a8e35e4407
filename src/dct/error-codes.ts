/**
 * The error codes src/dct/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface DctErrorCodes {
  NOTARY_DELEGATION_INVALID: 'denied';
  NOTARY_DIGEST_MISMATCH: 'denied';
  NOTARY_EXPIRED: 'denied';
  NOTARY_HASH_MISMATCH: 'denied';
  NOTARY_KEY_INVALID: 'invalid';
  NOTARY_KEY_MISSING: 'denied' | 'invalid';
  NOTARY_KEY_NOT_DELEGATED: 'denied';
  NOTARY_LAST_RELEASE_SIGNER: 'invalid';
  NOTARY_METADATA_MISSING: 'denied';
  NOTARY_METADATA_TOO_LARGE: 'denied';
  NOTARY_NOT_FOUND: 'invalid';
  NOTARY_NO_TRUST_DATA: 'denied' | 'invalid';
  NOTARY_PUBLISH_REJECTED: 'denied';
  NOTARY_PUBLISH_UNREADABLE: 'denied';
  NOTARY_ROLLBACK: 'denied';
  NOTARY_ROOT_CERT_INVALID: 'denied';
  NOTARY_ROOT_KEY_INVALID: 'invalid';
  NOTARY_ROOT_NOT_PINNED: 'denied';
  NOTARY_ROOT_ROTATION_INVALID: 'denied';
  NOTARY_SERVER_ERROR: 'unavailable';
  NOTARY_SIGNER_NOT_FOUND: 'invalid';
  NOTARY_TAG_SHADOWED: 'invalid';
  NOTARY_TARGET_INVALID: 'denied';
  NOTARY_TARGET_NOT_FOUND: 'denied' | 'invalid';
  NOTARY_THRESHOLD_NOT_MET: 'denied';
  TRUST_STORE_IO_ERROR: 'unavailable';
}

export type DctErrorCode = keyof DctErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends DctErrorCodes {}
}
