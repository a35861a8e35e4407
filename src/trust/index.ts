/**
 * Docker Content Trust (Notary v1): the client update with its attack
 * protections as a pure function, docker's tag resolution, the notary server
 * client, the local trust store, and the `verify --notary` use-case.
 */
export type { NotaryLimits } from './gather.ts';
export { DEFAULT_NOTARY_LIMITS, fetchNotaryMetadata } from './gather.ts';
export type { SignedTarget } from './lookup.ts';
export { DOCKER_TRUSTED_ROLES, findTarget } from './lookup.ts';
export type { NotaryServerOptions } from './notary-server.ts';
export { NotaryServer } from './notary-server.ts';
export { pinnedKeyIds } from './pins.ts';
export { PINNED_ROOT_KEYS_FILE, TrustStore } from './store.ts';
export type {
  FetchedMetadata,
  TrustedMetadata,
  TrustedRepository,
  UpdateContext,
  VerifiedTargets,
} from './update.ts';
export { updateTrustedMetadata } from './update.ts';
export type {
  NotaryVerification,
  NotaryVerifyOptions,
  RejectedRole,
  SignedTag,
} from './verify-notary.ts';
export { checkServedManifest, signedTag, verifyNotaryImage } from './verify-notary.ts';
