export type { BlobOutcome, CopyEvent, CopyOptions, CopyResult } from './copy.ts';
export { copyImage } from './copy.ts';
export type { Credentials, DockerConfigOptions, HelperRunner } from './credentials.ts';
export {
  createHelperRunner,
  eraseCredentials,
  findCredentials,
  storeCredentials,
} from './credentials.ts';
export type { RegistryClientOptions } from './distribution.ts';
export { RegistryClient, RegistryRepository } from './distribution.ts';
export type { HttpOptions } from './http.ts';
export { HttpClient } from './http.ts';
export { OCILayoutStore, openLayout } from './layout.ts';
export type { ImageSpec, OpenedImage, StoreOptions } from './open.ts';
export { parseImageSpec, Stores } from './open.ts';
export { referrersTag } from './referrers-tag.ts';
export type { ImageStore, ManifestTarget } from './store.ts';
export type { RegistryErrorCode, RegistryErrorCodes } from './error-codes.ts';
