/**
 * The error codes src/formats/containers-policy/ raises, each with the
 * categories it is raised with; core/errors.ts `ErrorCodes` gathers every
 * layer's.
 */
export interface ContainersPolicyFormatErrorCodes {
  /** A policy.json containers/image would refuse (or one vouch cannot read the same way). */
  CONTAINERS_POLICY_INVALID: 'invalid';
}

export type ContainersPolicyFormatErrorCode = keyof ContainersPolicyFormatErrorCodes;

declare module '../../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends ContainersPolicyFormatErrorCodes {}
}
