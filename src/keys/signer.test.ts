import assert from 'node:assert/strict';
import {
  createPrivateKey,
  generateKeyPairSync,
  sign as cryptoSign,
  X509Certificate,
} from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { hasCode, isVouchError } from '../core/errors.ts';
import { keyAlgorithm } from './algorithms.ts';
import { GENERATE_ALGORITHMS, generateKeyPair } from './generate.ts';
import { parsePublicKeyPem } from './pem.ts';
import { createKeySigner, verifySignature } from './signer.ts';

const FIXTURES = new URL('../../../shared/fixtures/containers-image/', import.meta.url);
const noFixtures = existsSync(FIXTURES) ? false : 'shared/fixtures/containers-image is absent';

const DATA = new TextEncoder().encode('{"critical":{"type":"cosign container image signature"}}');

/**
 * A fixture file. The upstream symlinks (e.g. `dir-img-cosign-mixed/signature-2`)
 * are stored as plain files holding the link target, so follow those.
 */
function readFixture(path: string): Buffer {
  const url = new URL(path, FIXTURES);
  const bytes = readFileSync(url);
  const text = bytes.toString('latin1');
  return /^\.\.\/[\w./-]+$/.test(text) ? readFileSync(new URL(text, url)) : bytes;
}

/** A containers/image `dir:` sigstore signature: `\0sigstore-json\n{json}`. */
function readFixtureSignature(path: string): {
  payload: Uint8Array;
  signature: Uint8Array;
  annotations: Record<string, string>;
} {
  const bytes = readFixture(path);
  const prefix = '\x00sigstore-json\n';
  assert.equal(bytes.subarray(0, prefix.length).toString('latin1'), prefix);
  const json = JSON.parse(bytes.subarray(prefix.length).toString('utf8')) as {
    payload: string;
    annotations: Record<string, string>;
  };
  const signature = json.annotations['dev.cosignproject.cosign/signature'] ?? '';
  return {
    payload: Buffer.from(json.payload, 'base64'),
    signature: Buffer.from(signature, 'base64'),
    annotations: json.annotations,
  };
}

function fixtureKey(name: string) {
  return parsePublicKeyPem(readFileSync(new URL(name, FIXTURES)), { source: name });
}

describe('signing and verifying', () => {
  for (const algorithm of GENERATE_ALGORITHMS) {
    test(`${algorithm}: a signature verifies over the exact bytes and nothing else`, async () => {
      const { privateKey, publicKey } = await generateKeyPair(algorithm);
      const signer = createKeySigner(privateKey);
      assert.equal(signer.publicKey.type, 'public');
      assert.deepEqual(
        signer.publicKey.export({ format: 'der', type: 'spki' }),
        publicKey.export({ format: 'der', type: 'spki' }),
      );
      const signature = await signer.sign(DATA);
      assert.ok(signature instanceof Uint8Array);
      assert.equal(verifySignature(publicKey, DATA, signature), true);

      const changed = Uint8Array.from(DATA);
      changed[0] = 0x20;
      assert.equal(verifySignature(publicKey, changed, signature), false);
      const flipped = Uint8Array.from(signature);
      flipped[flipped.length - 1] = (flipped.at(-1) ?? 0) ^ 1;
      assert.equal(verifySignature(publicKey, DATA, flipped), false);
      const other = await generateKeyPair(algorithm);
      assert.equal(verifySignature(other.publicKey, DATA, signature), false);
    });
  }

  test('signatures have the encodings cosign writes', async () => {
    const ec = await generateKeyPair('ecdsa-p256');
    const der = await createKeySigner(ec.privateKey).sign(DATA);
    assert.equal(der[0], 0x30, 'ECDSA signatures are ASN.1 DER SEQUENCEs, not raw r||s');
    assert.equal(der[1], der.length - 2);

    const ed = await generateKeyPair('ed25519');
    const edSignature = await createKeySigner(ed.privateKey).sign(DATA);
    assert.equal(edSignature.length, 64);
    // Pure Ed25519: deterministic and over the message itself.
    assert.deepEqual(Buffer.from(edSignature), cryptoSign(null, DATA, ed.privateKey));

    const rsa = await generateKeyPair('rsa-2048');
    const rsaSignature = await createKeySigner(rsa.privateKey).sign(DATA);
    assert.equal(rsaSignature.length, 256);
    // PKCS#1 v1.5 is deterministic: equal to an independent SHA-256 PKCS#1 v1.5 signature.
    assert.deepEqual(Buffer.from(rsaSignature), cryptoSign('sha256', DATA, rsa.privateKey));
  });

  test('ECDSA hashes: the curve default by default, SHA-256 also accepted on P-384', async () => {
    const p384 = await generateKeyPair('ecdsa-p384');
    const default384 = await createKeySigner(p384.privateKey).sign(DATA);
    const sha256 = await createKeySigner(p384.privateKey, { hash: 'sha256' }).sign(DATA);
    assert.equal(verifySignature(p384.publicKey, DATA, default384, { hash: 'sha384' }), true);
    assert.equal(verifySignature(p384.publicKey, DATA, default384, { hash: 'sha256' }), false);
    assert.equal(verifySignature(p384.publicKey, DATA, sha256, { hash: 'sha256' }), true);
    assert.equal(verifySignature(p384.publicKey, DATA, sha256, { hash: 'sha384' }), false);
    // Unpinned: what cosign sign writes (SHA-384) and what containers/image writes (SHA-256).
    assert.equal(verifySignature(p384.publicKey, DATA, default384), true);
    assert.equal(verifySignature(p384.publicKey, DATA, sha256), true);

    const p256 = await generateKeyPair('ecdsa-p256');
    const sha384on256 = await createKeySigner(p256.privateKey, { hash: 'sha384' }).sign(DATA);
    assert.equal(verifySignature(p256.publicKey, DATA, sha384on256), false);
    assert.equal(verifySignature(p256.publicKey, DATA, sha384on256, { hash: 'sha384' }), true);
  });

  test('P-521 keys (cosign supports them) sign with SHA-512', async () => {
    const { privateKey, publicKey } = generateKeyPairSync('ec', { namedCurve: 'P-521' });
    assert.equal(keyAlgorithm(publicKey), 'ecdsa-p521');
    const signature = await createKeySigner(privateKey).sign(DATA);
    assert.equal(verifySignature(publicKey, DATA, signature, { hash: 'sha512' }), true);
  });

  test('malformed signatures are invalid, never an exception', async () => {
    for (const algorithm of GENERATE_ALGORITHMS) {
      const { publicKey } = await generateKeyPair(algorithm);
      for (const signature of [
        new Uint8Array(0),
        new Uint8Array(1),
        new Uint8Array(64),
        new Uint8Array(512).fill(0xff),
        Uint8Array.from([0x30, 0x06, 0x02, 0x01, 0x01, 0x02, 0x01, 0x01]),
        Uint8Array.from([0x30, 0x80, 0x02, 0x01]),
        new Uint8Array(1 << 20),
      ]) {
        assert.equal(verifySignature(publicKey, DATA, signature), false, algorithm);
      }
    }
  });

  test('ECDSA signatures must be DER, not raw r||s', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ecdsa-p256');
    const raw = cryptoSign('sha256', DATA, { key: privateKey, dsaEncoding: 'ieee-p1363' });
    assert.equal(verifySignature(publicKey, DATA, raw), false);
  });

  test('keys vouch does not support are refused as invalid input', () => {
    const p224 = generateKeyPairSync('ec', { namedCurve: 'P-224' });
    const rsa1024 = generateKeyPairSync('rsa', { modulusLength: 1024 });
    const ed448 = generateKeyPairSync('ed448');
    for (const [key, found] of [
      [p224.publicKey, 'curve secp224r1'],
      [rsa1024.publicKey, '1024 bits'],
      [ed448.publicKey, 'ed448'],
    ] as const) {
      assert.throws(
        () => verifySignature(key, DATA, new Uint8Array(64)),
        (error) =>
          isVouchError(error) &&
          error.category === 'invalid' &&
          error.code === 'UNSUPPORTED_KEY' &&
          error.message.includes(found),
      );
    }
    assert.throws(
      () => createKeySigner(p224.privateKey),
      (error) => hasCode(error, 'UNSUPPORTED_KEY'),
    );
  });

  test('a signer needs a private key', async () => {
    const { publicKey } = await generateKeyPair('ecdsa-p256');
    assert.throws(
      () => createKeySigner(publicKey),
      (error) => hasCode(error, 'UNSUPPORTED_KEY'),
    );
  });

  test('a signer built from an imported key signs like a generated one', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ecdsa-p256');
    const copy = createPrivateKey(privateKey.export({ format: 'pem', type: 'sec1' }));
    const signature = await createKeySigner(copy).sign(DATA);
    assert.equal(verifySignature(publicKey, DATA, signature), true);
  });
});

describe('real cosign signatures (containers/image fixtures)', { skip: noFixtures }, () => {
  test('dir-img-cosign-valid verifies with cosign.pub and not with cosign2.pub', () => {
    const { payload, signature } = readFixtureSignature('dir-img-cosign-valid/signature-1');
    assert.equal(verifySignature(fixtureKey('cosign.pub'), payload, signature), true);
    assert.equal(verifySignature(fixtureKey('cosign2.pub'), payload, signature), false);
    const changed = Buffer.from(payload);
    changed[changed.length - 2] = 0x20;
    assert.equal(verifySignature(fixtureKey('cosign.pub'), changed, signature), false);
  });

  test('both signatures of dir-img-cosign-valid-2 verify with cosign.pub', () => {
    for (const name of ['signature-1', 'signature-2']) {
      const { payload, signature } = readFixtureSignature(`dir-img-cosign-valid-2/${name}`);
      assert.equal(verifySignature(fixtureKey('cosign.pub'), payload, signature), true, name);
    }
  });

  test('dir-img-cosign-key-rekor-valid verifies with cosign2.pub', () => {
    const { payload, signature } = readFixtureSignature(
      'dir-img-cosign-key-rekor-valid/signature-1',
    );
    assert.equal(verifySignature(fixtureKey('cosign2.pub'), payload, signature), true);
    assert.equal(verifySignature(fixtureKey('cosign.pub'), payload, signature), false);
  });

  test('dir-img-cosign-mixed: signature-1 fails with cosign.pub, signature-2 verifies', () => {
    const first = readFixtureSignature('dir-img-cosign-mixed/signature-1');
    const second = readFixtureSignature('dir-img-cosign-mixed/signature-2');
    assert.equal(verifySignature(fixtureKey('cosign.pub'), first.payload, first.signature), false);
    assert.equal(verifySignature(fixtureKey('cosign.pub'), second.payload, second.signature), true);
  });

  test('dir-img-cosign-pki-valid: an RSA PKCS#1 v1.5 SHA-256 signature by the certificate key', () => {
    const { payload, signature, annotations } = readFixtureSignature(
      'dir-img-cosign-pki-valid/signature-1',
    );
    const certificate = new X509Certificate(annotations['dev.sigstore.cosign/certificate'] ?? '');
    assert.equal(keyAlgorithm(certificate.publicKey).startsWith('rsa-'), true);
    assert.equal(verifySignature(certificate.publicKey, payload, signature), true);
    assert.equal(verifySignature(certificate.publicKey, payload.subarray(1), signature), false);
  });

  test('dir-img-cosign-fulcio-rekor-valid: an ECDSA signature by the Fulcio certificate key', () => {
    const { payload, signature, annotations } = readFixtureSignature(
      'dir-img-cosign-fulcio-rekor-valid/signature-1',
    );
    const certificate = new X509Certificate(annotations['dev.sigstore.cosign/certificate'] ?? '');
    assert.equal(keyAlgorithm(certificate.publicKey), 'ecdsa-p256');
    assert.equal(verifySignature(certificate.publicKey, payload, signature), true);
  });
});
