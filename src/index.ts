/**
 * vouch: sign container images, verify them, and let only trusted images run.
 * The root exports the use-cases and the types they take; the layers are
 * available as subpaths (`vouch/oci`, `vouch/registry`, `vouch/keys`,
 * `vouch/formats`, `vouch/sign`, `vouch/verify`, `vouch/core`).
 */
export type { ErrorCategory } from './core/errors.ts';
export { isVouchError, VouchError } from './core/errors.ts';
export type { Digest, ImageReference } from './oci/index.ts';
export { parseReference } from './oci/index.ts';
export type { CopyOptions, CopyResult, ImageStore, ManifestTarget } from './registry/index.ts';
export { copyImage, Stores } from './registry/index.ts';
export type { KeyPair, Signer } from './keys/index.ts';
export { generateKeyPair, loadPrivateKey, parsePublicKeyPem } from './keys/index.ts';
export type {
  ManifestSignature,
  SignEvent,
  SignOptions,
  SignOutcome,
  SignRequest,
  SignResult,
} from './sign/index.ts';
export { imageSigner, signImage, signImages } from './sign/index.ts';
export type {
  AttestEvent,
  AttestOptions,
  AttestRequest,
  AttestResult,
  ManifestAttestation,
} from './sign/index.ts';
export { attestationSigner, attestImage, attestImages, readPredicateFile } from './sign/index.ts';
export type { BundleAttestOptions, BundleAttestResult, BundleSignOptions } from './sign/index.ts';
export { attestImagesAsBundles, signImagesAsBundles } from './sign/index.ts';
export type {
  CopiedAttachment,
  CopyWithAttachmentsOptions,
  CopyWithAttachmentsResult,
} from './sign/index.ts';
export { copyWithAttachments } from './sign/index.ts';
export type {
  ImageVerification,
  Policy,
  CosignTrust,
  Verdict,
  VerifyOptions,
} from './verify/index.ts';
export { evaluate, gatherSignatures, verifyImage, verifyImages } from './verify/index.ts';
export type {
  AttestationPolicy,
  AttestationVerdict,
  AttestationVerification,
  VerifyAttestationOptions,
} from './verify/index.ts';
export {
  evaluateAttestations,
  gatherAttestations,
  verifyAttestationsOfImages,
  verifyImageAttestations,
} from './verify/index.ts';
export type { BundleEvidence, BundleSignatureVerdict } from './verify/index.ts';
export { evaluateBundleSignatures, fetchBundleReferrers } from './verify/index.ts';
export { PREDICATE_TYPES, predicateTypeUri } from './formats/index.ts';
