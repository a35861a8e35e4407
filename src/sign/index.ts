/**
 * Signing and attesting images as cosign does: resolve to a digest, sign the
 * simple-signing payload (or the DSSE envelope of an in-toto statement), and
 * store it as a layer of the `sha256-<hex>.sig` (`.att`) manifest beside the
 * image, without losing concurrent writers' work.
 */
export type {
  ManifestSignature,
  SignEvent,
  SignOptions,
  SignOutcome,
  SignRequest,
  SignResult,
} from './sign.ts';
export {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_SETTLE_MS,
  DEFAULT_SIGN_CONCURRENCY,
  MAX_RECURSIVE_MANIFESTS,
  MAX_SIGNATURE_CONFIG_BYTES,
  signImage,
  signImages,
} from './sign.ts';
export { defaultDockerReference, parseSignedIdentity } from './identity.ts';
export { attestationSigner, imageSigner } from './image-signer.ts';
export type {
  AttestEvent,
  AttestOptions,
  AttestOutcome,
  AttestRequest,
  AttestResult,
  ManifestAttestation,
} from './attest.ts';
export { attestImage, attestImages } from './attest.ts';
export { readPredicateFile } from './predicate-file.ts';
export type {
  CopiedAttachment,
  CopyWithAttachmentsOptions,
  CopyWithAttachmentsResult,
} from './copy-attachments.ts';
export { ATTACHMENT_SUFFIXES, copyWithAttachments } from './copy-attachments.ts';
// cosign 3's default storage: Sigstore bundles attached as OCI referrers.
export type {
  BundleAttestation,
  BundleAttestOptions,
  BundleAttestResult,
  BundleSignOptions,
} from './attest-bundle.ts';
export { attestImagesAsBundles, signImagesAsBundles } from './attest-bundle.ts';
export type { SignErrorCode, SignErrorCodes } from './error-codes.ts';
export type { SignedBlob } from './blob.ts';
export { signBlob } from './blob.ts';
