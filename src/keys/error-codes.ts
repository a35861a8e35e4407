/**
 * The error codes src/keys/ raises, each with the categories it is raised
 * with; core/errors.ts `ErrorCodes` gathers every layer's.
 */
export interface KeyErrorCodes {
  DIRECTORY_NOT_FOUND: 'invalid';
  INVALID_KEY_PREFIX: 'invalid';
  KEY_DERIVATION_FAILED: 'unavailable';
  KEY_FILE_EXISTS: 'invalid';
  KEY_FILE_IO_FAILED: 'unavailable';
  KEY_FILE_TOO_LARGE: 'invalid';
  KEY_FILE_UNREADABLE: 'invalid';
  KEY_FILE_UNWRITABLE: 'invalid';
  MALFORMED_KEY: 'invalid';
  MALFORMED_PEM: 'invalid';
  PASSWORD_REQUIRED: 'invalid';
  SIGNING_FAILED: 'unavailable';
  UNSUPPORTED_ALGORITHM: 'invalid';
  UNSUPPORTED_KEY: 'invalid';
  UNSUPPORTED_KEY_ENCRYPTION: 'invalid';
  UNSUPPORTED_KEY_FORMAT: 'invalid';
  WRONG_PASSWORD: 'invalid';
}

export type KeyErrorCode = keyof KeyErrorCodes;

declare module '../core/errors.ts' {
  // eslint-disable-next-line @typescript-eslint/no-empty-object-type -- declaration merging
  interface ErrorCodes extends KeyErrorCodes {}
}
