/**
 * The error codes src/policy/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface PolicyErrorCodes {
  CHECK_FAILED: 'unavailable';
  EVIDENCE_INVALID: 'invalid';
  INVALID_CONDITION: 'invalid';
  INVALID_GLOB: 'invalid';
  MANIFEST_YAML_INVALID: 'invalid';
  POLICY_INVALID: 'invalid';
  MANIFEST_PIN_UNSAFE: 'invalid';
  NOTATION_DIGEST_MISMATCH: 'denied';
  GPG_DIGEST_MISMATCH: 'denied';
  /** A gpg authority found no GPG simple signature for the image's digest. */
  GPG_SIGNATURE_MISSING: 'denied';
  POLICY_UNREADABLE: 'invalid';
  /** `vouch policy import`: the foreign policy is malformed. */
  POLICY_IMPORT_INVALID: 'invalid';
  /** `vouch policy import`: a construct has no exact ImagePolicy equivalent. */
  POLICY_IMPORT_REFUSED: 'invalid';
}

export type PolicyErrorCode = keyof PolicyErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends PolicyErrorCodes {}
}
