/**
 * GPG "simple signing" (containers/image's atomic container signatures):
 * the payload, OpenPGP keyrings, verification and signing. Pure.
 */
export type { AtomicSignatureInput, AtomicSignaturePayload } from './payload.ts';
export {
  ATOMIC_SIGNATURE_TYPE,
  buildAtomicSignaturePayload,
  parseAtomicSignaturePayload,
} from './payload.ts';
export type {
  GpgSigningKey,
  KeyringLimits,
  ReadSigningKeyOptions,
  VerifiedMessage,
  VerifyMessageOptions,
} from './openpgp.ts';
export {
  DEFAULT_MAX_KEYRING_BYTES,
  DEFAULT_MAX_KEYRING_KEYS,
  DEFAULT_MAX_SIGNATURE_BYTES,
  GpgKeyring,
  loadKeyring,
  readSigningKey,
  signMessage,
  verifySignedMessage,
} from './openpgp.ts';
export type {
  AtomicSignatureImage,
  AtomicSignatureRules,
  VerifiedAtomicSignature,
} from './verify.ts';
export { verifyAtomicSignature } from './verify.ts';
