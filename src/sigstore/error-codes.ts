/**
 * The error codes src/sigstore/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface SigstoreErrorCodes {
  /** The token's `aud` names neither the audience Fulcio expects nor the client ID. */
  IDENTITY_TOKEN_AUDIENCE: 'invalid';
  /** The token's `exp` has passed. */
  IDENTITY_TOKEN_EXPIRED: 'invalid';
  /** Not a usable OIDC identity token (JWT shape, claims), or a token source's answer is malformed. */
  IDENTITY_TOKEN_INVALID: 'invalid';
  /** A token source could not be reached or refused to give one (HTTP status, network). */
  IDENTITY_TOKEN_UNAVAILABLE: 'unavailable';
  INVALID_REGEXP: 'invalid';
  /** The user (or the OIDC issuer) refused the device authorization (RFC 8628 `access_denied`). */
  OIDC_ACCESS_DENIED: 'unavailable';
  /** The device code expired before the user approved it (RFC 8628 `expired_token`, `expires_in`). */
  OIDC_DEVICE_CODE_EXPIRED: 'unavailable';
  /** The OIDC issuer's discovery document or endpoints are unusable (issuer mismatch, no PKCE, http). */
  OIDC_ISSUER_INVALID: 'invalid';
  /** Fulcio's certificate is not X.509, or certifies another key than the run's. */
  SIGNING_CERTIFICATE_INVALID: 'denied';
  /** Fulcio's certificate has no SCT, or one that does not verify against the trusted root's CT logs. */
  SIGNING_CERTIFICATE_SCT_INVALID: 'denied';
  /** Fulcio's certificate does not chain to a CA of the trusted root. */
  SIGNING_CERTIFICATE_UNTRUSTED: 'denied';
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
