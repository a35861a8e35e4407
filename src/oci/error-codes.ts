/**
 * The error codes src/oci/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface OciErrorCodes {
  INVALID_DIGEST: 'invalid';
  INVALID_REFERENCE: 'invalid';
  MANIFEST_INVALID: 'denied' | 'invalid';
}

export type OciErrorCode = keyof OciErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends OciErrorCodes {}
}
