import type { KeyObject } from 'node:crypto';
import { keyAlgorithm } from '../keys/algorithms.ts';
import { createKeySigner, type Signer } from '../keys/signer.ts';

/**
 * The signer for image signatures. ECDSA keys sign over SHA-256 on every
 * curve: that is what `cosign verify --key` checks `.sig` signatures with and
 * what containers/image writes and verifies (see keys/signer.ts). RSA uses
 * SHA-256 anyway; Ed25519 has no separate hash.
 */
export function imageSigner(privateKey: KeyObject): Signer {
  return keyAlgorithm(privateKey) === 'ed25519'
    ? createKeySigner(privateKey)
    : createKeySigner(privateKey, { hash: 'sha256' });
}
