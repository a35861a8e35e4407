import assert from 'node:assert/strict';
import { generateKeyPairSync, randomBytes, scryptSync, type KeyObject } from 'node:crypto';
import { describe, test } from 'node:test';
import nacl from 'tweetnacl';
import { hasCode, isVouchError } from '../core/errors.ts';
import { keyAlgorithm } from './algorithms.ts';
import {
  COSIGN_KEY_PEM_TYPE,
  decryptCosignKey,
  encryptCosignKey,
  isCosignKeyPem,
  SIGSTORE_KEY_PEM_TYPE,
} from './cosign-key.ts';
import { GENERATE_ALGORITHMS, generateKeyPair } from './generate.ts';
import { decodePem, encodePem } from './pem.ts';
import { createKeySigner, verifySignature } from './signer.ts';

const PASSWORD = 'correct horse battery staple';
const DATA = new TextEncoder().encode('payload');

interface SealedJson {
  kdf: { name: unknown; params: { N: unknown; r: unknown; p: unknown }; salt: unknown };
  cipher: { name: unknown; nonce: unknown };
  ciphertext: unknown;
}

function jsonOf(pem: string): SealedJson {
  return JSON.parse(Buffer.from(decodePem(pem).bytes).toString('utf8')) as SealedJson;
}

/** Rewrites the JSON inside a cosign key PEM. */
function edit(pem: string, change: (json: SealedJson) => unknown): string {
  const json = jsonOf(pem);
  const result = change(json);
  const body = JSON.stringify(result === undefined ? json : result);
  return encodePem(decodePem(pem).type, Buffer.from(body));
}

/** Seals arbitrary plaintext the way go-securesystemslib does, independently of the code under test. */
function seal(plaintext: Uint8Array, password: string, N = 65536): string {
  const salt = randomBytes(32);
  const nonce = randomBytes(24);
  const key = scryptSync(password, salt, 32, { N, r: 8, p: 1, maxmem: 512 * 1024 * 1024 });
  const body = JSON.stringify({
    kdf: { name: 'scrypt', params: { N, r: 8, p: 1 }, salt: salt.toString('base64') },
    cipher: { name: 'nacl/secretbox', nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(nacl.secretbox(plaintext, nonce, key)).toString('base64'),
  });
  return encodePem(SIGSTORE_KEY_PEM_TYPE, Buffer.from(body));
}

function sameKey(a: KeyObject, b: KeyObject): boolean {
  return Buffer.from(a.export({ format: 'der', type: 'pkcs8' })).equals(
    b.export({ format: 'der', type: 'pkcs8' }),
  );
}

async function rejectsWith(
  promise: Promise<unknown>,
  code: string,
  text?: string,
  label = '',
): Promise<void> {
  await assert.rejects(promise, (error) => {
    assert.ok(isVouchError(error), `${label}: expected a VouchError, got ${String(error)}`);
    assert.equal(error.code, code, `${label}: ${error.message}`);
    assert.equal(error.category, 'invalid');
    if (text !== undefined) assert.ok(error.message.includes(text), `${label}: ${error.message}`);
    return true;
  });
}

/** One P-256 key encrypted with PASSWORD, shared by the tests that only read it. */
let shared: Promise<{ privateKey: KeyObject; pem: string }> | undefined;
function sharedKey(): Promise<{ privateKey: KeyObject; pem: string }> {
  shared ??= generateKeyPair('ecdsa-p256').then(async ({ privateKey }) => ({
    privateKey,
    pem: await encryptCosignKey(privateKey, PASSWORD),
  }));
  return shared;
}

describe('cosign encrypted keys', () => {
  test('every algorithm: generate, encrypt, decrypt, sign, verify', async () => {
    await Promise.all(
      GENERATE_ALGORITHMS.map(async (algorithm) => {
        const pair = await generateKeyPair(algorithm);
        const pem = await encryptCosignKey(pair.privateKey, PASSWORD);
        const decrypted = await decryptCosignKey(pem, PASSWORD);
        assert.equal(keyAlgorithm(decrypted), algorithm);
        assert.ok(sameKey(decrypted, pair.privateKey), algorithm);
        const signature = await createKeySigner(decrypted).sign(DATA);
        assert.equal(verifySignature(pair.publicKey, DATA, signature), true, algorithm);
      }),
    );
  });

  test('the file has the exact shape cosign writes', async () => {
    const { privateKey, pem } = await sharedKey();
    const lines = pem.split('\n');
    assert.equal(lines[0], '-----BEGIN ENCRYPTED SIGSTORE PRIVATE KEY-----');
    assert.equal(lines.at(-2), '-----END ENCRYPTED SIGSTORE PRIVATE KEY-----');
    assert.equal(lines.at(-1), '');
    for (const line of lines.slice(1, -3)) assert.equal(line.length, 64);

    const body = Buffer.from(decodePem(pem).bytes).toString('utf8');
    assert.match(
      body,
      /^\{"kdf":\{"name":"scrypt","params":\{"N":65536,"r":8,"p":1\},"salt":"[A-Za-z0-9+/]{43}="\},"cipher":\{"name":"nacl\/secretbox","nonce":"[A-Za-z0-9+/]{32}"\},"ciphertext":"[A-Za-z0-9+/=]+"\}$/,
    );

    // Decrypt by hand, following docs/formats.md "Cosign key files":
    // scrypt → secretbox → PKCS#8 DER.
    const json = jsonOf(pem);
    const salt = Buffer.from(json.kdf.salt as string, 'base64');
    const nonce = Buffer.from(json.cipher.nonce as string, 'base64');
    const ciphertext = Buffer.from(json.ciphertext as string, 'base64');
    assert.equal(salt.length, 32);
    assert.equal(nonce.length, 24);
    const pkcs8 = privateKey.export({ format: 'der', type: 'pkcs8' });
    assert.equal(ciphertext.length, pkcs8.length + 16);
    const key = scryptSync(PASSWORD, salt, 32, { N: 65536, r: 8, p: 1, maxmem: 256 << 20 });
    const opened = nacl.secretbox.open(ciphertext, nonce, key);
    assert.ok(opened);
    assert.deepEqual(Buffer.from(opened), pkcs8);
  });

  test('fresh salt and nonce every time', async () => {
    const { privateKey } = await generateKeyPair('ed25519');
    const [a, b] = await Promise.all([
      encryptCosignKey(privateKey, PASSWORD),
      encryptCosignKey(privateKey, PASSWORD),
    ]);
    assert.notEqual(jsonOf(a).kdf.salt, jsonOf(b).kdf.salt);
    assert.notEqual(jsonOf(a).cipher.nonce, jsonOf(b).cipher.nonce);
  });

  test('reads the older COSIGN label and all three scrypt costs', async () => {
    const { privateKey } = await generateKeyPair('ecdsa-p256');
    await Promise.all(
      ([32768, 65536, 131072] as const).map(async (scryptCost) => {
        const pem = await encryptCosignKey(privateKey, PASSWORD, {
          pemType: COSIGN_KEY_PEM_TYPE,
          scryptCost,
        });
        assert.ok(pem.startsWith('-----BEGIN ENCRYPTED COSIGN PRIVATE KEY-----\n'));
        assert.equal(jsonOf(pem).kdf.params.N, scryptCost);
        assert.ok(sameKey(await decryptCosignKey(pem, PASSWORD), privateKey));
      }),
    );
  });

  test('a key sealed independently of the encoder decrypts', async () => {
    const { privateKey } = await generateKeyPair('ecdsa-p384');
    const pem = seal(privateKey.export({ format: 'der', type: 'pkcs8' }), 'hello', 32768);
    assert.ok(sameKey(await decryptCosignKey(pem, 'hello'), privateKey));
  });

  test('passwords are bytes: empty, non-ASCII, and Uint8Array all work', async () => {
    const { privateKey } = await generateKeyPair('ecdsa-p256');
    const password = 'pässwörd ✓'.normalize('NFC');
    const [empty, unicode] = await Promise.all([
      encryptCosignKey(privateKey, ''),
      encryptCosignKey(privateKey, password),
    ]);
    const [fromEmpty, fromBytes] = await Promise.all([
      decryptCosignKey(empty, new Uint8Array(0)),
      decryptCosignKey(unicode, Buffer.from(password, 'utf8')),
    ]);
    assert.ok(sameKey(fromEmpty, privateKey));
    assert.ok(sameKey(fromBytes, privateKey));
    // No Unicode normalisation: the NFD spelling is a different password.
    await rejectsWith(decryptCosignKey(unicode, password.normalize('NFD')), 'WRONG_PASSWORD');
  });

  test('a wrong password is a clear invalid error', async () => {
    const { pem } = await sharedKey();
    await rejectsWith(
      decryptCosignKey(pem, 'wrong', { source: 'cosign.key' }),
      'WRONG_PASSWORD',
      'wrong password',
    );
    await rejectsWith(decryptCosignKey(pem, ''), 'WRONG_PASSWORD', 'wrong password');
  });

  test('tampering with ciphertext, nonce or salt fails authentication', async () => {
    const { pem } = await sharedKey();
    const flip = (base64: unknown, at: number): string => {
      const bytes = Buffer.from(base64 as string, 'base64');
      bytes[at] = (bytes[at] ?? 0) ^ 0x01;
      return bytes.toString('base64');
    };
    const tampered = [
      edit(pem, (json) => void (json.ciphertext = flip(json.ciphertext, 0))),
      edit(pem, (json) => void (json.ciphertext = flip(json.ciphertext, 40))),
      edit(pem, (json) => void (json.cipher.nonce = flip(json.cipher.nonce, 5))),
      edit(pem, (json) => void (json.kdf.salt = flip(json.kdf.salt, 31))),
    ];
    await Promise.all(
      tampered.map((text) => rejectsWith(decryptCosignKey(text, PASSWORD), 'WRONG_PASSWORD')),
    );
  });

  test('unsupported scrypt parameters, KDFs and ciphers are refused before deriving', async () => {
    const { privateKey, pem } = await sharedKey();
    const cases: [string, (json: SealedJson) => void, string][] = [
      ['N=16384', (json) => void (json.kdf.params.N = 16384), 'N=16384'],
      ['N=262144', (json) => void (json.kdf.params.N = 262144), 'N=262144'],
      ['N=2^30', (json) => void (json.kdf.params.N = 2 ** 30), 'N=1073741824'],
      ['N as string', (json) => void (json.kdf.params.N = '65536'), 'N="65536"'],
      ['r=16', (json) => void (json.kdf.params.r = 16), 'r=16'],
      ['p=2', (json) => void (json.kdf.params.p = 2), 'p=2'],
      ['missing p', (json) => void delete (json.kdf.params as { p?: unknown }).p, 'p=missing'],
      ['kdf argon2', (json) => void (json.kdf.name = 'argon2id'), 'kdf "argon2id"'],
      ['kdf missing', (json) => void delete (json.kdf as { name?: unknown }).name, 'kdf missing'],
      ['cipher aes', (json) => void (json.cipher.name = 'aes-256-gcm'), 'cipher "aes-256-gcm"'],
    ];
    for (const [name, change, text] of cases) {
      await rejectsWith(
        decryptCosignKey(edit(pem, change), PASSWORD),
        'UNSUPPORTED_KEY_ENCRYPTION',
        text,
        name,
      );
    }
    await assert.rejects(
      encryptCosignKey(privateKey, PASSWORD, { scryptCost: 16384 as 65536 }),
      (error) => hasCode(error, 'UNSUPPORTED_KEY_ENCRYPTION'),
    );
  });

  test('malformed files are refused as malformed', async () => {
    const { pem } = await sharedKey();
    const body = (text: string): string => encodePem(SIGSTORE_KEY_PEM_TYPE, Buffer.from(text));
    const cases: [string, string, string][] = [
      ['not JSON', body('not json'), 'not JSON'],
      ['not UTF-8', encodePem(SIGSTORE_KEY_PEM_TYPE, Uint8Array.of(0xff, 0xfe)), 'not JSON'],
      ['an array', body('[]'), 'not an object'],
      [
        'no kdf',
        edit(pem, (json) => ({ cipher: json.cipher, ciphertext: json.ciphertext })),
        '"kdf" is missing',
      ],
      ['params null', edit(pem, (json) => void (json.kdf.params = null as never)), '"kdf.params"'],
      [
        'nonce short',
        edit(pem, (json) => void (json.cipher.nonce = 'AAAA')),
        '3 bytes, expected 24',
      ],
      [
        'nonce missing',
        edit(pem, (json) => void delete (json.cipher as { nonce?: unknown }).nonce),
        '"cipher.nonce" is missing',
      ],
      [
        'salt not base64',
        edit(pem, (json) => void (json.kdf.salt = 'a*b=')),
        '"kdf.salt" is not standard base64',
      ],
      ['salt unpadded', edit(pem, (json) => void (json.kdf.salt = 'AAA')), 'not standard base64'],
      [
        'ciphertext number',
        edit(pem, (json) => void (json.ciphertext = 5)),
        '"ciphertext" is not a string',
      ],
      [
        'ciphertext short',
        edit(pem, (json) => void (json.ciphertext = 'AAAA')),
        'shorter than the 16-byte tag',
      ],
    ];
    for (const [name, text, message] of cases) {
      await rejectsWith(decryptCosignKey(text, PASSWORD), 'MALFORMED_KEY', message, name);
    }
    await rejectsWith(decryptCosignKey('garbage', PASSWORD), 'MALFORMED_PEM');
    await rejectsWith(
      decryptCosignKey(pem.replaceAll('SIGSTORE', 'OTHER'), PASSWORD),
      'UNSUPPORTED_KEY_FORMAT',
      'ENCRYPTED OTHER PRIVATE KEY',
    );
  });

  test('the decrypted key must be PKCS#8 (cosign refuses SEC1 inside)', async () => {
    const { privateKey } = await generateKeyPair('ecdsa-p256');
    const sec1 = privateKey.export({ format: 'der', type: 'sec1' });
    await rejectsWith(decryptCosignKey(seal(sec1, 'hello'), 'hello'), 'MALFORMED_KEY', 'PKCS#8');
  });

  test('an unsupported key inside is refused', async () => {
    const p224 = generateKeyPairSync('ec', { namedCurve: 'P-224' }).privateKey;
    const sealed = seal(p224.export({ format: 'der', type: 'pkcs8' }), 'hello');
    await rejectsWith(decryptCosignKey(sealed, 'hello'), 'UNSUPPORTED_KEY', 'secp224r1');
    await assert.rejects(encryptCosignKey(p224, 'hello'), (error) =>
      hasCode(error, 'UNSUPPORTED_KEY'),
    );
  });

  test('only private keys are encrypted', async () => {
    const { publicKey } = await generateKeyPair('ecdsa-p256');
    await assert.rejects(encryptCosignKey(publicKey, PASSWORD), (error) =>
      hasCode(error, 'UNSUPPORTED_KEY'),
    );
  });

  test('isCosignKeyPem tells encrypted cosign keys from everything else', async () => {
    const { privateKey, pem } = await sharedKey();
    assert.equal(isCosignKeyPem(pem), true);
    assert.equal(isCosignKeyPem(Buffer.from(pem)), true);
    assert.equal(isCosignKeyPem(pem.replaceAll('SIGSTORE', 'COSIGN')), true);
    assert.equal(
      isCosignKeyPem(privateKey.export({ format: 'pem', type: 'pkcs8' }) as string),
      false,
    );
    assert.equal(isCosignKeyPem('garbage'), false);
  });
});
