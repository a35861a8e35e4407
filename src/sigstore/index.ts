/**
 * Sigstore trust material and transparency-log checks: trusted roots (the
 * public-good one shipped with vouch, one refreshed through TUF, or a private
 * deployment's), the signing config that says which services keyless signing
 * uses, the transparency logs they name, Rekor bundles on cosign signatures,
 * keyless verification of Sigstore bundles for a certificate identity, and
 * the OIDC identity tokens keyless signing exchanges at Fulcio (checked;
 * fetched from GitHub Actions or by an issuer's device flow).
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
export type {
  SelectSigningServicesOptions,
  ServiceConfiguration,
  ServiceOverrides,
  ServiceSelector,
  SigningConfig,
  SigningService,
  SigningServices,
} from './signing-config.ts';
export {
  parseSigningConfig,
  selectSigningServices,
  serviceUrlProblem,
  serviceValidAt,
  SIGNING_CONFIG_MEDIA_TYPE,
  withServiceOverrides,
} from './signing-config.ts';
export {
  PUBLIC_GOOD_SIGNING_CONFIG_URL,
  publicGoodSigningConfig,
  publicGoodSigningConfigBytes,
} from './public-good-signing-config.ts';
export type {
  SelectedSigningConfig,
  SelectSigningConfigOptions,
  SigningConfigOrigin,
} from './signing-config-source.ts';
export { selectSigningConfig } from './signing-config-source.ts';
export type { CachedTufRepository, TufMetadataInfo, TufRole } from './tuf-cache.ts';
export { normalizeMirrorUrl, readCurrentTufRepository } from './tuf-cache.ts';
// tuf-js itself is loaded only when an update runs.
export type {
  InitialRootSource,
  SigningConfigUpdate,
  TufUpdateOptions,
  TufUpdateResult,
} from './tuf-update.ts';
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
export type { CheckIdentityTokenOptions, IdentityToken } from './identity-token.ts';
export {
  checkIdentityToken,
  DEFAULT_CLOCK_SKEW_SECONDS,
  MAX_IDENTITY_TOKEN_BYTES,
  parseIdentityToken,
  SIGSTORE_AUDIENCE,
} from './identity-token.ts';
export type { GithubActionsTokenOptions } from './github-actions-token.ts';
export { fetchGithubActionsToken } from './github-actions-token.ts';
export type { DeviceFlowOptions, DeviceFlowPrompt } from './oidc-device-flow.ts';
export { deviceFlowToken, PUBLIC_GOOD_OIDC_ISSUER } from './oidc-device-flow.ts';
export type { SigstoreErrorCode, SigstoreErrorCodes } from './error-codes.ts';
export type {
  KeyBundleOptions,
  KeyBundleProblemCode,
  KeyBundleVerification,
} from './key-bundle.ts';
export { verifyKeyBundle } from './key-bundle.ts';
export { publicKeyTrustOf } from './keyless-trust.ts';
export type { LogEntry, SignatureCheck } from './bundle-checks.ts';
