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

/**
 * The signer for attestations: the key's default hash, as `cosign attest`
 * signs the DSSE PAE (sigstore/cosign@d6d86c22: internal/key/svkeypair.go
 * uses `signature.GetDefaultAlgorithmDetails`: SHA-256 on P-256 and RSA,
 * SHA-384 on P-384, SHA-512 on P-521, pure Ed25519). Verification accepts
 * the curve's hash or SHA-256 either way (keys/signer.ts verifySignature).
 */
export function attestationSigner(privateKey: KeyObject): Signer {
  return createKeySigner(privateKey);
}
