/**
 * The error codes src/registry/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface RegistryErrorCodes {
  AUTH_CHALLENGE_INVALID: 'unavailable';
  BLOB_SIZE_MISMATCH: 'denied';
  BLOB_TOO_LARGE: 'denied';
  BLOB_UNKNOWN: 'invalid';
  BLOB_UPLOAD_UNKNOWN: 'invalid';
  CREDENTIALS_INVALID: 'invalid';
  CREDENTIAL_HELPER_FAILED: 'unavailable';
  DELETE_UNSUPPORTED: 'unavailable';
  DIGEST_MISMATCH: 'denied';
  DOCKER_CONFIG_INVALID: 'invalid';
  DOCKER_CONFIG_UNREADABLE: 'invalid';
  DOCKER_CONFIG_UNWRITABLE: 'invalid';
  FORBIDDEN: 'unavailable';
  INDEX_TOO_LARGE: 'denied';
  INVALID_LAYOUT_REFERENCE: 'invalid';
  INVALID_OPTION: 'invalid';
  INVALID_TAG: 'invalid';
  LAYOUT_INVALID: 'denied' | 'invalid';
  LAYOUT_IO_ERROR: 'unavailable';
  LAYOUT_LOCKED: 'unavailable';
  LAYOUT_NOT_FOUND: 'invalid';
  MANIFEST_TOO_LARGE: 'denied' | 'invalid';
  MANIFEST_UNKNOWN: 'invalid';
  NAME_UNKNOWN: 'invalid';
  NETWORK_ERROR: 'unavailable';
  NOT_A_REGISTRY: 'invalid';
  PAGINATION_INVALID: 'denied';
  RATE_LIMITED: 'unavailable';
  REDIRECT_REFUSED: 'unavailable';
  REDIRECT_UNAUTHORIZED: 'unavailable';
  /** Concurrent writers kept changing the referrers fallback index (referrers-tag.ts). */
  REFERRERS_CONFLICT: 'unavailable';
  REFERRERS_INVALID: 'denied';
  REFERRERS_TOO_MANY: 'denied';
  REGISTRY_ERROR: 'unavailable';
  REGISTRY_INVALID: 'invalid';
  RESPONSE_INVALID: 'denied';
  RESPONSE_TOO_LARGE: 'denied';
  TAG_AMBIGUOUS: 'denied';
  TAG_LIST_INVALID: 'denied';
  TAG_LIST_TOO_LONG: 'denied';
  TOKEN_REQUEST_FAILED: 'unavailable';
  TOKEN_RESPONSE_INVALID: 'unavailable';
  TOO_MANY_REDIRECTS: 'unavailable';
  UNAUTHORIZED: 'unavailable';
  UNEXPECTED_RESPONSE: 'unavailable';
  UNSUPPORTED_MEDIA_TYPE: 'invalid';
}

export type RegistryErrorCode = keyof RegistryErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends RegistryErrorCodes {}
}
