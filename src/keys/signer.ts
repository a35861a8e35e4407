/**
 * Signing and verifying bytes the way cosign does with a key
 * (sigstore/sigstore `pkg/signature`, chosen per key by the algorithm
 * registry's `GetDefaultPublicKeyDetails`):
 *
 * - ECDSA: ASN.1 DER `SEQUENCE { r, s }` over the digest of the data;
 *   SHA-256 on P-256, SHA-384 on P-384, SHA-512 on P-521 by default.
 * - RSA: PKCS#1 v1.5 with SHA-256.
 * - Ed25519: pure Ed25519 over the data itself (RFC 8032), as containers/image
 *   signs and as `cosign verify --key` checks `.sig` signatures.
 *
 * `Signer` is the port every signer implements (a key in memory here; KMS or
 * hardware signers later): one signing method and the public key.
 */
import {
  constants,
  createPublicKey,
  sign as cryptoSign,
  verify as cryptoVerify,
  type KeyObject,
} from 'node:crypto';
import { invalid, unavailable } from '../core/errors.ts';
import { defaultHash, keyAlgorithm, type KeyAlgorithm, type SignatureHash } from './algorithms.ts';

export interface Signer {
  /** The public half of the signing key: what verifiers are given. */
  readonly publicKey: KeyObject;
  /**
   * Signs the exact bytes of `data` (not a digest of them). The result is the
   * raw signature, which cosign stores base64-encoded.
   */
  sign(data: Uint8Array): Promise<Uint8Array>;
}

export interface SignatureOptions {
  /**
   * The digest for ECDSA and RSA signatures; ignored for Ed25519. Defaults to
   * the key's `defaultHash` when signing.
   */
  readonly hash?: SignatureHash;
}

/** No supported scheme makes a signature anywhere near this long (RSA-4096: 512 bytes). */
const MAX_SIGNATURE_LENGTH = 1024;

/** A `Signer` over a private key held in memory. */
export function createKeySigner(privateKey: KeyObject, options?: SignatureOptions): Signer {
  if (privateKey.type !== 'private') {
    throw invalid(
      'UNSUPPORTED_KEY',
      `a signer needs a private key, found a ${privateKey.type} key`,
    );
  }
  const algorithm = keyAlgorithm(privateKey);
  const hash = algorithm === 'ed25519' ? null : (options?.hash ?? defaultHash(algorithm) ?? null);
  const publicKey = createPublicKey(privateKey);
  const key = algorithm.startsWith('rsa-')
    ? { key: privateKey, padding: constants.RSA_PKCS1_PADDING }
    : algorithm === 'ed25519'
      ? privateKey
      : { key: privateKey, dsaEncoding: 'der' as const };
  return {
    publicKey,
    sign: (data) =>
      new Promise((resolve, reject) => {
        cryptoSign(hash, data, key, (error, signature) => {
          if (error) {
            reject(
              unavailable('SIGNING_FAILED', `could not sign with the ${algorithm} key`, {
                cause: error,
              }),
            );
          } else {
            resolve(new Uint8Array(signature.buffer, signature.byteOffset, signature.byteLength));
          }
        });
      }),
  };
}

/**
 * Whether `signature` is a valid signature of `data` by `publicKey`. Never
 * throws on a malformed signature (it is simply not valid); throws `invalid`
 * only for a key vouch does not support.
 *
 * Without `options.hash`, an ECDSA signature on P-384 or P-521 is accepted
 * with either the curve's hash (what `cosign sign` writes) or SHA-256 (what
 * containers/image writes and `cosign verify --key` checks by default for
 * `.sig` signatures). Each hash alone is collision- and preimage-resistant,
 * so accepting either does not let one signature stand for another message.
 */
export function verifySignature(
  publicKey: KeyObject,
  data: Uint8Array,
  signature: Uint8Array,
  options?: SignatureOptions,
): boolean {
  const algorithm = keyAlgorithm(publicKey);
  if (signature.byteLength === 0 || signature.byteLength > MAX_SIGNATURE_LENGTH) return false;
  if (algorithm === 'ed25519') return verifyOnce(null, data, publicKey, signature);
  const key = algorithm.startsWith('rsa-')
    ? { key: publicKey, padding: constants.RSA_PKCS1_PADDING }
    : { key: publicKey, dsaEncoding: 'der' as const };
  return acceptedHashes(algorithm, options?.hash).some((hash) =>
    verifyOnce(hash, data, key, signature),
  );
}

function acceptedHashes(
  algorithm: KeyAlgorithm,
  explicit: SignatureHash | undefined,
): readonly SignatureHash[] {
  if (explicit !== undefined) return [explicit];
  const preferred = defaultHash(algorithm) ?? 'sha256';
  return preferred === 'sha256' ? ['sha256'] : [preferred, 'sha256'];
}

function verifyOnce(
  hash: SignatureHash | null,
  data: Uint8Array,
  key: Parameters<typeof cryptoVerify>[2],
  signature: Uint8Array,
): boolean {
  try {
    return cryptoVerify(hash, data, key, signature);
  } catch {
    return false;
  }
}
