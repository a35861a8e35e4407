/**
 * The error codes src/simple-signing/ raises, each with the categories it is
 * raised with; core/errors.ts `ErrorCodes` gathers every layer's. It also
 * raises formats/'s REGISTRIES_D_INVALID, LOOKASIDE_URL_INVALID and
 * SIGNATURE_EXTENSION_INVALID, and registry/'s HTTP codes (NETWORK_ERROR,
 * TOO_MANY_REDIRECTS, REDIRECT_REFUSED, RESPONSE_TOO_LARGE, ...).
 */
export interface SimpleSigningErrorCodes {
  /** `gpg` did not sign in time or wrote too much (sign.ts through gpg-signer.ts). */
  GPG_FAILED: 'unavailable';
  /** The image's store holds no signature for its digest (`vouch verify --gpg-key`). */
  GPG_NO_SIGNATURES: 'denied';
  /** None of the image's GPG signatures is accepted; each one's reason is in the result. */
  GPG_NO_VALID_SIGNATURE: 'denied';
  /** A lookaside location is http(s) and no `lookaside-staging` is set: containers/image writes only to file://. */
  LOOKASIDE_READ_ONLY: 'invalid';
  /** One signature-N larger than the cap (containers/image's 4 MiB), or all of them together over theirs. */
  LOOKASIDE_SIGNATURE_TOO_LARGE: 'denied';
  /**
   * Reading: the store still had signatures after the cap (containers/image
   * gives up after 128). Writing: signature-1 to the cap all exist.
   */
  LOOKASIDE_TOO_MANY_SIGNATURES: 'denied' | 'invalid';
  /** A signature could not be read: an HTTP status other than 200 or 404, a file that is not a readable regular file. */
  LOOKASIDE_UNAVAILABLE: 'unavailable';
  /** A signature could not be written to a file:// lookaside (permissions, disk). */
  LOOKASIDE_WRITE_FAILED: 'unavailable';
  /** A registries.d directory or file that cannot be listed or read. */
  REGISTRIES_D_UNREADABLE: 'invalid';
  /** Simple signing signatures belong to registry images; an OCI layout has no store for them. */
  SIMPLE_SIGNING_STORE_UNSUPPORTED: 'invalid';
}

export type SimpleSigningErrorCode = keyof SimpleSigningErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends SimpleSigningErrorCodes {}
}
