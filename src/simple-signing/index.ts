/**
 * GPG simple signing as containers/image keeps it: where an image's
 * signatures live (registries.d lookaside stores, the registry's signature
 * API extension) and reading or writing them.
 */
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
