/**
 * The error codes src/sign/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface SignErrorCodes {
  ATTACHMENT_EXISTS: 'invalid';
  ATTESTATION_CONFLICT: 'unavailable';
  ATTESTATION_TOO_LARGE: 'invalid';
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
