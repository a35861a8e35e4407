/**
 * Docker Content Trust (Notary v1): the client update with its attack
 * protections as a pure function, docker's tag resolution, the notary server
 * client, the local trust and key stores, the `verify --notary` use-case,
 * and the writing use-cases behind `vouch trust` (sign, revoke, signers, key
 * rotation, inspect, migration to cosign).
 */
export type { NotaryLimits, NotaryMetadataSource } from './gather.ts';
export { DEFAULT_NOTARY_LIMITS, fetchNotaryMetadata, fetchTimestamp } from './gather.ts';
export type { SignedTarget } from './lookup.ts';
export { DOCKER_TRUSTED_ROLES, findTarget } from './lookup.ts';
export type { NotaryServerOptions } from './notary-server.ts';
export { NotaryServer } from './notary-server.ts';
export { pinnedKeyIds } from './pins.ts';
export { PINNED_ROOT_KEYS_FILE, NotaryMetadataStore } from './metadata-store.ts';
export type {
  FetchedMetadata,
  TrustedMetadata,
  TrustedRepository,
  UpdateContext,
  VerifiedTargets,
} from './update.ts';
export { cachedEvidence, updateTrustedMetadata } from './update.ts';
export type { RefreshOptions } from './refresh.ts';
export { refreshRepository } from './refresh.ts';
export type {
  NotaryVerification,
  NotaryVerifyOptions,
  RejectedRole,
  SignedTag,
} from './verify-notary.ts';
export { checkServedManifest, signedTag, verifyNotaryImage } from './verify-notary.ts';
export type { TrustInspection, TrustSignerInfo, TrustTagInfo } from './inspect.ts';
export { inspectTrust, prettyTrust, trustInspectJson } from './inspect.ts';
export type {
  NotaryKeyStoreOptions,
  PassphraseRequest,
  PassphraseSource,
  StoredKey,
} from './key-store.ts';
export { NotaryKeyStore } from './key-store.ts';
export type { MigratedTag, Migration, MigrateOptions, MigrationStatus } from './migrate.ts';
export { migrateRepository } from './migrate.ts';
export type { Published, TrustWriteOptions } from './publish.ts';
export { loadRepository } from './publish.ts';
export type { RotatableRole, Rotation } from './rotate.ts';
export { ROTATABLE_ROLES, rotateKey } from './rotate.ts';
export type { Revocation, TagSignature } from './sign-tag.ts';
export { revokeTags, signTag } from './sign-tag.ts';
export type { SignerChange } from './signers.ts';
export { addSigner, removeSigner } from './signers.ts';
export type { DctErrorCode, DctErrorCodes } from './error-codes.ts';
