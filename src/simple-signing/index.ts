/**
 * GPG simple signing as containers/image keeps it: where an image's
 * signatures live (registries.d lookaside stores, the registry's signature
 * API extension) and reading or writing them; signing and verifying images
 * (`signGpgImages`, `verifyGpgImages`) with the codec of
 * formats/simple-signing/ (payload, keyrings, OpenPGP), re-exported here.
 */
export * from '../formats/simple-signing/index.ts';
export type {
  LookasideLocation,
  LookasideSource,
  RegistriesDConfig,
  RegistriesDNamespace,
} from '../formats/simple-signing/registries-d.ts';
export {
  builtinDefaultLookaside,
  lookasideFor,
  parseRegistriesD,
  usesSigstoreAttachments,
} from '../formats/simple-signing/registries-d.ts';
export { loadRegistriesD, registriesDDirectory } from './registries-d-files.ts';
export type { LookasideReadOptions, LookasideSignature } from './lookaside-store.ts';
export { readLookasideSignatures, writeLookasideSignature } from './lookaside-store.ts';
export { readExtensionSignatures, writeExtensionSignature } from './extension-store.ts';
export type {
  ImageSignatures,
  ImageSignatureStores,
  SimpleSigningStore,
  SimpleSigningStoreOptions,
  StoredSignature,
  WrittenSignature,
} from './signature-stores.ts';
export {
  readSimpleSignatures,
  simpleSigningStore,
  writeSimpleSignature,
} from './signature-stores.ts';
export type { SimpleSigningErrorCode, SimpleSigningErrorCodes } from './error-codes.ts';
export type { GpgBinaryOptions, GpgSigner } from './gpg-signer.ts';
export { gpgBinarySigner, keyFileSigner } from './gpg-signer.ts';
export type { GpgSignature, GpgSignOptions, GpgSignRequest, GpgSignResult } from './sign.ts';
export { signedDockerReference, signGpgImages } from './sign.ts';
export type {
  GpgImageStatus,
  GpgImageVerification,
  GpgRejectedSignature,
  GpgVerifiedSignature,
  GpgVerifyOptions,
  GpgVerifyRequest,
} from './verify.ts';
export { matchRepoDigestOrExact, verifyGpgImages } from './verify.ts';
