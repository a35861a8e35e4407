/**
 * Sigstore trust material and transparency-log checks: trusted roots (the
 * public-good one shipped with vouch, or a private deployment's), the
 * transparency logs they name, and Rekor bundles on cosign signatures.
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
