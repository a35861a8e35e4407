/**
 * Saving a key pair as `cosign generate-key-pair` does: the private key
 * encrypted with a password (cosign-key.ts) in `P.key`, mode 0600, and the
 * public key's PEM in `P.pub`, never overwriting either without `force`
 * (files.ts `writeKeyPair`). A module of its own so that readers of key
 * files do not load the encryption.
 */
import type { KeyObject } from 'node:crypto';
import { type KeyAlgorithm, keyAlgorithm } from './algorithms.ts';
import { encryptCosignKey, type Password } from './cosign-key.ts';
import { type KeyPairPaths, type WriteKeyPairOptions, writeKeyPair } from './files.ts';
import { publicKeyFingerprint, publicKeyToPem } from './pem.ts';

/** What was saved: the key's algorithm and the public key's SHA-256 fingerprint. */
export interface SavedKeyPair {
  readonly algorithm: KeyAlgorithm;
  readonly fingerprint: string;
}

/** Encrypts `privateKey` with `password` and writes both files of the pair. */
export async function saveKeyPair(
  paths: KeyPairPaths,
  privateKey: KeyObject,
  password: Password,
  options?: WriteKeyPairOptions,
): Promise<SavedKeyPair> {
  const algorithm = keyAlgorithm(privateKey);
  const files = {
    privateKey: await encryptCosignKey(privateKey, password),
    publicKey: publicKeyToPem(privateKey),
  };
  await writeKeyPair(paths, files, options);
  return { algorithm, fingerprint: publicKeyFingerprint(privateKey) };
}
