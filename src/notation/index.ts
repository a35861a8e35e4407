/**
 * Notary Project (notation) signatures: certificate chains, RFC 3161
 * timestamp countersignatures and revocation, checked as notation does.
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
  TimestampVerification,
  VerifiedTimestamp,
} from '../formats/notation/timestamp.ts';
export { verifyTimestamp } from '../formats/notation/timestamp.ts';
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
