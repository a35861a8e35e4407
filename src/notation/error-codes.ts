/**
 * The error codes src/notation/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's. It also raises
 * formats/'s NOTATION_TRUST_POLICY_INVALID, NOTATION_TRUST_STORE_INVALID,
 * NOTATION_SIGNING_KEYS_INVALID and NOTATION_PLUGIN_RESPONSE_INVALID.
 */
export interface NotationErrorCodes {
  /** A certificate of a Notary Project chain is revoked (OCSP or CRL). */
  NOTATION_CERT_REVOKED: 'denied';
  /** A local signing key whose certificate is for another key (tls.LoadX509KeyPair). */
  NOTATION_KEY_CERT_MISMATCH: 'invalid';
  /** No Notary Project signature is associated with the image (verify.ts). */
  NOTATION_NO_SIGNATURES: 'denied';
  /** Signatures were found, and none verified under the trust policy. */
  NOTATION_NO_VALID_SIGNATURE: 'denied';
  /** A plugin that failed: its own error, a crash, a non-zero exit (plugin.ts). */
  NOTATION_PLUGIN_FAILED: 'invalid' | 'unavailable';
  NOTATION_PLUGIN_NOT_FOUND: 'invalid';
  /** A plugin that did not answer within its time limit and was stopped. */
  NOTATION_PLUGIN_TIMEOUT: 'unavailable';
  /** A plugin notation would not run or sign with: a symbolic link, not executable, no signing capability. */
  NOTATION_PLUGIN_UNUSABLE: 'invalid';
  /**
   * The revocation status of a certificate could not be determined: no OCSP
   * or CRL server answered in time, an answer did not verify or had
   * expired, or OCSP said "unknown" and no CRL decided.
   */
  NOTATION_REVOCATION_UNAVAILABLE: 'unavailable';
  /** A signing certificate chain out of order, or not valid at the signing time (sign.ts). */
  NOTATION_SIGNING_CHAIN_INVALID: 'invalid';
  /** None of the signatures examined verified, and more were listed than `--max-signatures`. */
  NOTATION_TOO_MANY_SIGNATURES: 'denied';
  NOTATION_TRUST_POLICY_NOT_FOUND: 'invalid';
  NOTATION_TRUST_POLICY_UNREADABLE: 'invalid';
  NOTATION_TRUST_STORE_NOT_FOUND: 'invalid';
  /** The timestamp authority could not be reached or did not answer 200. */
  NOTATION_TSA_UNAVAILABLE: 'unavailable';
  NOTATION_TSA_URL_INVALID: 'invalid';
}

export type NotationErrorCode = keyof NotationErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends NotationErrorCodes {}
}
