import assert from 'node:assert/strict';
import { constants, generateKeyPairSync, sign, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import { expectError } from '../../../test/helpers/assertions.ts';
import {
  certificateFor,
  signRequest,
  testKey,
  type TestKeyKind,
} from '../../../test/helpers/notation.ts';
import { buildCose, parseCoseEnvelope } from './cose.ts';
import type { NotationEnvelope } from './envelope.ts';
import { buildJws, parseJwsEnvelope } from './jws.ts';
import { notationAlgorithmOf, notationKeySigner, verifyNotationSignature } from './signature.ts';

const notVerified = (fragment: string) =>
  expectError('denied', 'NOTATION_SIGNATURE_INVALID', fragment);

const KINDS: [TestKeyKind, string, number][] = [
  ['rsa-2048', 'PS256', 256],
  ['rsa-3072', 'PS384', 384],
  ['rsa-4096', 'PS512', 512],
  ['p256', 'ES256', 64],
  ['p384', 'ES384', 96],
  ['p521', 'ES512', 132],
];

describe('the key decides the algorithm (signature-specification.md "Algorithm Selection")', () => {
  for (const [kind, algorithm, signatureBytes] of KINDS) {
    test(`${kind} signs ${algorithm}, in JWS and COSE, and verifies`, async () => {
      assert.equal(notationAlgorithmOf(testKey(kind).publicKey), algorithm);
      for (const [build, parse] of [
        [buildJws, parseJwsEnvelope],
        [buildCose, parseCoseEnvelope],
      ] as const) {
        const envelope = parse(await build(signRequest(kind)));
        assert.equal(envelope.signatureAlgorithm, algorithm);
        assert.equal(envelope.signature.byteLength, signatureBytes);
        verifyNotationSignature(envelope);
      }
    });
  }

  test('other keys have no algorithm', () => {
    const others: KeyObject[] = [
      generateKeyPairSync('rsa', { modulusLength: 1024 }).publicKey,
      generateKeyPairSync('rsa', { modulusLength: 2056 }).publicKey,
      generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).publicKey,
      generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).publicKey,
      generateKeyPairSync('ed25519').publicKey,
    ];
    for (const key of others) assert.equal(notationAlgorithmOf(key), undefined);
  });

  test('a signer refuses a key notation does not sign with, and a public key', () => {
    assert.throws(
      () => notationKeySigner(generateKeyPairSync('ed25519').privateKey),
      expectError('invalid', 'INVALID_NOTATION_INPUT', 'does not sign with'),
    );
    assert.throws(
      () => notationKeySigner(testKey('p256').publicKey),
      expectError('invalid', 'INVALID_NOTATION_INPUT', 'private key'),
    );
  });
});

/** `envelope` with another signature (and `alg`, for JWS) over the same content, re-signed by the caller. */
function resigned(
  envelope: NotationEnvelope,
  changes: Partial<NotationEnvelope>,
): NotationEnvelope {
  return { ...envelope, ...changes };
}

describe('verifyNotationSignature refuses', () => {
  test('an alg other than the key’s, even with a valid signature for that alg (algorithm substitution)', async () => {
    const envelope = parseJwsEnvelope(await buildJws(signRequest('rsa-3072')));
    const key = testKey('rsa-3072').privateKey;
    const signature = sign('sha256', envelope.signedBytes, {
      key,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: 32,
    });
    assert.throws(
      () => verifyNotationSignature(resigned(envelope, { signatureAlgorithm: 'PS256', signature })),
      notVerified(
        "the envelope says PS256, but the leaf certificate's key (RSA 3072 bits) signs with PS384",
      ),
    );
  });

  test('RSA-PSS with a salt other than the hash length', async () => {
    const envelope = parseCoseEnvelope(await buildCose(signRequest('rsa-2048')));
    const signature = sign('sha256', envelope.signedBytes, {
      key: testKey('rsa-2048').privateKey,
      padding: constants.RSA_PKCS1_PSS_PADDING,
      saltLength: constants.RSA_PSS_SALTLEN_MAX_SIGN,
    });
    assert.throws(
      () => verifyNotationSignature(resigned(envelope, { signature })),
      notVerified('does not match'),
    );
  });

  test('RSA PKCS#1 v1.5 instead of PSS', async () => {
    const envelope = parseJwsEnvelope(await buildJws(signRequest('rsa-2048')));
    const signature = sign('sha256', envelope.signedBytes, testKey('rsa-2048').privateKey);
    assert.throws(
      () => verifyNotationSignature(resigned(envelope, { signature })),
      notVerified('does not match'),
    );
  });

  test('ECDSA in DER instead of raw r || s, and r || s with a byte too many', async () => {
    const envelope = parseJwsEnvelope(await buildJws(signRequest('p384')));
    const der = sign('sha384', envelope.signedBytes, testKey('p384').privateKey);
    assert.throws(
      () => verifyNotationSignature(resigned(envelope, { signature: der })),
      notVerified('does not match'),
    );
    const padded = new Uint8Array([0, ...envelope.signature]);
    assert.throws(
      () => verifyNotationSignature(resigned(envelope, { signature: padded })),
      notVerified('does not match'),
    );
  });

  test('ECDSA with the wrong hash for the curve', async () => {
    const envelope = parseCoseEnvelope(await buildCose(signRequest('p384')));
    const signature = sign('sha256', envelope.signedBytes, {
      key: testKey('p384').privateKey,
      dsaEncoding: 'ieee-p1363',
    });
    assert.throws(
      () => verifyNotationSignature(resigned(envelope, { signature })),
      notVerified('does not match'),
    );
  });

  test('a leaf key notation does not sign with', async () => {
    const ed25519 = generateKeyPairSync('ed25519');
    const envelope = parseJwsEnvelope(await buildJws(signRequest('p256')));
    assert.throws(
      () =>
        verifyNotationSignature(
          resigned(envelope, { certificateChain: [certificateFor(ed25519.publicKey)] }),
        ),
      notVerified('is not one notation signs with'),
    );
  });

  test('a signature by another key of the same kind', async () => {
    const envelope = parseJwsEnvelope(await buildJws(signRequest('p256')));
    const other = certificateFor(generateKeyPairSync('ec', { namedCurve: 'P-256' }).publicKey);
    assert.throws(
      () => verifyNotationSignature(resigned(envelope, { certificateChain: [other] })),
      notVerified('does not match'),
    );
  });
});

describe('a chain signer (a plugin’s generate-signature) returns its chain with the signature', () => {
  const chainSigner = (
    algorithm: 'ES256' | 'ES384' | 'PS256',
    kind: TestKeyKind,
    chainKind: TestKeyKind = kind,
  ) => ({
    algorithm,
    sign: async (data: Uint8Array) => ({
      signature: await notationKeySigner(testKey(kind).privateKey)(data),
      certificateChain: [testKey(chainKind).certificate],
    }),
  });
  const request = (signer: ReturnType<typeof chainSigner>) => {
    const { certificateChain: _chain, signer: _signer, ...common } = signRequest('p256');
    return { ...common, signer };
  };

  test('its chain goes in the envelope, in JWS and COSE, and the signature verifies', async () => {
    for (const [build, parse] of [
      [buildJws, parseJwsEnvelope],
      [buildCose, parseCoseEnvelope],
    ] as const) {
      const envelope = parse(await build(request(chainSigner('ES384', 'p384'))));
      assert.equal(envelope.signatureAlgorithm, 'ES384');
      assert.deepEqual(envelope.certificateChain, [testKey('p384').certificate]);
      verifyNotationSignature(envelope);
    }
  });

  test('refuses a leaf for another algorithm than announced, and a signature by another key', async () => {
    await assert.rejects(
      buildJws(request(chainSigner('ES256', 'p384'))),
      expectError('invalid', 'INVALID_NOTATION_INPUT', 'said it signs with ES256'),
    );
    await assert.rejects(
      buildCose(request(chainSigner('ES256', 'p256', 'p256'))).then(() =>
        buildCose(request({ ...chainSigner('ES256', 'p256'), sign: wrongKey })),
      ),
      expectError('invalid', 'INVALID_NOTATION_INPUT', 'do not match'),
    );
  });
});

/** Signs with a fresh P-256 key and returns the test P-256 key's certificate. */
async function wrongKey(data: Uint8Array) {
  const other = generateKeyPairSync('ec', { namedCurve: 'P-256' }).privateKey;
  return {
    signature: await notationKeySigner(other)(data),
    certificateChain: [testKey('p256').certificate],
  };
}
