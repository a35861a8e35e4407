/**
 * The error codes src/admission/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface AdmissionErrorCodes {
  ADMISSION_REVIEW_INVALID: 'invalid';
  OPENSSL_FAILED: 'unavailable';
  TLS_UNREADABLE: 'invalid';
}

export type AdmissionErrorCode = keyof AdmissionErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends AdmissionErrorCodes {}
}
