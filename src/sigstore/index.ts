/**
 * Sigstore trust material and transparency-log checks: trusted roots (the
 * public-good one shipped with vouch, one refreshed through TUF, or a private
 * deployment's), the transparency logs they name, Rekor bundles on cosign
 * signatures, and keyless verification of Sigstore bundles for a certificate
 * identity.
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
  publicGoodSeedsPath,
  publicGoodTrustedRoot,
  publicGoodTrustedRootLoaded,
  publicGoodTufRoot,
} from './public-good.ts';
export type {
  SelectedTrustedRoot,
  SelectTrustedRootOptions,
  TrustedRootOrigin,
} from './trusted-root-source.ts';
export { selectTrustedRoot } from './trusted-root-source.ts';
export type {
  TrustedAuthoritySummary,
  TrustedLogSummary,
  TrustedRootSummary,
} from './trusted-root-summary.ts';
export { summarizeTrustedRoot } from './trusted-root-summary.ts';
export type { CachedTufRepository, TufMetadataInfo, TufRole } from './tuf-cache.ts';
export { normalizeMirrorUrl, readCurrentTufRepository } from './tuf-cache.ts';
// tuf-js itself is loaded only when an update runs.
export type { InitialRootSource, TufUpdateOptions, TufUpdateResult } from './tuf-update.ts';
export { updateTrustedRoot } from './tuf-update.ts';
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
export type { SigstoreErrorCode, SigstoreErrorCodes } from './error-codes.ts';
export type {
  KeyBundleOptions,
  KeyBundleProblemCode,
  KeyBundleVerification,
} from './key-bundle.ts';
export { verifyKeyBundle } from './key-bundle.ts';
export { publicKeyTrustOf } from './keyless-trust.ts';
export type { LogEntry, SignatureCheck } from './bundle-checks.ts';
