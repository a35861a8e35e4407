/**
 * Verifying a signature when only the digest of the signed message is at
 * hand, and Ed25519ph: what Node's crypto cannot do.
 *
 * - `verifyDigestSignature`: a signature over a message given by its digest
 *   (sigstore-conformance's `verify-bundle` with `sha256:<hex>`; sigstore-go
 *   `verify.WithArtifactDigest`, Go's crypto verifies digests natively).
 *   ECDSA with @noble/curves (`prehash: false`: the digest is the message
 *   hash; high-S signatures accepted, as Go and OpenSSL accept them), RSA
 *   PKCS#1 v1.5 by recovering the DigestInfo with the public key and comparing
 *   it whole (RFC 8017 §8.2.2). A pure Ed25519 signature covers the message
 *   itself (RFC 8032), so a digest can never verify one.
 * - `verifyEd25519ph`: Ed25519ph (RFC 8032 §5.1, SHA-512 prehash), what
 *   cosign signs blobs with an Ed25519 key with when it logs them
 *   (sigstore/cosign pkg/cosign/keys.go GetDefaultLoadOptions: hashedrekord
 *   entries can only record Ed25519ph).
 *
 * Loaded only when needed (a command imports this module with `import()`):
 * @noble/curves is not on any other path.
 */
import { constants, createHash, type KeyObject, publicDecrypt, timingSafeEqual } from 'node:crypto';
import { ed25519ph } from '@noble/curves/ed25519.js';
import { p256, p384, p521 } from '@noble/curves/nist.js';
import { keyAlgorithm, type SignatureHash } from './algorithms.ts';

/** DER of DigestInfo up to the digest (RFC 8017 §9.2 note 1). */
const DIGEST_INFO_PREFIX: Readonly<Record<SignatureHash, string>> = {
  sha256: '3031300d060960864801650304020105000420',
  sha384: '3041300d060960864801650304020205000430',
  sha512: '3051300d060960864801650304020305000440',
};
const DIGEST_LENGTH: Readonly<Record<SignatureHash, number>> = {
  sha256: 32,
  sha384: 48,
  sha512: 64,
};

/**
 * Whether `signature` by `publicKey` verifies over the message whose `hash`
 * digest is `digest`. Never throws for a malformed signature; false for an
 * Ed25519 key (see the module comment) or a digest of the wrong length.
 */
export function verifyDigestSignature(
  publicKey: KeyObject,
  digest: Uint8Array,
  hash: SignatureHash,
  signature: Uint8Array,
): boolean {
  if (digest.byteLength !== DIGEST_LENGTH[hash] || signature.byteLength === 0) return false;
  const algorithm = keyAlgorithm(publicKey);
  try {
    switch (algorithm) {
      case 'ecdsa-p256':
      case 'ecdsa-p384':
      case 'ecdsa-p521': {
        const curve = { 'ecdsa-p256': p256, 'ecdsa-p384': p384, 'ecdsa-p521': p521 }[algorithm];
        return curve.verify(signature, digest, ecPoint(publicKey), {
          prehash: false,
          lowS: false,
          format: 'der',
        });
      }
      case 'ed25519':
        return false;
      default: {
        const recovered = publicDecrypt(
          { key: publicKey, padding: constants.RSA_PKCS1_PADDING },
          signature,
        );
        const expected = Buffer.concat([Buffer.from(DIGEST_INFO_PREFIX[hash], 'hex'), digest]);
        return recovered.byteLength === expected.byteLength && timingSafeEqual(recovered, expected);
      }
    }
  } catch {
    return false;
  }
}

/** Whether `signature` is an Ed25519ph signature of `message` by the Ed25519 `publicKey`. */
export function verifyEd25519ph(
  publicKey: KeyObject,
  message: Uint8Array,
  signature: Uint8Array,
): boolean {
  if (keyAlgorithm(publicKey) !== 'ed25519') return false;
  try {
    return ed25519ph.verify(signature, message, jwkBytes(publicKey, 'x'));
  } catch {
    return false;
  }
}

/** The SHA-2 digest of `message`, for comparing a bundle's message digest. */
export function digestOfMessage(hash: SignatureHash, message: Uint8Array): Uint8Array {
  return new Uint8Array(createHash(hash).update(message).digest());
}

/** The uncompressed SEC 1 point of an EC public key. */
function ecPoint(publicKey: KeyObject): Uint8Array {
  return new Uint8Array(
    Buffer.concat([Buffer.of(4), jwkBytes(publicKey, 'x'), jwkBytes(publicKey, 'y')]),
  );
}

function jwkBytes(publicKey: KeyObject, name: 'x' | 'y'): Buffer {
  const value = publicKey.export({ format: 'jwk' })[name];
  return Buffer.from(value ?? '', 'base64url');
}
