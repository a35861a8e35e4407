/**
 * Sigstore trust material and transparency-log checks: trusted roots (the
 * public-good one shipped with vouch, or a private deployment's), the
 * transparency logs they name, Rekor bundles on cosign signatures, and
 * keyless verification of Sigstore bundles for a certificate identity.
 */
export type { TransparencyLog, TrustedRoot } from './trusted-root.ts';
export {
  logIdOf,
  logsWithId,
  parseTrustedRoot,
  TRUSTED_ROOT_MEDIA_TYPE,
  transparencyLogFromKey,
  validAt,
} from './trusted-root.ts';
export type { SignedPayload, TlogProblem, TlogProblemCode, VerifiedLogEntry } from './rekor.ts';
export { checkRekorBundle, setPayloadBytes, verifySignedEntryTimestamp } from './rekor.ts';
export {
  PUBLIC_GOOD_TUF_URL,
  publicGoodTrustedRoot,
  publicGoodTrustedRootLoaded,
} from './public-good.ts';
export type {
  CertificateClaims,
  CertificateIdentity,
  GithubWorkflowClaims,
  IdentityProblem,
  IdentityProblemCode,
  ValueMatcher,
} from './certificate-identity.ts';
export {
  certificateClaims,
  describeMatcher,
  exactly,
  identityProblem,
  matches,
  matchingRegexp,
} from './certificate-identity.ts';
export type { KeylessTrust } from './keyless-trust.ts';
export { keylessTrustOf } from './keyless-trust.ts';
export type {
  BundleVerification,
  KeylessLogEntry,
  KeylessProblemCode,
  KeylessSigner,
} from './keyless.ts';
export { verifyBundle } from './keyless.ts';
