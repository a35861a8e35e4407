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
