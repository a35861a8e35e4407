import assert from 'node:assert/strict';
import { generateKeyPairSync } from 'node:crypto';
import { mkdtemp, readFile, rm, stat } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, test } from 'node:test';
import { isVouchError } from '../core/errors.ts';
import { decryptCosignKey } from './cosign-key.ts';
import { keyPairPaths } from './files.ts';
import { publicKeyFingerprint, publicKeyToPem } from './pem.ts';
import { saveKeyPair } from './save-key-pair.ts';

describe('saveKeyPair', () => {
  let dir: string;
  before(async () => {
    dir = await mkdtemp(join(tmpdir(), 'vouch-save-key-pair-'));
  });
  after(async () => {
    await rm(dir, { recursive: true, force: true });
  });

  test('writes the key encrypted with the password (0600) and its public key, never over a file without force', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const paths = keyPairPaths(join(dir, 'cosign'));
    const saved = await saveKeyPair(paths, privateKey, 'pw');
    assert.deepEqual(saved, {
      algorithm: 'ecdsa-p256',
      fingerprint: publicKeyFingerprint(privateKey),
    });
    assert.equal((await stat(paths.privateKey)).mode & 0o777, 0o600);
    const text = await readFile(paths.privateKey, 'utf8');
    const decrypted = await decryptCosignKey(text, 'pw');
    assert.equal(publicKeyToPem(decrypted), publicKeyToPem(privateKey));
    await assert.rejects(decryptCosignKey(text, 'wrong'));
    assert.equal(await readFile(paths.publicKey, 'utf8'), publicKeyToPem(privateKey));

    const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
    await assert.rejects(
      saveKeyPair(paths, other, 'pw'),
      (error) => isVouchError(error) && error.code === 'KEY_FILE_EXISTS',
    );
    assert.equal(await readFile(paths.privateKey, 'utf8'), text, 'the first key is intact');
    await saveKeyPair(paths, other, 'pw', { force: true });
    assert.equal(await readFile(paths.publicKey, 'utf8'), publicKeyToPem(other));
  });
});
