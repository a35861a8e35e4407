/**
 * The error codes src/containers-policy/ raises, each with the categories it
 * is raised with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface ContainersPolicyErrorCodes {
  /** policy.json does not allow the image (IsRunningImageAllowed said no). */
  CONTAINERS_POLICY_DENIED: 'denied';
  /** The policy file or a key file it names cannot be read, or a key is not one. */
  CONTAINERS_POLICY_FILE_INVALID: 'invalid';
}

export type ContainersPolicyErrorCode = keyof ContainersPolicyErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends ContainersPolicyErrorCodes {}
}
