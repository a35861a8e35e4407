/**
 * New key pairs, of the kinds `cosign generate-key-pair --signing-algorithm`
 * offers (sigstore/cosign `pkg/cosign/keys.go` `SupportedKeyDetails`, less
 * P-521). ECDSA P-256 is the default, as in cosign.
 */
import { generateKeyPair as generateNodeKeyPair, type KeyObject } from 'node:crypto';
import { invalid } from '../core/errors.ts';
import type { KeyAlgorithm } from './algorithms.ts';

export const GENERATE_ALGORITHMS = [
  'ecdsa-p256',
  'ecdsa-p384',
  'ed25519',
  'rsa-2048',
  'rsa-3072',
  'rsa-4096',
] as const satisfies readonly KeyAlgorithm[];

export type GenerateAlgorithm = (typeof GENERATE_ALGORITHMS)[number];

export const DEFAULT_ALGORITHM: GenerateAlgorithm = 'ecdsa-p256';

export interface KeyPair {
  readonly algorithm: GenerateAlgorithm;
  readonly privateKey: KeyObject;
  readonly publicKey: KeyObject;
}

export function isGenerateAlgorithm(value: string): value is GenerateAlgorithm {
  return (GENERATE_ALGORITHMS as readonly string[]).includes(value);
}

/** A fresh key pair; RSA keys use the public exponent 65537, as Go does. */
export async function generateKeyPair(
  algorithm: GenerateAlgorithm = DEFAULT_ALGORITHM,
): Promise<KeyPair> {
  if (!isGenerateAlgorithm(algorithm)) {
    throw invalid(
      'UNSUPPORTED_ALGORITHM',
      `unsupported key algorithm "${String(algorithm)}": expected one of ${GENERATE_ALGORITHMS.join(', ')}`,
    );
  }
  const { privateKey, publicKey } = await generate(algorithm);
  return { algorithm, privateKey, publicKey };
}

function generate(
  algorithm: GenerateAlgorithm,
): Promise<{ privateKey: KeyObject; publicKey: KeyObject }> {
  return new Promise((resolve, reject) => {
    const done = (error: Error | null, publicKey: KeyObject, privateKey: KeyObject): void => {
      if (error) reject(error);
      else resolve({ privateKey, publicKey });
    };
    switch (algorithm) {
      case 'ecdsa-p256':
        generateNodeKeyPair('ec', { namedCurve: 'P-256' }, done);
        break;
      case 'ecdsa-p384':
        generateNodeKeyPair('ec', { namedCurve: 'P-384' }, done);
        break;
      case 'ed25519':
        generateNodeKeyPair('ed25519', {}, done);
        break;
      case 'rsa-2048':
      case 'rsa-3072':
      case 'rsa-4096':
        generateNodeKeyPair(
          'rsa',
          { modulusLength: Number(algorithm.slice(4)), publicExponent: 0x10001 },
          done,
        );
        break;
    }
  });
}
