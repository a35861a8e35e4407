import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, X509Certificate } from 'node:crypto';
import { describe, it } from 'node:test';
import { createRootCertificate } from './certificate.ts';
import { encodeSignedFile, encodeSignedMetadata, formatGoTime } from './encode.ts';
import { decodeNotaryPrivateKey, encodeNotaryPrivateKey, readNotaryKeyFile } from './key-file.ts';
import { parseMetadata } from './metadata.ts';
import { rootKeyProblem, notaryKey } from './keys.ts';

describe('notary encoding', () => {
  it('formats times as Go RFC3339Nano does: trailing zeros trimmed, a zero fraction dropped', () => {
    assert.equal(formatGoTime(Date.UTC(2029, 0, 1, 0, 0, 0, 100)), '2029-01-01T00:00:00.1Z');
    assert.equal(formatGoTime(Date.UTC(2029, 0, 1, 0, 0, 0, 0)), '2029-01-01T00:00:00Z');
    assert.equal(formatGoTime(Date.UTC(2029, 0, 1, 0, 0, 10, 120)), '2029-01-01T00:00:10.12Z');
  });

  it('writes signed canonically with Go HTML escaping, signatures in keyid, method, sig order', () => {
    const bytes = encodeSignedFile('{"a":"<&>\u2028"}', [
      { keyid: 'k', method: 'ecdsa', sig: 'c2ln' },
    ]);
    assert.equal(
      Buffer.from(bytes).toString('utf8'),
      '{"signed":{"a":"\\u003c\\u0026\\u003e\\u2028"},"signatures":[{"keyid":"k","method":"ecdsa","sig":"c2ln"}]}',
    );
  });

  it('signs metadata that the strict parser reads back and whose signature verifies', () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const spki = publicKey.export({ format: 'der', type: 'spki' });
    const key = notaryKey('ecdsa', spki, 'test');
    const signed = {
      _type: 'Targets',
      delegations: { keys: {}, roles: [] },
      expires: formatGoTime(Date.UTC(2030, 0, 1)),
      targets: { v1: { hashes: { sha256: Buffer.alloc(32).toString('base64') }, length: 3 } },
      version: 2,
    };
    const parsed = parseMetadata(
      encodeSignedMetadata(signed, [{ keyId: key.id, privateKey }]),
      'Targets',
      't',
    );
    assert.equal(parsed.signed.version, 2);
    assert.equal(parsed.signatures[0]?.method, 'ecdsa');
    assert.equal(parsed.signatures[0]?.signature.length, 64);
  });

  it('makes a root certificate notary accepts: a leaf for the GUN, ten years', () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const now = Date.now();
    const pem = createRootCertificate(privateKey, createPublicKey(privateKey), {
      gun: 'example.com/app',
      now,
    });
    const certificate = new X509Certificate(pem);
    assert.equal(certificate.ca, false);
    assert.ok(certificate.verify(createPublicKey(privateKey)));
    const key = notaryKey('ecdsa-x509', new TextEncoder().encode(pem), 'root');
    assert.equal(rootKeyProblem(key, 'example.com/app', { now, checkExpiry: true }), undefined);
    assert.match(
      rootKeyProblem(key, 'example.com/other', { now, checkExpiry: true }) ?? '',
      /not "example.com\/other"/,
    );
  });

  it('encrypts keys as notary does (PBES2, PBKDF2-SHA1, AES-256-CBC, headers) and reads them back', async () => {
    const { privateKey } = generateKeyPairSync('ec', { namedCurve: 'P-256' });
    const pem = encodeNotaryPrivateKey(
      privateKey,
      { role: 'targets', gun: 'example.com/app' },
      'pw',
    );
    assert.match(
      pem,
      /^-----BEGIN ENCRYPTED PRIVATE KEY-----\ngun: example.com\/app\nrole: targets\n\n/,
    );
    const file = readNotaryKeyFile(pem, 'k');
    assert.deepEqual(file.headers, { gun: 'example.com/app', role: 'targets' });
    const back = await decodeNotaryPrivateKey(file, 'k', () => Promise.resolve('pw'));
    assert.deepEqual(
      createPublicKey(back).export({ format: 'jwk' }),
      createPublicKey(privateKey).export({ format: 'jwk' }),
    );
    await assert.rejects(
      decodeNotaryPrivateKey(file, 'k', () => Promise.resolve('no')),
      { code: 'WRONG_PASSWORD' },
    );
  });
});
