/**
 * Notary Project (notation) signatures: certificate chains, RFC 3161
 * timestamp countersignatures and revocation, checked as notation does, and
 * the verification of images' signatures under a trust policy.
 */
export type {
  ChainProblem,
  ChainProblemCode,
  ChainPurpose,
  SigningChainOptions,
} from '../formats/notation/certificate-chain.ts';
export {
  chainValidAt,
  trustAnchorOf,
  validateChain,
  verifySigningChain,
} from '../formats/notation/certificate-chain.ts';
export type {
  TimestampInput,
  TimestampProblemCode,
  TimestampReading,
  TimestampVerification,
  VerifiedTimestamp,
} from '../formats/notation/timestamp.ts';
export { readTimestampToken, verifyTimestamp } from '../formats/notation/timestamp.ts';
export type { NotationCertificate } from '../formats/notation/x509.ts';
export { parseCertificate } from '../formats/notation/x509.ts';
export type {
  CertificateRevocation,
  CertificateRevocationResult,
  ChainRevocation,
  RevocationMethod,
  ServerResult,
} from '../formats/notation/revocation-result.ts';
export type { RevocationOptions, RevocationRequest } from './revocation.ts';
export {
  checkRevocation,
  DEFAULT_CRL_TIMEOUT_MS,
  DEFAULT_OCSP_TIMEOUT_MS,
  revocationError,
} from './revocation.ts';
export type { NotationErrorCode, NotationErrorCodes } from './error-codes.ts';
export type {
  NotationCheckOutcome,
  NotationCheckResult,
  NotationEvaluateOptions,
  NotationFailure,
  NotationFailureCode,
  NotationRevocationRequest,
  NotationRevocations,
  NotationSignatureResult,
  NotationSigner,
  NotationTrust,
  NotationVerdict,
  TimestampVerifier,
  TrustStoreContents,
} from './evaluate.ts';
export {
  evaluateNotation,
  planNotationRevocation,
  trustStoreKey,
  verifiesTimestamps,
} from './evaluate.ts';
export type {
  NotationEvidence,
  NotationGatherOptions,
  NotationImage,
  NotationSignatureEvidence,
  NotationSignatureProblem,
  RejectedNotationSignature,
  UntrustedNotationSignature,
} from './evidence.ts';
export {
  DEFAULT_MAX_NOTATION_ENVELOPE_BYTES,
  DEFAULT_MAX_NOTATION_SIGNATURES,
  gatherNotationSignatures,
  resolveNotationImage,
} from './evidence.ts';
export type {
  NotationImageStatus,
  NotationImageVerification,
  NotationVerifyOptions,
} from './verify.ts';
export { verifyNotationImages } from './verify.ts';
