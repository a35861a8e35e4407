/**
 * Verifying images by key: gather the evidence (`evidence.ts`, I/O), decide
 * which signatures count (`evaluate.ts`, pure), and the use-case combining
 * both for many images (`verify.ts`).
 */
export type {
  CertificateTrust,
  KeyTrust,
  LoggedSignature,
  Policy,
  RejectedSignature,
  Rejection,
  RejectionCode,
  SignedBy,
  CosignTrust,
  Verdict,
  VerifiedSignature,
} from './evaluate.ts';
export { evaluate, isKeyTrust } from './evaluate.ts';
// Keyless trust (loads @sigstore/verify).
export type { ClassicLayerKind, LayerVerification } from './certificate-trust.ts';
export { certificateTrust, verifyClassicLayer } from './certificate-trust.ts';
export type {
  Evidence,
  GatherLimits,
  ImageEvidence,
  LayerEvidenceProblem,
  LayerWithPayload,
  RejectedLayerEvidence,
  SignatureEvidence,
} from './evidence.ts';
export { evidenceFromLayers, fetchSignatures, gatherSignatures, resolveImage } from './evidence.ts';
export type { ImageStatus, ImageVerification, VerifyOptions } from './verify.ts';
export { verifyImage, verifyImages, withTlogs } from './verify.ts';
export { decide } from './decide.ts';
// Attestations: the same split, for the `.att` DSSE layers.
export type {
  AttestationPolicy,
  AttestationRejection,
  AttestationRejectionCode,
  AttestationVerdict,
  RejectedAttestation,
  VerifiedAttestation,
} from './attestation-evaluate.ts';
export { evaluateAttestations } from './attestation-evaluate.ts';
export type {
  AttestationEvidence,
  AttestationGatherLimits,
  AttestationLayerEvidence,
  AttestationLayerEvidenceProblem,
  RejectedAttestationLayerEvidence,
} from './attestation-evidence.ts';
export {
  attestationEvidenceFromLayers,
  fetchAttestations,
  gatherAttestations,
} from './attestation-evidence.ts';
export type { AttestationVerification, VerifyAttestationOptions } from './verify-attestation.ts';
export {
  decideAttestations,
  verifyAttestationsOfImages,
  verifyImageAttestations,
} from './verify-attestation.ts';
// Sigstore bundles stored as OCI referrers (cosign 3): gathered here, decided
// by `evaluateAttestations` (attestations) and `evaluateBundleSignatures`.
export type { AttestationSource } from './attestation-evaluate.ts';
export { evaluateBundleStatements } from './attestation-evaluate.ts';
export type {
  BundleEvidence,
  BundleGatherLimits,
  BundleReferrerEvidence,
  BundleReferrerEvidenceProblem,
  RejectedBundleReferrer,
} from './bundle-evidence.ts';
export {
  DEFAULT_MAX_BUNDLE_REFERRERS,
  fetchBundleReferrers,
  referrersLocation,
} from './bundle-evidence.ts';
export type {
  BundleSignatureRejectionCode,
  BundleSignatureVerdict,
  RejectedBundleSignature,
} from './bundle-signatures.ts';
export { evaluateBundleSignatures } from './bundle-signatures.ts';
export type { VerifyErrorCode, VerifyErrorCodes } from './error-codes.ts';
export type {
  BlobArtifact,
  BlobProblemCode,
  BlobSignature,
  BlobTrust,
  BlobVerification,
} from './blob.ts';
export { verifyBlob } from './blob.ts';
