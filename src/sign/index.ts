/**
 * Signing images as cosign does: resolve to a digest, sign the simple-signing
 * payload, and store the signature as a layer of the `sha256-<hex>.sig`
 * manifest beside the image, without losing concurrent signers' work.
 */
export type {
  ManifestSignature,
  SignEvent,
  SignOptions,
  SignOutcome,
  SignRequest,
  SignResult,
} from './sign.ts';
export {
  DEFAULT_MAX_ATTEMPTS,
  DEFAULT_SETTLE_MS,
  DEFAULT_SIGN_CONCURRENCY,
  MAX_RECURSIVE_MANIFESTS,
  MAX_SIGNATURE_CONFIG_BYTES,
  signImage,
  signImages,
} from './sign.ts';
export { defaultDockerReference, parseSignedIdentity } from './identity.ts';
export { imageSigner } from './image-signer.ts';
