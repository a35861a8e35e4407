/**
 * The error codes src/cli/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface CliErrorCodes {
  ALREADY_COSIGN_KEY: 'invalid';
  CA_FILE_UNREADABLE: 'invalid';
  EVIDENCE_UNREADABLE: 'invalid';
  FILE_UNREADABLE: 'invalid';
  FILE_UNWRITABLE: 'invalid';
  FILE_CHANGED: 'invalid';
  /** Keyless signing found no identity token in any source (cli/identity-token-options.ts). */
  IDENTITY_TOKEN_MISSING: 'invalid';
  INTERRUPTED: 'invalid';
  KEY_FILE_PERMISSIONS: 'invalid';
  MANIFEST_UNREADABLE: 'invalid';
  NO_SBOM: 'denied';
  /** `vouch notation inspect` could not show every signature (each is named on stderr). */
  NOTATION_INSPECT_INCOMPLETE: 'denied';
  OUTPUT_UNWRITABLE: 'invalid';
  PASSWORD_FILE_TOO_LARGE: 'invalid';
  PASSWORD_FILE_UNREADABLE: 'invalid';
  PASSWORD_MISMATCH: 'invalid';
  SBOM_ATTACHMENT_INVALID: 'denied';
  SBOM_TOO_LARGE: 'denied';
}

export type CliErrorCode = keyof CliErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends CliErrorCodes {}
}
