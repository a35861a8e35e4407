/**
 * The key types vouch signs and verifies with, and the hash each one uses.
 * The set is sigstore's (`sigstore/sigstore` `cryptoutils.ValidatePubKey` and
 * the algorithm registry `GetDefaultPublicKeyDetails`): ECDSA on P-256, P-384
 * and P-521, Ed25519, and RSA with a 2048, 3072 or 4096-bit modulus. Anything
 * else (other curves, RSA-PSS keys, other RSA sizes, DSA, Ed448) is refused
 * with an `invalid` error rather than guessed at.
 */
import type { KeyObject } from 'node:crypto';
import { invalid } from '../core/errors.ts';

export type KeyAlgorithm =
  'ecdsa-p256' | 'ecdsa-p384' | 'ecdsa-p521' | 'ed25519' | 'rsa-2048' | 'rsa-3072' | 'rsa-4096';

/** Message digests for ECDSA and RSA signatures; Ed25519 signs the message itself. */
export type SignatureHash = 'sha256' | 'sha384' | 'sha512';

const CURVES: Readonly<Record<string, KeyAlgorithm>> = {
  prime256v1: 'ecdsa-p256',
  secp384r1: 'ecdsa-p384',
  secp521r1: 'ecdsa-p521',
};

const RSA_SIZES: Readonly<Record<number, KeyAlgorithm>> = {
  2048: 'rsa-2048',
  3072: 'rsa-3072',
  4096: 'rsa-4096',
};

/**
 * The hash sigstore's algorithm registry pairs with each key type, which is
 * what `cosign sign --key` uses: SHA-256 for P-256 and RSA, SHA-384 for P-384,
 * SHA-512 for P-521. `undefined` for Ed25519, which hashes internally.
 */
export function defaultHash(algorithm: KeyAlgorithm): SignatureHash | undefined {
  switch (algorithm) {
    case 'ecdsa-p384':
      return 'sha384';
    case 'ecdsa-p521':
      return 'sha512';
    case 'ed25519':
      return undefined;
    default:
      return 'sha256';
  }
}

/**
 * The algorithm of a public or private key, or an `invalid` error naming what
 * was found when vouch does not support it.
 */
export function keyAlgorithm(key: KeyObject, source?: string): KeyAlgorithm {
  const found = identify(key);
  if ('algorithm' in found) return found.algorithm;
  throw invalid(
    'UNSUPPORTED_KEY',
    `unsupported key${where(source)}: found ${found.unsupported}; expected ECDSA P-256, P-384 or P-521, Ed25519, or RSA 2048, 3072 or 4096 bits`,
  );
}

/** Like `keyAlgorithm`, but `undefined` instead of an error. */
export function tryKeyAlgorithm(key: KeyObject): KeyAlgorithm | undefined {
  const found = identify(key);
  return 'algorithm' in found ? found.algorithm : undefined;
}

type Identified = { readonly algorithm: KeyAlgorithm } | { readonly unsupported: string };

function identify(key: KeyObject): Identified {
  if (key.type === 'secret') return { unsupported: 'a secret (symmetric) key' };
  const details = key.asymmetricKeyDetails ?? {};
  switch (key.asymmetricKeyType) {
    case 'ec': {
      const curve = details.namedCurve;
      if (curve === undefined) return { unsupported: 'an EC key with explicit curve parameters' };
      const algorithm = CURVES[curve];
      return algorithm ? { algorithm } : { unsupported: `an EC key on curve ${curve}` };
    }
    case 'ed25519':
      return { algorithm: 'ed25519' };
    case 'rsa': {
      const bits = details.modulusLength ?? 0;
      const algorithm = RSA_SIZES[bits];
      if (algorithm) return { algorithm };
      return {
        unsupported:
          bits < 2048
            ? `an RSA key of ${bits} bits (at least 2048 are required)`
            : `an RSA key of ${bits} bits`,
      };
    }
    case 'rsa-pss':
      return { unsupported: 'an RSA-PSS key (RSA keys sign with PKCS#1 v1.5 here)' };
    default:
      return { unsupported: `a ${key.asymmetricKeyType ?? 'unknown'} key` };
  }
}

/** `" in <source>"` for messages, or nothing. */
export function where(source: string | undefined): string {
  return source === undefined ? '' : ` in ${source}`;
}
