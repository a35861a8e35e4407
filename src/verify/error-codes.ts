/**
 * The error codes src/verify/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface VerifyErrorCodes {
  NO_ATTESTATIONS: 'denied';
  NO_SIGNATURES: 'denied';
  NO_TRUSTED_KEYS: 'invalid';
  NO_VALID_ATTESTATION: 'denied';
  NO_VALID_SIGNATURE: 'denied';
  TOO_MANY_REFERRERS: 'denied';
}

export type VerifyErrorCode = keyof VerifyErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends VerifyErrorCodes {}
}
