/**
 * Verifying images by key: gather the evidence (`evidence.ts`, I/O), decide
 * which signatures count (`evaluate.ts`, pure), and the use-case combining
 * both for many images (`verify.ts`).
 */
export type {
  Policy,
  RejectedSignature,
  Rejection,
  RejectionCode,
  Trust,
  Verdict,
  VerifiedSignature,
} from './evaluate.ts';
export { evaluate, identityProblem } from './evaluate.ts';
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
export { decide, verifyImage, verifyImages } from './verify.ts';
