import assert from 'node:assert/strict';
import { describe, test } from 'node:test';
import { isVouchError } from '../core/errors.ts';
import { keyAlgorithm } from './algorithms.ts';
import {
  DEFAULT_ALGORITHM,
  GENERATE_ALGORITHMS,
  type GenerateAlgorithm,
  generateKeyPair,
  isGenerateAlgorithm,
} from './generate.ts';

describe('generateKeyPair', () => {
  test('makes a matching pair of each algorithm', async () => {
    const pairs = await Promise.all(
      GENERATE_ALGORITHMS.map((algorithm) => generateKeyPair(algorithm)),
    );
    for (const [index, pair] of pairs.entries()) {
      const algorithm = GENERATE_ALGORITHMS[index];
      assert.equal(pair.algorithm, algorithm);
      assert.equal(pair.privateKey.type, 'private');
      assert.equal(pair.publicKey.type, 'public');
      assert.equal(keyAlgorithm(pair.privateKey), algorithm);
      assert.equal(keyAlgorithm(pair.publicKey), algorithm);
      if (algorithm?.startsWith('rsa-')) {
        assert.equal(pair.publicKey.asymmetricKeyDetails?.publicExponent, 65537n);
      }
    }
  });

  test('defaults to ECDSA P-256, as cosign does', async () => {
    assert.equal(DEFAULT_ALGORITHM, 'ecdsa-p256');
    const pair = await generateKeyPair();
    assert.equal(keyAlgorithm(pair.publicKey), 'ecdsa-p256');
  });

  test('refuses other algorithms as invalid input', async () => {
    for (const name of ['ecdsa-p521', 'rsa-1024', 'ed448', '', 'ECDSA-P256']) {
      assert.equal(isGenerateAlgorithm(name), false);
      await assert.rejects(
        generateKeyPair(name as GenerateAlgorithm),
        (error) =>
          isVouchError(error) &&
          error.category === 'invalid' &&
          error.code === 'UNSUPPORTED_ALGORITHM' &&
          error.message.includes('ecdsa-p256, ecdsa-p384, ed25519, rsa-2048, rsa-3072, rsa-4096'),
      );
    }
    assert.equal(isGenerateAlgorithm('rsa-4096'), true);
  });
});
