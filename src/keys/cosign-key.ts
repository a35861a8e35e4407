/**
 * Cosign's encrypted private-key file (`cosign.key`), docs/formats.md "Cosign
 * key files".
 *
 * A PEM block `ENCRYPTED SIGSTORE PRIVATE KEY` (or the older
 * `ENCRYPTED COSIGN PRIVATE KEY`) whose body is the JSON written by
 * go-securesystemslib `encrypted.Encrypt`, fields in this order:
 *
 *     {"kdf":{"name":"scrypt","params":{"N":65536,"r":8,"p":1},"salt":"<b64>"},
 *      "cipher":{"name":"nacl/secretbox","nonce":"<b64>"},
 *      "ciphertext":"<b64>"}
 *
 * The key is scrypt(password, salt, N, r, p, 32); the ciphertext is NaCl
 * secretbox (XSalsa20-Poly1305, 16-byte tag first) over the PKCS#8 DER of the
 * private key, with a random 32-byte salt and 24-byte nonce. Reading accepts
 * exactly the three parameter sets go-securesystemslib accepts (N = 2^15,
 * 2^16 or 2^17, r = 8, p = 1): anything else is refused before scrypt runs,
 * so a hostile file cannot make us burn memory.
 */
import { createPrivateKey, randomBytes, scrypt, type KeyObject } from 'node:crypto';
import nacl from 'tweetnacl';
import { invalid, unavailable } from '../core/errors.ts';
import { parseJson } from '../core/json.ts';
import { keyAlgorithm, where } from './algorithms.ts';
import { decodePem, encodePem, type PemSourceOptions } from './pem.ts';

export const SIGSTORE_KEY_PEM_TYPE = 'ENCRYPTED SIGSTORE PRIVATE KEY';
export const COSIGN_KEY_PEM_TYPE = 'ENCRYPTED COSIGN PRIVATE KEY';
export type CosignKeyPemType = typeof SIGSTORE_KEY_PEM_TYPE | typeof COSIGN_KEY_PEM_TYPE;

/** scrypt N of go-securesystemslib's Legacy, Standard (the default) and OWASP sets. */
export const SCRYPT_COSTS = [32768, 65536, 131072] as const;
export type ScryptCost = (typeof SCRYPT_COSTS)[number];
const SCRYPT_R = 8;
const SCRYPT_P = 1;
const DEFAULT_SCRYPT_COST: ScryptCost = 65536;

const KDF_NAME = 'scrypt';
const CIPHER_NAME = 'nacl/secretbox';
const SALT_LENGTH = 32;
const NONCE_LENGTH = nacl.secretbox.nonceLength;
const KEY_LENGTH = nacl.secretbox.keyLength;
const TAG_LENGTH = nacl.secretbox.overheadLength;

/** Passwords are bytes; a string is taken as its UTF-8 encoding, unnormalised, as cosign does. */
export type Password = string | Uint8Array;

export interface EncryptCosignKeyOptions {
  /**
   * The PEM label. Default `ENCRYPTED SIGSTORE PRIVATE KEY`, what cosign
   * writes today; containers/image writes `ENCRYPTED COSIGN PRIVATE KEY`,
   * which cosign releases before the rename also read.
   */
  readonly pemType?: CosignKeyPemType;
  /** scrypt N. Default 65536, go-securesystemslib's standard parameters. */
  readonly scryptCost?: ScryptCost;
}

/** Whether `input` is a cosign encrypted key (judged by its first PEM block's label). */
export function isCosignKeyPem(input: string | Uint8Array): boolean {
  try {
    const type = decodePem(input).type;
    return type === SIGSTORE_KEY_PEM_TYPE || type === COSIGN_KEY_PEM_TYPE;
  } catch {
    return false;
  }
}

/** Encrypts a private key into cosign's PEM format (the text of a `cosign.key` file). */
export async function encryptCosignKey(
  privateKey: KeyObject,
  password: Password,
  options?: EncryptCosignKeyOptions,
): Promise<string> {
  if (privateKey.type !== 'private') {
    throw invalid(
      'UNSUPPORTED_KEY',
      `expected a private key to encrypt, found a ${privateKey.type} key`,
    );
  }
  keyAlgorithm(privateKey);
  const pemType = options?.pemType ?? SIGSTORE_KEY_PEM_TYPE;
  if (pemType !== SIGSTORE_KEY_PEM_TYPE && pemType !== COSIGN_KEY_PEM_TYPE) {
    throw invalid(
      'UNSUPPORTED_KEY_FORMAT',
      `unsupported PEM type "${String(pemType)}" for a cosign key`,
    );
  }
  const cost = options?.scryptCost ?? DEFAULT_SCRYPT_COST;
  if (!(SCRYPT_COSTS as readonly number[]).includes(cost)) {
    throw invalid(
      'UNSUPPORTED_KEY_ENCRYPTION',
      `unsupported scrypt N=${cost}: expected one of ${SCRYPT_COSTS.join(', ')}`,
    );
  }
  const salt = randomBytes(SALT_LENGTH);
  const nonce = randomBytes(NONCE_LENGTH);
  const plaintext = privateKey.export({ format: 'der', type: 'pkcs8' });
  const key = await deriveKey(password, salt, cost);
  let ciphertext: Uint8Array;
  try {
    ciphertext = nacl.secretbox(plaintext, nonce, key);
  } finally {
    key.fill(0);
    plaintext.fill(0);
  }
  // Key order and base64 (std, padded) as Go's encoding/json writes the struct.
  const json = JSON.stringify({
    kdf: {
      name: KDF_NAME,
      params: { N: cost, r: SCRYPT_R, p: SCRYPT_P },
      salt: salt.toString('base64'),
    },
    cipher: { name: CIPHER_NAME, nonce: nonce.toString('base64') },
    ciphertext: Buffer.from(ciphertext).toString('base64'),
  });
  return encodePem(pemType, Buffer.from(json, 'utf8'));
}

/**
 * Decrypts a cosign encrypted key. A wrong password is an `invalid` error
 * with code `WRONG_PASSWORD` (secretbox cannot tell it apart from a corrupted
 * file, and the message says so); unsupported parameters, KDFs and ciphers
 * are `UNSUPPORTED_KEY_ENCRYPTION`; a file that is not this format is
 * `MALFORMED_KEY` or `UNSUPPORTED_KEY_FORMAT`.
 */
export async function decryptCosignKey(
  input: string | Uint8Array,
  password: Password,
  options?: PemSourceOptions,
): Promise<KeyObject> {
  const source = options?.source;
  const block = decodePem(input, options);
  if (block.type !== SIGSTORE_KEY_PEM_TYPE && block.type !== COSIGN_KEY_PEM_TYPE) {
    throw invalid(
      'UNSUPPORTED_KEY_FORMAT',
      `unsupported PEM type "${block.type}"${where(source)}: expected "${SIGSTORE_KEY_PEM_TYPE}" or "${COSIGN_KEY_PEM_TYPE}"`,
    );
  }
  const sealed = parseSealedKey(block.bytes, source);
  const key = await deriveKey(password, sealed.salt, sealed.cost);
  let plaintext: Uint8Array | null;
  try {
    plaintext = nacl.secretbox.open(sealed.ciphertext, sealed.nonce, key);
  } finally {
    key.fill(0);
  }
  if (plaintext === null) {
    throw invalid(
      'WRONG_PASSWORD',
      `could not decrypt the private key${where(source)}: wrong password (or the key file is corrupted)`,
    );
  }
  let privateKey: KeyObject;
  try {
    privateKey = createPrivateKey({ key: Buffer.from(plaintext), format: 'der', type: 'pkcs8' });
  } catch (error) {
    throw invalid(
      'MALFORMED_KEY',
      `the decrypted private key${where(source)} is not PKCS#8 DER, as cosign requires`,
      { cause: error },
    );
  } finally {
    plaintext.fill(0);
  }
  keyAlgorithm(privateKey, source);
  return privateKey;
}

interface SealedKey {
  readonly cost: ScryptCost;
  readonly salt: Uint8Array;
  readonly nonce: Uint8Array;
  readonly ciphertext: Uint8Array;
}

/** Checks in go-securesystemslib's order: KDF name, cipher name, scrypt parameters, nonce. */
function parseSealedKey(bytes: Uint8Array, source: string | undefined): SealedKey {
  const malformed = (what: string, cause?: unknown): never => {
    throw invalid(
      'MALFORMED_KEY',
      `malformed cosign encrypted key${where(source)}: ${what}`,
      cause === undefined ? undefined : { cause },
    );
  };
  let json: unknown;
  try {
    json = parseJson(new TextDecoder('utf-8', { fatal: true }).decode(bytes));
  } catch (error) {
    malformed('the PEM body is not JSON', error);
  }
  const root = objectAt(json, 'the document', malformed);
  const kdf = objectAt(root.kdf, '"kdf"', malformed);
  const cipher = objectAt(root.cipher, '"cipher"', malformed);
  const unsupported = (what: string): never => {
    throw invalid(
      'UNSUPPORTED_KEY_ENCRYPTION',
      `unsupported cosign key encryption${where(source)}: ${what}`,
    );
  };
  if (kdf.name !== KDF_NAME) unsupported(`kdf ${describe(kdf.name)}, expected "${KDF_NAME}"`);
  if (cipher.name !== CIPHER_NAME)
    unsupported(`cipher ${describe(cipher.name)}, expected "${CIPHER_NAME}"`);
  const params = objectAt(kdf.params, '"kdf.params"', malformed);
  const { N, r, p } = params;
  if (!(SCRYPT_COSTS as readonly unknown[]).includes(N) || r !== SCRYPT_R || p !== SCRYPT_P) {
    unsupported(
      `scrypt parameters N=${describe(N)} r=${describe(r)} p=${describe(p)}, expected N in {${SCRYPT_COSTS.join(', ')}} with r=${SCRYPT_R} p=${SCRYPT_P}`,
    );
  }
  const salt = base64At(kdf.salt, '"kdf.salt"', malformed);
  const nonce = base64At(cipher.nonce, '"cipher.nonce"', malformed);
  if (nonce.length !== NONCE_LENGTH) {
    malformed(`"cipher.nonce" is ${nonce.length} bytes, expected ${NONCE_LENGTH}`);
  }
  const ciphertext = base64At(root.ciphertext, '"ciphertext"', malformed);
  if (ciphertext.length < TAG_LENGTH) {
    malformed(
      `"ciphertext" is ${ciphertext.length} bytes, shorter than the ${TAG_LENGTH}-byte tag`,
    );
  }
  return { cost: N as ScryptCost, salt, nonce, ciphertext };
}

type Malformed = (what: string) => never;

function objectAt(value: unknown, name: string, malformed: Malformed): Record<string, unknown> {
  if (typeof value !== 'object' || value === null || Array.isArray(value)) {
    return malformed(`${name} is ${value === undefined ? 'missing' : 'not an object'}`);
  }
  return value as Record<string, unknown>;
}

const BASE64 = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Go's encoding/json decodes []byte as standard, padded base64. */
function base64At(value: unknown, name: string, malformed: Malformed): Uint8Array {
  if (typeof value !== 'string') {
    return malformed(`${name} is ${value === undefined ? 'missing' : 'not a string'}`);
  }
  if (!BASE64.test(value)) return malformed(`${name} is not standard base64`);
  return new Uint8Array(Buffer.from(value, 'base64'));
}

function describe(value: unknown): string {
  return value === undefined ? 'missing' : JSON.stringify(value).slice(0, 40);
}

function deriveKey(password: Password, salt: Uint8Array, cost: ScryptCost): Promise<Buffer> {
  const secret = typeof password === 'string' ? Buffer.from(password, 'utf8') : password;
  // scrypt needs 128·N·r bytes (128 MiB for N = 2^17), above Node's 32 MiB default.
  const maxmem = 2 * 128 * cost * SCRYPT_R * SCRYPT_P;
  return new Promise((resolve, reject) => {
    scrypt(
      secret,
      salt,
      KEY_LENGTH,
      { N: cost, r: SCRYPT_R, p: SCRYPT_P, maxmem },
      (error, key) => {
        if (error)
          reject(
            unavailable('KEY_DERIVATION_FAILED', 'scrypt key derivation failed', { cause: error }),
          );
        else resolve(key);
      },
    );
  });
}
