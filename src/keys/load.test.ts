import assert from 'node:assert/strict';
import { createPublicKey, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { hasCode, isVouchError } from '../core/errors.ts';
import { encryptCosignKey } from './cosign-key.ts';
import { generateKeyPair } from './generate.ts';
import { loadPrivateKey } from './load.ts';
import { privateKeyToPem } from './pem.ts';

function spki(key: KeyObject): Buffer {
  return (key.type === 'private' ? createPublicKey(key) : key).export({
    format: 'der',
    type: 'spki',
  });
}

describe('loadPrivateKey', () => {
  test('a plain PEM key loads without asking for a password', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ed25519');
    let asked = 0;
    const loaded = await loadPrivateKey(privateKeyToPem(privateKey), {
      password: () => {
        asked++;
        return 'unused';
      },
    });
    assert.deepEqual(spki(loaded), spki(publicKey));
    assert.equal(asked, 0);
  });

  test('a cosign key asks for its password once, lazily', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ecdsa-p256');
    const pem = await encryptCosignKey(privateKey, 's3cret');
    let asked = 0;
    const loaded = await loadPrivateKey(Buffer.from(pem), {
      password: async () => {
        asked++;
        return 's3cret';
      },
    });
    assert.deepEqual(spki(loaded), spki(publicKey));
    assert.equal(asked, 1);

    assert.deepEqual(spki(await loadPrivateKey(pem, { password: 's3cret' })), spki(publicKey));
    await assert.rejects(
      loadPrivateKey(pem, { source: 'cosign.key' }),
      (error) =>
        isVouchError(error) &&
        error.category === 'invalid' &&
        error.code === 'PASSWORD_REQUIRED' &&
        error.message.includes('cosign.key'),
    );
    await assert.rejects(
      loadPrivateKey(pem, { password: 'nope', source: 'cosign.key' }),
      (error) => hasCode(error, 'WRONG_PASSWORD') && error.message.includes('cosign.key'),
    );
  });

  test('garbage is malformed', async () => {
    await assert.rejects(loadPrivateKey('not a key'), (error) => hasCode(error, 'MALFORMED_PEM'));
  });
});
