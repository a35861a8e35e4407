export type { Digest, DigestAlgorithm, Digester } from './digest.ts';
export {
  createDigester,
  digestAlgorithm,
  digestHex,
  digestOf,
  isDigest,
  parseDigest,
} from './digest.ts';
export type {
  Annotations,
  Descriptor,
  ImageIndex,
  ImageManifest,
  ParsedManifest,
  Platform,
} from './manifest.ts';
export { describeManifest, parseManifest } from './manifest.ts';
export * as mediaTypes from './media-types.ts';
export type { ImageReference } from './reference.ts';
export {
  canonicalRegistry,
  familiarReference,
  formatReference,
  isLoopbackRegistry,
  parseReference,
  repositoryName,
  withDefaultTag,
} from './reference.ts';
export type { OciErrorCode, OciErrorCodes } from './error-codes.ts';
