import assert from 'node:assert/strict';
import { createPublicKey, generateKeyPairSync, type KeyObject } from 'node:crypto';
import { existsSync, readFileSync } from 'node:fs';
import { describe, test } from 'node:test';
import { isVouchError } from '../core/errors.ts';
import { keyAlgorithm } from './algorithms.ts';
import { generateKeyPair } from './generate.ts';
import {
  decodePem,
  decodePemBlocks,
  encodePem,
  parsePrivateKeyPem,
  parsePublicKeyPem,
  privateKeyToPem,
  publicKeyToPem,
} from './pem.ts';

const FIXTURES = new URL('../../../shared/fixtures/containers-image/', import.meta.url);
const noFixtures = existsSync(FIXTURES) ? false : 'shared/fixtures/containers-image is absent';

function throwsCode(fn: () => unknown, code: string, text?: string): void {
  assert.throws(fn, (error) => {
    assert.ok(isVouchError(error), `expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, code, error.message);
    assert.equal(error.category, 'invalid');
    if (text !== undefined) assert.ok(error.message.includes(text), error.message);
    return true;
  });
}

function spki(key: KeyObject): Buffer {
  return (key.type === 'private' ? createPublicKey(key) : key).export({
    format: 'der',
    type: 'spki',
  });
}

/** DER of the named-curve OID prime256v1, the body of an `EC PARAMETERS` block. */
const P256_PARAMETERS = Uint8Array.of(0x06, 0x08, 0x2a, 0x86, 0x48, 0xce, 0x3d, 0x03, 0x01, 0x07);

describe('PEM keys', () => {
  test(
    "the fixtures' cosign.pub and cosign2.pub load as ECDSA P-256 and re-encode byte for byte",
    {
      skip: noFixtures,
    },
    () => {
      for (const name of ['cosign.pub', 'cosign2.pub']) {
        const text = readFileSync(new URL(name, FIXTURES), 'utf8');
        const key = parsePublicKeyPem(text, { source: name });
        assert.equal(key.type, 'public');
        assert.equal(keyAlgorithm(key), 'ecdsa-p256');
        assert.equal(publicKeyToPem(key), text);
      }
      const rsa = parsePublicKeyPem(readFileSync(new URL('some-rsa-key.pub', FIXTURES)));
      assert.equal(keyAlgorithm(rsa), 'rsa-4096');
    },
  );

  test('a certificate is not a public key file', { skip: noFixtures }, () => {
    const text = readFileSync(new URL('fulcio_v1.crt.pem', FIXTURES), 'utf8');
    throwsCode(() => parsePublicKeyPem(text), 'UNSUPPORTED_KEY_FORMAT', 'certificate');
  });

  for (const algorithm of ['ecdsa-p256', 'ecdsa-p384', 'ed25519', 'rsa-2048'] as const) {
    test(`${algorithm}: PKCS#8 private keys and SPKI public keys round-trip`, async () => {
      const { privateKey, publicKey } = await generateKeyPair(algorithm);
      const loaded = parsePrivateKeyPem(privateKeyToPem(privateKey));
      assert.equal(keyAlgorithm(loaded), algorithm);
      assert.deepEqual(spki(loaded), spki(publicKey));
      const pub = publicKeyToPem(publicKey);
      assert.ok(pub.startsWith('-----BEGIN PUBLIC KEY-----\n'));
      assert.equal(publicKeyToPem(privateKey), pub, 'a private key yields its public half');
      assert.deepEqual(spki(parsePublicKeyPem(pub)), spki(publicKey));
    });
  }

  test('SEC1 "EC PRIVATE KEY", also after an "EC PARAMETERS" block', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ecdsa-p384');
    const sec1 = privateKey.export({ format: 'pem', type: 'sec1' }) as string;
    assert.ok(sec1.startsWith('-----BEGIN EC PRIVATE KEY-----'));
    assert.deepEqual(spki(parsePrivateKeyPem(sec1)), spki(publicKey));
    const withParameters = encodePem('EC PARAMETERS', P256_PARAMETERS) + sec1;
    assert.deepEqual(spki(parsePrivateKeyPem(withParameters)), spki(publicKey));
  });

  test('PKCS#1 "RSA PRIVATE KEY" and "RSA PUBLIC KEY"', async () => {
    const { privateKey, publicKey } = await generateKeyPair('rsa-3072');
    const pkcs1 = privateKey.export({ format: 'pem', type: 'pkcs1' }) as string;
    assert.ok(pkcs1.startsWith('-----BEGIN RSA PRIVATE KEY-----'));
    assert.equal(keyAlgorithm(parsePrivateKeyPem(pkcs1)), 'rsa-3072');
    const pub = publicKey.export({ format: 'pem', type: 'pkcs1' }) as string;
    assert.ok(pub.startsWith('-----BEGIN RSA PUBLIC KEY-----'));
    assert.deepEqual(spki(parsePublicKeyPem(pub)), spki(publicKey));
  });

  test('leading text, CRLF line ends and bytes input are accepted', async () => {
    const { publicKey } = await generateKeyPair('ecdsa-p256');
    const pem = publicKeyToPem(publicKey);
    const text = `a comment line\r\n${pem.replaceAll('\n', '\r\n')}trailing`;
    assert.deepEqual(spki(parsePublicKeyPem(text)), spki(publicKey));
    assert.deepEqual(spki(parsePublicKeyPem(Buffer.from(pem))), spki(publicKey));
  });

  test('unsupported keys are refused with what was found', () => {
    const cases: [KeyObject, string][] = [
      [generateKeyPairSync('rsa', { modulusLength: 1024 }).privateKey, 'RSA key of 1024 bits'],
      [generateKeyPairSync('rsa', { modulusLength: 2560 }).privateKey, 'RSA key of 2560 bits'],
      [generateKeyPairSync('ec', { namedCurve: 'secp256k1' }).privateKey, 'curve secp256k1'],
      [generateKeyPairSync('ed448').privateKey, 'ed448'],
      [generateKeyPairSync('rsa-pss', { modulusLength: 2048 }).privateKey, 'RSA-PSS'],
    ];
    for (const [privateKey, found] of cases) {
      const der = privateKey.export({ format: 'der', type: 'pkcs8' });
      throwsCode(
        () => parsePrivateKeyPem(encodePem('PRIVATE KEY', der), { source: 'k.pem' }),
        'UNSUPPORTED_KEY',
        found,
      );
      const pub = encodePem('PUBLIC KEY', spki(privateKey));
      throwsCode(() => parsePublicKeyPem(pub), 'UNSUPPORTED_KEY', found);
      throwsCode(() => publicKeyToPem(privateKey), 'UNSUPPORTED_KEY', found);
    }
  });

  test('the wrong kind of PEM is refused with a hint', async () => {
    const { privateKey, publicKey } = await generateKeyPair('ecdsa-p256');
    const pub = publicKeyToPem(publicKey);
    const priv = privateKeyToPem(privateKey);
    throwsCode(() => parsePrivateKeyPem(pub), 'UNSUPPORTED_KEY_FORMAT', 'this is a public key');
    throwsCode(() => parsePublicKeyPem(priv), 'UNSUPPORTED_KEY_FORMAT', 'this is a private key');
    const cosign = encodePem('ENCRYPTED SIGSTORE PRIVATE KEY', Buffer.from('{}'));
    throwsCode(() => parsePrivateKeyPem(cosign), 'UNSUPPORTED_KEY_FORMAT', 'needs its password');
    const encrypted = privateKey.export({
      format: 'pem',
      type: 'pkcs8',
      cipher: 'aes-256-cbc',
      passphrase: 'x',
    }) as string;
    throwsCode(() => parsePrivateKeyPem(encrypted), 'UNSUPPORTED_KEY_FORMAT', 'openssl pkcs8');
    throwsCode(
      () => parsePrivateKeyPem(encodePem('OPENSSH PRIVATE KEY', Buffer.from('x'))),
      'UNSUPPORTED_KEY_FORMAT',
      '"OPENSSH PRIVATE KEY"',
    );
  });

  test('legacy OpenSSL-encrypted PEM (with headers) is refused', async () => {
    const { privateKey } = await generateKeyPair('ecdsa-p256');
    const legacy = privateKey.export({
      format: 'pem',
      type: 'sec1',
      cipher: 'aes-256-cbc',
      passphrase: 'x',
    }) as string;
    assert.match(legacy, /Proc-Type: 4,ENCRYPTED/);
    throwsCode(() => parsePrivateKeyPem(legacy), 'MALFORMED_PEM', 'legacy encrypted PEM');
  });

  test('malformed PEM and DER are refused as malformed', async () => {
    const { publicKey } = await generateKeyPair('ecdsa-p256');
    const pem = publicKeyToPem(publicKey);
    throwsCode(() => parsePublicKeyPem(''), 'MALFORMED_PEM', 'no PEM block');
    throwsCode(() => parsePublicKeyPem('just text', { source: 'x.pub' }), 'MALFORMED_PEM', 'x.pub');
    throwsCode(
      () => parsePublicKeyPem(pem.replace(/-----END.*\n/, '')),
      'MALFORMED_PEM',
      'no "-----END',
    );
    throwsCode(() => parsePublicKeyPem(pem.replace('MFkw', 'M*kw')), 'MALFORMED_PEM', 'base64');
    throwsCode(() => parsePublicKeyPem(pem.replace('MFkw', 'MFk')), 'MALFORMED_PEM', 'base64');
    throwsCode(
      () => parsePublicKeyPem('-----BEGIN PUBLIC KEY-----\n-----END PUBLIC KEY-----\n'),
      'MALFORMED_PEM',
    );
    throwsCode(
      () => parsePublicKeyPem(encodePem('PUBLIC KEY', Uint8Array.of(0x30, 0x03, 0x02, 0x01, 0x01))),
      'MALFORMED_KEY',
      'SPKI',
    );
    throwsCode(
      () => parsePrivateKeyPem(encodePem('EC PRIVATE KEY', Uint8Array.of(0x30, 0x00))),
      'MALFORMED_KEY',
      'SEC1',
    );
    throwsCode(() => parsePublicKeyPem('x'.repeat(2 * 1024 * 1024)), 'MALFORMED_PEM', 'at most');
  });

  test('encodePem writes 64-character lines like Go', () => {
    const pem = encodePem('TEST', new Uint8Array(100).fill(7));
    const lines = pem.split('\n');
    // 100 bytes are 136 base64 characters: 64 + 64 + 8.
    assert.deepEqual(
      lines.map((line) => line.length),
      [20, 64, 64, 8, 18, 0],
    );
    assert.equal(lines[0], '-----BEGIN TEST-----');
    assert.equal(lines[4], '-----END TEST-----');
    assert.deepEqual(decodePem(pem), { type: 'TEST', bytes: new Uint8Array(100).fill(7) });
  });

  test('decodePemBlocks returns every block in order', () => {
    const text = encodePem('A', Uint8Array.of(1)) + 'between\n' + encodePem('B', Uint8Array.of(2));
    assert.deepEqual(
      decodePemBlocks(text).map((block) => block.type),
      ['A', 'B'],
    );
  });
});
