/**
 * vouch: sign container images, verify them, and let only trusted images run.
 * The root exports the use-cases and the types they take; the layers are
 * available as subpaths (`vouch/oci`, `vouch/registry`, `vouch/core`).
 */
export type { ErrorCategory } from './core/errors.ts';
export { isVouchError, VouchError } from './core/errors.ts';
export type { Digest, ImageReference } from './oci/index.ts';
export { parseReference } from './oci/index.ts';
export type { CopyOptions, CopyResult, ImageStore, ManifestTarget } from './registry/index.ts';
export { copyImage, Stores } from './registry/index.ts';
export type { Signer } from './keys/signer.ts';
export { createKeySigner } from './keys/signer.ts';
export type {
  ManifestSignature,
  SignEvent,
  SignOptions,
  SignOutcome,
  SignRequest,
  SignResult,
} from './sign/index.ts';
export {
  defaultDockerReference,
  parseSignedIdentity,
  signImage,
  signImages,
} from './sign/index.ts';
