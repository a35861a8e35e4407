/**
 * The error codes src/sign/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface SignErrorCodes {
  ATTACHMENT_EXISTS: 'invalid';
  ATTESTATION_CONFLICT: 'unavailable';
  ATTESTATION_TOO_LARGE: 'invalid';
  FULCIO_REFUSED: 'invalid';
  FULCIO_RESPONSE_INVALID: 'denied';
  FULCIO_UNAVAILABLE: 'unavailable';
  KEYLESS_SIGNATURE_INVALID: 'denied';
  REKOR_REFUSED: 'invalid';
  REKOR_RESPONSE_INVALID: 'denied';
  REKOR_UNAVAILABLE: 'unavailable';
  TLOG_ENTRY_INVALID: 'denied';
  TSA_REFUSED: 'invalid';
  TSA_RESPONSE_INVALID: 'denied';
  TSA_UNAVAILABLE: 'unavailable';
  INVALID_ANNOTATION: 'invalid';
  INVALID_IDENTITY: 'invalid';
  PREDICATE_TOO_LARGE: 'invalid';
  PREDICATE_UNREADABLE: 'invalid';
  SIGNATURE_CONFLICT: 'unavailable';
  TOO_MANY_MANIFESTS: 'denied';
}

export type SignErrorCode = keyof SignErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends SignErrorCodes {}
}
