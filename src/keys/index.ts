export type { KeyAlgorithm, SignatureHash } from './algorithms.ts';
export { defaultHash, keyAlgorithm, tryKeyAlgorithm } from './algorithms.ts';
export type {
  CosignKeyPemType,
  EncryptCosignKeyOptions,
  Password,
  ScryptCost,
} from './cosign-key.ts';
export {
  COSIGN_KEY_PEM_TYPE,
  decryptCosignKey,
  encryptCosignKey,
  isCosignKeyPem,
  SCRYPT_COSTS,
  SIGSTORE_KEY_PEM_TYPE,
} from './cosign-key.ts';
export type { KeyPairFiles, KeyPairPaths, WriteFileOptions, WriteKeyPairOptions } from './files.ts';
export {
  checkKeyPairTargets,
  keyPairPaths,
  PRIVATE_KEY_FILE_MODE,
  PUBLIC_KEY_FILE_MODE,
  readKeyFile,
  writeFileSafely,
  writeKeyPair,
} from './files.ts';
export type { SavedKeyPair } from './save-key-pair.ts';
export { saveKeyPair } from './save-key-pair.ts';
export type { GenerateAlgorithm, KeyPair } from './generate.ts';
export {
  DEFAULT_ALGORITHM,
  GENERATE_ALGORITHMS,
  generateKeyPair,
  isGenerateAlgorithm,
} from './generate.ts';
export type { LoadPrivateKeyOptions } from './load.ts';
export { loadPrivateKey } from './load.ts';
export type { PemBlock, PemSourceOptions } from './pem.ts';
export {
  decodePem,
  decodePemBlocks,
  encodePem,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  privateKeyToPem,
  publicKeyFingerprint,
  publicKeyToPem,
} from './pem.ts';
export type { SignatureOptions, Signer } from './signer.ts';
export { createKeySigner, verifySignature } from './signer.ts';
export type { KeyErrorCode, KeyErrorCodes } from './error-codes.ts';
