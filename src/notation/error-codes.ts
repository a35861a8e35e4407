/**
 * The error codes src/notation/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's. It also raises
 * formats/'s NOTATION_TRUST_POLICY_INVALID and NOTATION_TRUST_STORE_INVALID.
 */
export interface NotationErrorCodes {
  /** A certificate of a Notary Project chain is revoked (OCSP or CRL). */
  NOTATION_CERT_REVOKED: 'denied';
  /**
   * The revocation status of a certificate could not be determined: no OCSP
   * or CRL server answered in time, an answer did not verify or had
   * expired, or OCSP said "unknown" and no CRL decided.
   */
  NOTATION_REVOCATION_UNAVAILABLE: 'unavailable';
  NOTATION_TRUST_POLICY_NOT_FOUND: 'invalid';
  NOTATION_TRUST_POLICY_UNREADABLE: 'invalid';
  NOTATION_TRUST_STORE_NOT_FOUND: 'invalid';
  /** No Notary Project signature is associated with the image (verify.ts). */
  NOTATION_NO_SIGNATURES: 'denied';
  /** Signatures were found, and none verified under the trust policy. */
  NOTATION_NO_VALID_SIGNATURE: 'denied';
  /** None of the signatures examined verified, and more were listed than `--max-signatures`. */
  NOTATION_TOO_MANY_SIGNATURES: 'denied';
}

export type NotationErrorCode = keyof NotationErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends NotationErrorCodes {}
}
